// Unit tests for store/bits.h (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD) and the
// LCS of store/strings.h, against Redis 7.0's documented results.

#include "store/bits.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "store/object.h"
#include "store/strings.h"
#include "tests/unit/store_fixture.h"

namespace redge::store::testing {
namespace {

using bits::FieldOp;
using bits::Overflow;
using bits::Range;

class BitsTest : public StoreTest {};

TEST_F(BitsTest, SetBitGrowsWithZerosAndKeepsTheTtl) {
  auto r = Run([](Txn& t) { return bits::SetBit(t, "k", 7, 1); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0);
  EXPECT_EQ(*Get("k"), std::string("\x01", 1));
  r = Run([](Txn& t) { return bits::SetBit(t, "k", 7, 1); });
  EXPECT_EQ(*r, 1);
  ASSERT_TRUE(Run([](Txn& t) {
                strings::SetOptions o;
                o.expire_at_ms = t.now_ms() + 100000;
                o.keep_ttl = false;
                return strings::Set(t, "t", "1", o);
              }).ok());
  ASSERT_TRUE(Run([](Txn& t) { return bits::SetBit(t, "t", 6, 1); }).ok());
  EXPECT_EQ(*Get("t"), "3");  // '1' = 0x31, bit 6 set: 0x33
  auto ttl = Run([](Txn& t) -> Result<int64_t> {
    auto m = t.GetMeta("t");
    if (!m.ok()) return m.status();
    return m->expire_at_ms;
  });
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(*ttl, 0);
  auto enc = Run([](Txn& t) -> Result<std::string> {
    auto m = t.GetMeta("t");
    if (!m.ok()) return m.status();
    return object::EncodingName(*m);
  });
  EXPECT_EQ(*enc, "raw");
}

TEST(BitsPureTest, CountHonoursByteAndBitRanges) {
  const std::string s = "foobar";
  EXPECT_EQ(bits::Count(s, std::nullopt), 26);
  EXPECT_EQ(bits::Count(s, Range{0, 0, false}), 4);
  EXPECT_EQ(bits::Count(s, Range{1, 1, false}), 6);
  EXPECT_EQ(bits::Count(s, Range{5, 30, true}), 17);
  EXPECT_EQ(bits::Count(s, Range{-1, -2, false}), 0);
  EXPECT_EQ(bits::Count(s, Range{-100, 100, false}), 26);
  EXPECT_EQ(bits::Count("", std::nullopt), 0);
}

TEST(BitsPureTest, PosFindsBitsAndPadsOnlyWithoutAnEnd) {
  const std::string s("\xff\xf0\x00", 3);
  EXPECT_EQ(bits::Pos(s, 0, std::nullopt, false), 12);
  EXPECT_EQ(bits::Pos(s, 1, Range{2, 0, false}, false), -1);
  const std::string ones("\xff\xff", 2);
  EXPECT_EQ(bits::Pos(ones, 0, std::nullopt, false), 16);        // past the end: zeros
  EXPECT_EQ(bits::Pos(ones, 0, Range{0, -1, false}, true), -1);  // an explicit end
  EXPECT_EQ(bits::Pos(ones, 0, Range{2, 0, true}, false), 16);
  EXPECT_EQ(bits::Pos(s, 1, Range{7, 15, true}, true), 7);
  EXPECT_EQ(bits::Pos(s, 0, Range{7, 15, true}, true), 12);
  EXPECT_EQ(bits::Pos("", 0, std::nullopt, false), -1);
}

TEST_F(BitsTest, BitOpPadsShortInputsAndDeletesAnEmptyResult) {
  Put("a", "foo");
  Put("b", "ab");
  auto n = Run([](Txn& t) { return bits::BitOp(t, bits::Op::kAnd, "d", {"a", "b", "none"}); });
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(*Get("d"), std::string("\0\0\0", 3));
  n = Run([](Txn& t) { return bits::BitOp(t, bits::Op::kXor, "d", {"a", "b"}); });
  EXPECT_EQ(*Get("d"), std::string("\x07\x0do", 3));
  n = Run([](Txn& t) { return bits::BitOp(t, bits::Op::kNot, "d", {"b"}); });
  EXPECT_EQ(*Get("d"), std::string("\x9e\x9d", 2));
  n = Run([](Txn& t) { return bits::BitOp(t, bits::Op::kOr, "d", {"none"}); });
  EXPECT_EQ(*n, 0);
  EXPECT_FALSE(Get("d"));
}

TEST_F(BitsTest, BitFieldOverflowModes) {
  auto run = [&](std::vector<FieldOp> ops) {
    auto r = Run([&](Txn& t) { return bits::BitField(t, "bf", ops); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<std::optional<int64_t>>();
  };
  using K = FieldOp::Kind;
  auto op = [](K kind, bool sign, int bits, uint64_t off, int64_t v, Overflow o) {
    FieldOp f;
    f.kind = kind, f.sign = sign, f.bits = bits, f.offset = off, f.value = v, f.overflow = o;
    return f;
  };
  auto got = run({op(K::kSet, false, 8, 0, 255, Overflow::kWrap),
                  op(K::kIncrBy, false, 8, 0, 10, Overflow::kWrap),
                  op(K::kIncrBy, false, 8, 0, 300, Overflow::kSat),
                  op(K::kIncrBy, false, 8, 0, 1, Overflow::kFail),
                  op(K::kGet, true, 8, 0, 0, Overflow::kWrap)});
  std::vector<std::optional<int64_t>> want = {0, 9, 255, std::nullopt, -1};
  EXPECT_EQ(got, want);
  got = run({op(K::kIncrBy, true, 8, 0, -200, Overflow::kWrap),
             op(K::kIncrBy, true, 8, 0, -1000, Overflow::kSat),
             op(K::kSet, true, 64, 8, INT64_MIN, Overflow::kWrap),
             op(K::kIncrBy, true, 64, 8, -1, Overflow::kWrap)});
  want = {55, -128, 0, INT64_MAX};
  EXPECT_EQ(got, want);
  // Every write refused: the key is still created, zero-filled, as Redis does.
  auto r = Run([&](Txn& t) {
    return bits::BitField(t, "fresh", {op(K::kSet, false, 8, 0, 1000, Overflow::kFail)});
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], std::nullopt);
  EXPECT_EQ(*Get("fresh"), std::string(1, '\0'));
}

TEST(LcsTest, StringLengthAndRangesAsRedis) {
  auto r = strings::Lcs("ohmytext", "mynewtext", true, true, 0, 1 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lcs, "mytext");
  EXPECT_EQ(r->length, 6u);
  ASSERT_EQ(r->matches.size(), 2u);
  EXPECT_EQ(r->matches[0].a_start, 4u);
  EXPECT_EQ(r->matches[0].a_end, 7u);
  EXPECT_EQ(r->matches[0].b_start, 5u);
  EXPECT_EQ(r->matches[0].b_end, 8u);
  EXPECT_EQ(r->matches[1].a_start, 2u);
  EXPECT_EQ(r->matches[1].b_start, 0u);
  r = strings::Lcs("ohmytext", "mynewtext", false, true, 4, 1 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->matches.size(), 1u);
  r = strings::Lcs(std::string(1000, 'a'), std::string(1000, 'a'), false, false, 0, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
}

}  // namespace
}  // namespace redge::store::testing
