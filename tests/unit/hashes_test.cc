// Unit tests for store/hashes.h: every hash command against a real Store with Redis 7.0's
// semantics (counts, number rules and error texts, empty-hash deletion, WRONGTYPE, TTLs,
// random fields, HSCAN cursors, compaction of deleted elements).

#include "store/hashes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/keys.h"
#include "store/sampling.h"
#include "store/status.h"
#include "store/store.h"
#include "store/strings.h"
#include "store/tombstones.h"
#include "store/txn.h"
#include "tests/unit/store_fixture.h"

namespace redge::store::testing {
namespace {

using FieldValues = std::vector<hashes::FieldValue>;
using Pairs = std::vector<std::pair<std::string_view, std::string_view>>;
using Strings = std::vector<std::string>;

constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

// Pearson's chi-square statistic of `counts` against a uniform distribution.
double ChiSquare(const std::map<std::string, int>& counts, int buckets, int draws) {
  double expected = static_cast<double>(draws) / buckets;
  double chi = 0;
  for (const auto& [k, n] : counts) chi += (n - expected) * (n - expected) / expected;
  chi += (buckets - static_cast<int>(counts.size())) * expected;  // buckets never drawn
  return chi;
}

class HashesTest : public StoreTest {
 protected:
  int64_t HSet(std::string_view key, const Pairs& pairs) {
    auto r = Run([&](Txn& t) { return hashes::Set(t, key, pairs); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : -1;
  }
  FieldValues All(std::string_view key) {
    auto r = Run([&](Txn& t) { return hashes::GetAll(t, key); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : FieldValues{{"<error>", ""}};
  }
  int64_t Len(std::string_view key) {
    auto r = Run([&](Txn& t) { return hashes::Len(t, key); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : -1;
  }
  std::optional<std::string> HGet(std::string_view key, std::string_view field) {
    auto r = Run([&](Txn& t) { return hashes::Get(t, key, field); });
    if (r.ok()) return *r;
    EXPECT_TRUE(r.status().IsNotFound()) << r.status().message();
    return std::nullopt;
  }
  KeyType TypeOf(std::string_view key) {
    return Do([&](Txn& t) { return keys::Type(t, key); });
  }
  // A hash `key` with fields f00000.. (same length) and values v<i>.
  void MakeBig(std::string_view key, int n) {
    for (int base = 0; base < n; base += 1000) {
      std::vector<std::string> storage;
      for (int i = base; i < std::min(n, base + 1000); ++i) {
        char buf[16];
        snprintf(buf, sizeof(buf), "f%05d", i);
        storage.push_back(buf);
        storage.push_back("v" + std::to_string(i));
      }
      Pairs pairs;
      for (size_t i = 0; i < storage.size(); i += 2) pairs.emplace_back(storage[i], storage[i + 1]);
      HSet(key, pairs);
    }
  }
  // Every key event raised, as "event:key".
  std::vector<std::string> events_;
  void WatchEvents() {
    store().AddKeyObserver("", [this](Txn&, const KeyEvent& ev) {
      events_.push_back(std::string(ev.event) + ":" + std::string(ev.key));
    });
  }
};

TEST_F(HashesTest, SetCountsNewFieldsAndKeepsTheLastValue) {
  EXPECT_EQ(HSet("h", {{"a", "1"}, {"b", "2"}}), 2);
  EXPECT_EQ(HSet("h", {{"a", "10"}, {"c", "3"}}), 1);
  // A field repeated in one call counts once and keeps its last value.
  EXPECT_EQ(HSet("h", {{"d", "x"}, {"d", "y"}}), 1);
  EXPECT_EQ(All("h"), (FieldValues{{"a", "10"}, {"b", "2"}, {"c", "3"}, {"d", "y"}}));
  EXPECT_EQ(Len("h"), 4);
  EXPECT_EQ(TypeOf("h"), KeyType::kHash);
}

TEST_F(HashesTest, FieldsAndValuesAreBinarySafe) {
  std::string field("f\0\r\n", 4), value("\xff\0v", 3);
  EXPECT_EQ(HSet("h", {{field, value}, {"", ""}}), 2);
  EXPECT_EQ(HGet("h", field), value);
  EXPECT_EQ(HGet("h", ""), "");
  EXPECT_EQ(HGet("h", "f"), std::nullopt);
  EXPECT_EQ(All("h"), (FieldValues{{"", ""}, {field, value}}));
}

TEST_F(HashesTest, SetNXOnlySetsAbsentFields) {
  EXPECT_TRUE(Run([](Txn& t) { return hashes::SetNX(t, "h", "f", "1"); }).value());
  EXPECT_FALSE(Run([](Txn& t) { return hashes::SetNX(t, "h", "f", "2"); }).value());
  EXPECT_TRUE(Run([](Txn& t) { return hashes::SetNX(t, "h", "g", "3"); }).value());
  EXPECT_EQ(All("h"), (FieldValues{{"f", "1"}, {"g", "3"}}));
}

TEST_F(HashesTest, ReadsOfAbsentKeysAndFields) {
  HSet("h", {{"f", "hello"}});
  EXPECT_EQ(HGet("nokey", "f"), std::nullopt);
  EXPECT_EQ(HGet("h", "nofield"), std::nullopt);
  EXPECT_EQ(Len("nokey"), 0);
  EXPECT_EQ(All("nokey"), FieldValues{});
  EXPECT_EQ(Run([](Txn& t) { return hashes::StrLen(t, "h", "f"); }).value(), 5);
  EXPECT_EQ(Run([](Txn& t) { return hashes::StrLen(t, "h", "x"); }).value(), 0);
  EXPECT_EQ(Run([](Txn& t) { return hashes::StrLen(t, "nokey", "f"); }).value(), 0);
  EXPECT_TRUE(Run([](Txn& t) { return hashes::Exists(t, "h", "f"); }).value());
  EXPECT_FALSE(Run([](Txn& t) { return hashes::Exists(t, "h", "x"); }).value());
  EXPECT_FALSE(Run([](Txn& t) { return hashes::Exists(t, "nokey", "f"); }).value());
  auto m = Run([](Txn& t) { return hashes::MGet(t, "h", {"f", "x", "f"}); });
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, (std::vector<std::optional<std::string>>{"hello", std::nullopt, "hello"}));
  m = Run([](Txn& t) { return hashes::MGet(t, "nokey", {"a", "b"}); });
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, (std::vector<std::optional<std::string>>{std::nullopt, std::nullopt}));
  EXPECT_EQ(store().DbSize(0), 1);  // reads created nothing
}

TEST_F(HashesTest, DelCountsRemovedFieldsAndDeletesAnEmptiedHash) {
  WatchEvents();
  HSet("h", {{"a", "1"}, {"b", "2"}, {"c", "3"}});
  EXPECT_EQ(Run([](Txn& t) { return hashes::Del(t, "h", {"a", "zz", "a"}); }).value(), 1);
  EXPECT_EQ(Run([](Txn& t) { return hashes::Del(t, "h", {"zz"}); }).value(), 0);
  EXPECT_EQ(Run([](Txn& t) { return hashes::Del(t, "nokey", {"a"}); }).value(), 0);
  EXPECT_EQ(Len("h"), 2);
  EXPECT_EQ(Run([](Txn& t) { return hashes::Del(t, "h", {"b", "c", "d"}); }).value(), 2);
  EXPECT_EQ(TypeOf("h"), KeyType::kNone);
  EXPECT_EQ(store().DbSize(0), 0);
  EXPECT_EQ(events_, (Strings{"hset:h", "hdel:h", "hdel:h", "del:h"}));
  // The name starts afresh.
  HSet("h", {{"z", "9"}});
  EXPECT_EQ(All("h"), (FieldValues{{"z", "9"}}));
}

TEST_F(HashesTest, IncrByFollowsRedisIntegerRules) {
  EXPECT_EQ(Run([](Txn& t) { return hashes::IncrBy(t, "h", "n", 5); }).value(), 5);
  EXPECT_EQ(Run([](Txn& t) { return hashes::IncrBy(t, "h", "n", -7); }).value(), -2);
  HSet("h", {{"big", "17179869184"}, {"sp", " 11"}, {"sp2", "11 "}, {"f", "1.5"}});
  EXPECT_EQ(Run([](Txn& t) { return hashes::IncrBy(t, "h", "big", 17179869184); }).value(),
            34359738368);
  for (const char* field : {"sp", "sp2", "f"}) {
    auto r = Run([&](Txn& t) { return hashes::IncrBy(t, "h", field, 1); });
    EXPECT_TRUE(
        IsError(r.status(), Status::Code::kInvalidArgument, "ERR hash value is not an integer"))
        << field;
  }
  HSet("h", {{"min", "-9223372036854775484"}});
  EXPECT_EQ(Run([](Txn& t) { return hashes::IncrBy(t, "h", "min", -1); }).value(),
            -9223372036854775485);
  auto over = Run([](Txn& t) { return hashes::IncrBy(t, "h", "min", -10000); });
  EXPECT_TRUE(
      IsError(over.status(), Status::Code::kOverflow, "ERR increment or decrement would overflow"));
  HSet("h", {{"max", "9223372036854775807"}});
  over = Run([](Txn& t) { return hashes::IncrBy(t, "h", "max", 1); });
  EXPECT_EQ(over.status().code(), Status::Code::kOverflow);
  // Failed increments changed nothing.
  EXPECT_EQ(HGet("h", "min"), "-9223372036854775485");
  EXPECT_EQ(HGet("h", "sp"), " 11");
  EXPECT_EQ(Len("h"), 7);
}

TEST_F(HashesTest, IncrByFloatFollowsRedisFloatRules) {
  auto incr = [&](std::string_view field, long double by) {
    return Run([&](Txn& t) { return hashes::IncrByFloat(t, "h", field, by); });
  };
  EXPECT_EQ(incr("x", 1.23L).value(), "1.23");
  EXPECT_EQ(incr("x", 0.77L).value(), "2");
  EXPECT_EQ(incr("x", -0.1L).value(), "1.9");
  EXPECT_EQ(HGet("h", "x"), "1.9");
  HSet("h", {{"int", "100"},
             {"sp", " 11"},
             {"nul", std::string("1\0"
                                 "2",
                                 3)},
             {"e", "1e3"}});
  EXPECT_EQ(incr("int", 2.5L).value(), "102.5");
  EXPECT_EQ(incr("e", 1).value(), "1001");
  for (const char* field : {"sp", "nul"}) {
    EXPECT_TRUE(IsError(incr(field, 1).status(), Status::Code::kInvalidArgument,
                        "ERR hash value is not a float"))
        << field;
  }
  // A non-finite increment is refused before the key is looked up: nothing is created.
  auto inf = Run([](Txn& t) {
    return hashes::IncrByFloat(t, "fresh", "f", std::numeric_limits<long double>::infinity());
  });
  EXPECT_TRUE(
      IsError(inf.status(), Status::Code::kInvalidArgument, "ERR value is NaN or Infinity"));
  EXPECT_EQ(TypeOf("fresh"), KeyType::kNone);
  HSet("h", {{"huge", "1e4932"}});
  auto overflow = incr("huge", std::numeric_limits<long double>::max());
  EXPECT_TRUE(IsError(overflow.status(), Status::Code::kInvalidArgument,
                      "ERR increment would produce NaN or Infinity"));
  EXPECT_EQ(HGet("h", "huge"), "1e4932");
}

TEST_F(HashesTest, EveryCommandReportsWrongTypeAndChangesNothing) {
  Put("s", "value");
  auto wrong = [](const Status& s) {
    return IsError(s, Status::Code::kWrongType, std::string(kWrongType));
  };
  EXPECT_TRUE(wrong(Run([](Txn& t) { return hashes::Set(t, "s", {{"f", "v"}}); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return hashes::SetNX(t, "s", "f", "v"); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return hashes::Get(t, "s", "f"); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return hashes::MGet(t, "s", {"f"}); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return hashes::Del(t, "s", {"f"}); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return hashes::Len(t, "s"); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return hashes::StrLen(t, "s", "f"); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return hashes::Exists(t, "s", "f"); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return hashes::GetAll(t, "s"); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return hashes::IncrBy(t, "s", "f", 1); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return hashes::IncrByFloat(t, "s", "f", 1); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return hashes::RandomField(t, "s"); }).status()));
  EXPECT_TRUE(
      wrong(Run([](Txn& t) { return hashes::RandomFieldsWithCount(t, "s", -3); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return hashes::Scan(t, "s", 0, "", 10); }).status()));
  EXPECT_EQ(Get("s"), "value");
  EXPECT_EQ(store().DbSize(0), 1);
}

TEST_F(HashesTest, WritesKeepTheTtlAndAnExpiredHashIsGone) {
  HSet("h", {{"old", "1"}});
  ASSERT_TRUE(Run([&](Txn& t) { return keys::ExpireAt(t, "h", t.now_ms() + 10'000, {}); }).value());
  HSet("h", {{"a", "1"}});
  ASSERT_TRUE(Run([](Txn& t) { return hashes::IncrBy(t, "h", "a", 1); }).ok());
  ASSERT_EQ(Run([](Txn& t) { return hashes::Del(t, "h", {"a"}); }).value(), 1);
  EXPECT_EQ(Do([](Txn& t) { return keys::Ttl(t, "h", 1); }), 10'000);
  clock_.Advance(9'999);
  EXPECT_EQ(HGet("h", "old"), "1");
  clock_.Advance(2);
  EXPECT_EQ(HGet("h", "old"), std::nullopt);
  EXPECT_EQ(Len("h"), 0);
  EXPECT_EQ(TypeOf("h"), KeyType::kNone);
  // A new hash under the name has none of the old fields and no TTL.
  EXPECT_EQ(HSet("h", {{"new", "2"}}), 1);
  EXPECT_EQ(All("h"), (FieldValues{{"new", "2"}}));
  clock_.Advance(100'000);
  EXPECT_EQ(Len("h"), 1);
}

TEST_F(HashesTest, DeletedAndEmptiedHashesAreReclaimedByCompaction) {
  MakeBig("big", 10'000);
  EXPECT_EQ(store().CountElementRecordsForTest(0, "big"), 10'000);
  ASSERT_EQ(Run([](Txn& t) -> Result<int64_t> { return keys::Del(t, {"big"}); }).value(), 1);
  HSet("small", {{"a", "1"}, {"b", "2"}});
  ASSERT_EQ(Run([](Txn& t) { return hashes::Del(t, "small", {"a", "b"}); }).value(), 2);
  HSet("kept", {{"a", "1"}});
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "big"), 0);
  EXPECT_EQ(store().CountElementRecordsForTest(0, "small"), 0);
  EXPECT_EQ(store().CountElementRecordsForTest(0, "kept"), 1);
  EXPECT_EQ(All("kept"), (FieldValues{{"a", "1"}}));
}

TEST_F(HashesTest, RandomFieldsWithCountFollowRedisCases) {
  HSet("h", {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}});
  auto rf = [&](std::string_view key, int64_t count) {
    return Run([&](Txn& t) { return hashes::RandomFieldsWithCount(t, key, count); });
  };
  EXPECT_TRUE(rf("h", 0)->order.empty());
  EXPECT_TRUE(rf("nokey", 5)->order.empty());
  EXPECT_TRUE(rf("nokey", -5)->order.empty());
  // count >= size: the whole hash.
  for (int64_t count : {5, 6, 1000}) {
    auto all = rf("h", count);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->order.size(), 5u);
    EXPECT_EQ(all->fields,
              (FieldValues{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}}));
  }
  // 0 < count < size: distinct fields with their values.
  for (int64_t count : {1, 2, 4}) {
    auto some = rf("h", count);
    ASSERT_TRUE(some.ok());
    ASSERT_EQ(some->order.size(), static_cast<size_t>(count));
    std::set<std::string> seen;
    for (uint32_t i : some->order) {
      const auto& [f, v] = some->fields[i];
      EXPECT_EQ(HGet("h", f), v);
      seen.insert(f);
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(count));
  }
  // count < 0: exactly -count draws, repeats allowed.
  auto many = rf("h", -1001);
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(many->order.size(), 1001u);
  for (uint32_t i : many->order) ASSERT_LT(i, many->fields.size());
  // Beyond the cap: refused, with nothing drawn.
  auto huge = rf("h", -static_cast<int64_t>(hashes::kMaxRandomCount) - 1);
  EXPECT_EQ(huge.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(huge.status().message().rfind("ERR value is out of range", 0), 0u);
  EXPECT_EQ(rf("h", -static_cast<int64_t>(hashes::kMaxRandomCount))->order.size(),
            hashes::kMaxRandomCount);
}

// The distribution checks of Redis's hash.tcl (chi-square, df = 9, 40 ~ p 0.00001).
TEST_F(HashesTest, RandomFieldsOfASmallHashAreUniform) {
  Pairs pairs;
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back("field" + std::to_string(i));
  for (const auto& n : names) pairs.emplace_back(n, "v");
  HSet("h", pairs);
  auto repeated = Run([](Txn& t) { return hashes::RandomFieldsWithCount(t, "h", -10000); });
  ASSERT_TRUE(repeated.ok());
  std::map<std::string, int> counts;
  for (uint32_t i : repeated->order) counts[repeated->fields[i].first]++;
  EXPECT_LT(ChiSquare(counts, 10, 10000), 40);
  for (int64_t size : {8, 2}) {
    counts.clear();
    int draws = 0;
    for (int it = 0; it < 5000 / size; ++it) {
      auto r = Run([&](Txn& t) { return hashes::RandomFieldsWithCount(t, "h", size); });
      ASSERT_TRUE(r.ok());
      for (uint32_t i : r->order) counts[r->fields[i].first]++, draws++;
    }
    EXPECT_LT(ChiSquare(counts, 10, draws), 40) << "size " << size;
  }
  counts.clear();
  for (int it = 0; it < 5000; ++it) {
    auto one = Run([](Txn& t) { return hashes::RandomField(t, "h"); });
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(one->second, "v");
    counts[one->first]++;
  }
  EXPECT_LT(ChiSquare(counts, 10, 5000), 40);
}

// Above sampling::kExactLimit fields a pick is approximate: over fields of one shape it
// must still spread evenly (ten ranges of the field numbers, chi-square as above).
TEST_F(HashesTest, RandomFieldsOfABigHashSpreadOverTheHash) {
  constexpr int kFields = 20'000;
  static_assert(kFields > static_cast<int>(sampling::kExactLimit));
  MakeBig("big", kFields);
  std::map<std::string, int> ranges;
  constexpr int kDraws = 2000;
  for (int i = 0; i < kDraws; ++i) {
    auto one = Run([](Txn& t) { return hashes::RandomField(t, "big"); });
    ASSERT_TRUE(one.ok());
    int n = std::stoi(one->first.substr(1));
    ASSERT_EQ(one->second, "v" + std::to_string(n));
    ranges[std::to_string(n * 10 / kFields)]++;
  }
  EXPECT_LT(ChiSquare(ranges, 10, kDraws), 40);
  auto some = Run([](Txn& t) { return hashes::RandomFieldsWithCount(t, "big", 5); });
  ASSERT_TRUE(some.ok());
  std::set<std::string> distinct;
  for (uint32_t i : some->order) distinct.insert(some->fields[i].first);
  EXPECT_EQ(distinct.size(), 5u);
}

TEST_F(HashesTest, ScanReturnsASmallHashInOnePage) {
  HSet("h", {{"foo", "1"}, {"fab", "2"}, {"foobar", "10"}, {"1", "a"}});
  auto page = Run([](Txn& t) { return hashes::Scan(t, "h", 0, "", 1); });
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->next_cursor, 0u);
  EXPECT_EQ(page->items.size(), 4u);
  page = Run([](Txn& t) { return hashes::Scan(t, "h", 0, "foo*", 10); });
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items, (FieldValues{{"foo", "1"}, {"foobar", "10"}}));
  page = Run([](Txn& t) { return hashes::Scan(t, "nokey", 0, "", 10); });
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->next_cursor, 0u);
  EXPECT_TRUE(page->items.empty());
}

TEST_F(HashesTest, ScanPagesABigHashAndSurvivesChangesBetweenPages) {
  MakeBig("big", 1000);
  // A value over 64 bytes makes the hash "big" in Redis's sense even when short.
  std::string long_value(100, 'x');
  HSet("long", {{"a", long_value}, {"b", "1"}, {"c", "2"}});
  auto page = Run([](Txn& t) { return hashes::Scan(t, "long", 0, "", 2); });
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 2u);
  EXPECT_NE(page->next_cursor, 0u);

  std::map<std::string, int> seen;
  uint64_t cursor = 0;
  int pages = 0;
  do {
    auto p = Run([&](Txn& t) { return hashes::Scan(t, "big", cursor, "", 10); });
    ASSERT_TRUE(p.ok());
    EXPECT_LE(p->items.size(), 10u);
    for (const auto& [f, v] : p->items) seen[f]++;
    cursor = p->next_cursor;
    if (++pages == 20) {
      // Delete the fields 500..999 and add new ones while the scan is under way.
      std::vector<std::string> gone;
      for (int i = 500; i < 1000; ++i) gone.push_back("f00" + std::to_string(i));
      std::vector<std::string_view> views(gone.begin(), gone.end());
      ASSERT_EQ(Run([&](Txn& t) { return hashes::Del(t, "big", views); }).value(), 500);
      HSet("big", {{"a-new", "1"}, {"z-new", "2"}});
    }
  } while (cursor != 0 && pages < 1000);
  EXPECT_EQ(cursor, 0u);
  // Fields present for the whole scan were returned exactly once.
  for (int i = 0; i < 500; ++i) {
    char buf[16];
    snprintf(buf, sizeof(buf), "f%05d", i);
    EXPECT_EQ(seen[buf], 1) << buf;
  }
  for (const auto& [f, n] : seen) EXPECT_EQ(n, 1) << f;
  EXPECT_EQ(seen.count("z-new"), 1u);  // added ahead of the cursor
  // MATCH filters each page; COUNT is how many fields a page looks at.
  auto p = Run([](Txn& t) { return hashes::Scan(t, "big", 0, "f0000*", 20); });
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->items.size(), 10u);
  EXPECT_NE(p->next_cursor, 0u);
}

TEST_F(HashesTest, ScanCursorOfAnotherKeyOrUnknownEndsTheIteration) {
  MakeBig("a", 300);
  MakeBig("b", 300);
  auto first = Run([](Txn& t) { return hashes::Scan(t, "a", 0, "", 10); });
  ASSERT_TRUE(first.ok());
  ASSERT_NE(first->next_cursor, 0u);
  uint64_t cursor = first->next_cursor;
  auto other = Run([&](Txn& t) { return hashes::Scan(t, "b", cursor, "", 10); });
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->next_cursor, 0u);
  EXPECT_TRUE(other->items.empty());
  auto unknown = Run([](Txn& t) { return hashes::Scan(t, "a", 987654321, "", 10); });
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->next_cursor, 0u);
  EXPECT_TRUE(unknown->items.empty());
  auto resumed = Run([&](Txn& t) { return hashes::Scan(t, "a", cursor, "", 10); });
  ASSERT_TRUE(resumed.ok());
  ASSERT_FALSE(resumed->items.empty());
  EXPECT_EQ(resumed->items.front().first, "f00010");
}

TEST_F(HashesTest, HundredThousandFieldsPointOperations) {
  MakeBig("big", 100'000);
  EXPECT_EQ(Len("big"), 100'000);
  EXPECT_EQ(HGet("big", "f54321"), "v54321");
  EXPECT_EQ(HSet("big", {{"f54321", "changed"}, {"new", "n"}}), 1);
  EXPECT_EQ(Run([](Txn& t) { return hashes::Del(t, "big", {"f00000", "new"}); }).value(), 2);
  EXPECT_EQ(Len("big"), 99'999);
  EXPECT_EQ(HGet("big", "f54321"), "changed");
  auto all = All("big");
  EXPECT_EQ(all.size(), 99'999u);
  EXPECT_EQ(all.front().first, "f00001");
}

// HDEL counts its removals; past the live fields the hash is rewritten under a new
// version with every remaining field and value intact (store/tombstones.h).
TEST_F(HashesTest, ManyDeletionsRewriteTheLiveFieldsWithTheirValues) {
  MakeBig("h", 3000);
  for (int i = 0; i < 2500; ++i) {
    char buf[16];
    snprintf(buf, sizeof(buf), "f%05d", i);
    std::vector<std::string_view> fields{buf};
    ASSERT_EQ(Run([&](Txn& t) { return hashes::Del(t, "h", fields); }).value(), 1);
    Meta meta = Run([](Txn& t) { return t.GetTyped("h", KeyType::kHash); }).value();
    ASSERT_LE(tombstones::Removed(meta), std::max(tombstones::kMinRemoved, meta.count)) << i;
  }
  EXPECT_EQ(Len("h"), 500);
  FieldValues all = All("h");
  ASSERT_EQ(all.size(), 500u);
  for (const auto& [field, value] : all) {
    EXPECT_EQ(value, "v" + std::to_string(std::stoi(field.substr(1)))) << field;
    EXPECT_GE(std::stoi(field.substr(1)), 2500) << field;
  }
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "h"), 500);
}

}  // namespace
}  // namespace redge::store::testing
