// Unit tests for store/lists.h: every list command against a real Store, with Redis's
// exact semantics (index rules, counts, empty-collection deletion, WRONGTYPE).

#include "store/lists.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/index_range.h"
#include "store/keys.h"
#include "store/status.h"
#include "store/store.h"
#include "store/strings.h"
#include "store/txn.h"
#include "tests/unit/store_fixture.h"

namespace redge::store::testing {
namespace {

using Strings = std::vector<std::string>;
using Indexes = std::vector<int64_t>;

constexpr std::string_view kWrongTypeMessage =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
constexpr std::string_view kRankZeroMessage =
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use "
    "negative to start from the end of the list";

::testing::AssertionResult IsWrongType(const Status& s) {
  if (s.code() != Status::Code::kWrongType) {
    return ::testing::AssertionFailure() << "expected WRONGTYPE, got: '" << s.message() << "'";
  }
  if (s.message() != kWrongTypeMessage) {
    return ::testing::AssertionFailure() << "WRONGTYPE with wrong text: '" << s.message() << "'";
  }
  return ::testing::AssertionSuccess();
}

class ListsTest : public StoreTest {
 protected:
  int64_t Push(std::string_view key, ListEnd end, const Strings& values) {
    auto r = Run([&](Txn& t) { return lists::Push(t, key, end, values); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : -1;
  }
  int64_t RPush(std::string_view key, const Strings& values) {
    return Push(key, ListEnd::kRight, values);
  }
  int64_t LPush(std::string_view key, const Strings& values) {
    return Push(key, ListEnd::kLeft, values);
  }
  // LRANGE key 0 -1 (fails the test on an error).
  Strings All(std::string_view key) {
    auto r = Run([&](Txn& t) { return lists::Range(t, key, 0, -1); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : Strings{"<error>"};
  }
  int64_t Len(std::string_view key) {
    auto r = Run([&](Txn& t) { return lists::Len(t, key); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : -1;
  }
  KeyType TypeOf(std::string_view key) {
    auto r = Run([&](Txn& t) -> Result<KeyType> { return keys::Type(t, key); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : KeyType::kString;
  }
  int64_t Exists(const std::string& key) {
    auto r = Run([&](Txn& t) -> Result<int64_t> { return keys::Exists(t, {key}); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : -1;
  }
  Strings AllKeys() {
    auto r = Run([&](Txn& t) -> Result<Strings> { return keys::Keys(t, "*"); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : Strings{"<error>"};
  }
  void SetString(std::string_view key, std::string_view value) {
    auto r = Run([&](Txn& t) { return strings::Set(t, key, value); });
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_TRUE(r->written);
  }
  std::string GetString(std::string_view key) {
    auto r = Run([&](Txn& t) { return strings::Get(t, key); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : "<error>";
  }
  // Asserts that `key` does not exist in any sense: TYPE none, EXISTS 0, LLEN 0, LRANGE
  // empty, not listed by KEYS.
  void ExpectGone(const std::string& key) {
    SCOPED_TRACE("key " + key);
    EXPECT_EQ(TypeOf(key), KeyType::kNone);
    EXPECT_EQ(Exists(key), 0);
    EXPECT_EQ(Len(key), 0);
    EXPECT_EQ(All(key), Strings{});
    for (const std::string& k : AllKeys()) EXPECT_NE(k, key);
  }
  Result<Indexes> Pos(std::string_view key, std::string_view element, int64_t rank,
                      std::optional<int64_t> count, int64_t maxlen = 0) {
    lists::PosOptions o;
    o.rank = rank;
    o.count = count;
    o.maxlen = maxlen;
    return Run([&](Txn& t) { return lists::Pos(t, key, element, o); });
  }
  Indexes PosOk(std::string_view key, std::string_view element, int64_t rank,
                std::optional<int64_t> count, int64_t maxlen = 0) {
    auto r = Pos(key, element, rank, count, maxlen);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : Indexes{-999};
  }
};

// ---------------------------------------------------------------------------------------
// NormalizeIndexRange (store/index_range.h), as LRANGE and LTRIM use it

TEST(ListsNormalizeRangeTest, FollowsRedisIndexRules) {
  struct Case {
    int64_t size, start, stop;
    bool non_empty;
    int64_t want_start, want_stop;
  };
  const Case cases[] = {
      {5, 0, -1, true, 0, 4},
      {5, 0, 0, true, 0, 0},
      {5, -3, 2, true, 2, 2},
      {5, -100, 100, true, 0, 4},
      {5, 1, -2, true, 1, 3},
      {5, 4, 4, true, 4, 4},
      {5, -1, -1, true, 4, 4},
      {5, 5, 10, false, 0, 0},
      {5, 2, 1, false, 0, 0},
      {5, -1, -2, false, 0, 0},
      {5, 0, -6, false, 0, 0},
      {0, 0, -1, false, 0, 0},
      {5, 3, std::numeric_limits<int64_t>::max(), true, 3, 4},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "size=" << c.size << " start=" << c.start << " stop=" << c.stop);
    int64_t start = c.start, stop = c.stop;
    ASSERT_EQ(NormalizeIndexRange(c.size, &start, &stop), c.non_empty);
    if (c.non_empty) {
      EXPECT_EQ(start, c.want_start);
      EXPECT_EQ(stop, c.want_stop);
    }
  }
}

// ---------------------------------------------------------------------------------------
// LPUSH / RPUSH / LPUSHX / RPUSHX

TEST_F(ListsTest, PushReturnsNewLengthAndKeepsRedisOrder) {
  EXPECT_EQ(RPush("k", {"a", "b", "c"}), 3);
  EXPECT_EQ(All("k"), (Strings{"a", "b", "c"}));
  // LPUSH k x y inserts x then y at the head: y ends up first.
  EXPECT_EQ(LPush("k", {"x", "y"}), 5);
  EXPECT_EQ(All("k"), (Strings{"y", "x", "a", "b", "c"}));
  EXPECT_EQ(Len("k"), 5);
  EXPECT_EQ(TypeOf("k"), KeyType::kList);
  EXPECT_EQ(store().DbSize(0), 1);
}

TEST_F(ListsTest, PushIsBinarySafe) {
  const std::string with_nul("a\0b", 3);
  EXPECT_EQ(RPush("k", {"", with_nul, "\xff\xfe"}), 3);
  EXPECT_EQ(All("k"), (Strings{"", with_nul, "\xff\xfe"}));
  auto r = Run([&](Txn& t) { return lists::Index(t, "k", 1); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), with_nul);
}

TEST_F(ListsTest, PushXOnAbsentKeyReturnsZeroAndCreatesNothing) {
  for (ListEnd end : {ListEnd::kLeft, ListEnd::kRight}) {
    auto r = Run([&](Txn& t) { return lists::Push(t, "k", end, {"a", "b"}, true); });
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value(), 0);
  }
  ExpectGone("k");
  EXPECT_EQ(store().DbSize(0), 0);
}

TEST_F(ListsTest, PushXOnExistingListPushes) {
  RPush("k", {"a"});
  auto r = Run([&](Txn& t) { return lists::Push(t, "k", ListEnd::kRight, {"b", "c"}, true); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), 3);
  r = Run([&](Txn& t) { return lists::Push(t, "k", ListEnd::kLeft, {"y", "z"}, true); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), 5);
  EXPECT_EQ(All("k"), (Strings{"z", "y", "a", "b", "c"}));
}

// ---------------------------------------------------------------------------------------
// LPOP / RPOP

TEST_F(ListsTest, PopSingleAndWithCount) {
  RPush("k", {"a", "b", "c", "d", "e"});
  auto r = Run([&](Txn& t) { return lists::Pop(t, "k", ListEnd::kLeft, 1); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), Strings{"a"});
  // RPOP k 2 returns elements in pop order: e, then d.
  r = Run([&](Txn& t) { return lists::Pop(t, "k", ListEnd::kRight, 2); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), (Strings{"e", "d"}));
  EXPECT_EQ(All("k"), (Strings{"b", "c"}));
  EXPECT_EQ(Len("k"), 2);
}

TEST_F(ListsTest, PopCountGreaterThanLengthReturnsAllAndDeletesKey) {
  RPush("k", {"a", "b", "c"});
  RPush("other", {"x"});
  ASSERT_EQ(store().DbSize(0), 2);
  auto r = Run([&](Txn& t) { return lists::Pop(t, "k", ListEnd::kLeft, 10); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), (Strings{"a", "b", "c"}));
  ExpectGone("k");
  EXPECT_EQ(store().DbSize(0), 1);

  RPush("k", {"a", "b", "c"});
  r = Run([&](Txn& t) { return lists::Pop(t, "k", ListEnd::kRight, 3); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), (Strings{"c", "b", "a"}));
  ExpectGone("k");
}

TEST_F(ListsTest, PopCountZeroReturnsEmptyAndKeepsTheList) {
  // Redis: LPOP key 0 on an existing list replies an empty array and changes nothing.
  RPush("k", {"a"});
  auto r = Run([&](Txn& t) { return lists::Pop(t, "k", ListEnd::kLeft, 0); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), Strings{});
  EXPECT_EQ(All("k"), Strings{"a"});
  EXPECT_EQ(TypeOf("k"), KeyType::kList);
}

TEST_F(ListsTest, PopOnAbsentKeyIsNotFound) {
  for (size_t count : {size_t{0}, size_t{1}, size_t{5}}) {
    for (ListEnd end : {ListEnd::kLeft, ListEnd::kRight}) {
      auto r = Run([&](Txn& t) { return lists::Pop(t, "nope", end, count); });
      EXPECT_TRUE(r.status().IsNotFound()) << r.status().message();
    }
  }
  ExpectGone("nope");
}

TEST_F(ListsTest, ListRecreatedAfterBeingEmptiedStartsFresh) {
  RPush("k", {"a", "b", "c"});
  auto r = Run([&](Txn& t) { return lists::Pop(t, "k", ListEnd::kLeft, 3); });
  ASSERT_TRUE(r.ok());
  ExpectGone("k");
  EXPECT_EQ(LPush("k", {"z"}), 1);
  EXPECT_EQ(All("k"), Strings{"z"});
  EXPECT_EQ(RPush("k", {"y"}), 2);
  EXPECT_EQ(All("k"), (Strings{"z", "y"}));
  auto idx = Run([&](Txn& t) { return lists::Index(t, "k", -1); });
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ(idx.value(), "y");
}

// ---------------------------------------------------------------------------------------
// LLEN / LRANGE / LINDEX

TEST_F(ListsTest, LenOfAbsentKeyIsZero) { EXPECT_EQ(Len("nope"), 0); }

TEST_F(ListsTest, RangeFollowsRedisIndexRules) {
  RPush("k", {"a", "b", "c", "d", "e"});
  struct Case {
    int64_t start, stop;
    Strings want;
  };
  const Case cases[] = {
      {0, -1, {"a", "b", "c", "d", "e"}},
      {0, 0, {"a"}},
      {-3, 2, {"c"}},
      {-100, 100, {"a", "b", "c", "d", "e"}},
      {1, -2, {"b", "c", "d"}},
      {-2, -1, {"d", "e"}},
      {3, 100, {"d", "e"}},
      {-100, -5, {"a"}},
      {5, 10, {}},
      {2, 1, {}},
      {-1, -2, {}},
      {0, -6, {}},
      {std::numeric_limits<int64_t>::min(),
       std::numeric_limits<int64_t>::max(),
       {"a", "b", "c", "d", "e"}},
      {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max(), {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "LRANGE " << c.start << " " << c.stop);
    auto r = Run([&](Txn& t) { return lists::Range(t, "k", c.start, c.stop); });
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value(), c.want);
  }
}

TEST_F(ListsTest, RangeOfAbsentKeyIsEmpty) {
  auto r = Run([&](Txn& t) { return lists::Range(t, "nope", 0, -1); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->empty());
}

TEST_F(ListsTest, IndexPositiveNegativeAndOutOfRange) {
  RPush("k", {"a", "b", "c", "d", "e"});
  const std::pair<int64_t, const char*> hits[] = {{0, "a"},  {4, "e"},  {2, "c"},
                                                  {-1, "e"}, {-5, "a"}, {-2, "d"}};
  for (const auto& [index, want] : hits) {
    // Lambdas capture a copy: clang 14 (the fuzz/ASan build) cannot capture a binding.
    auto r = Run([&, index = index](Txn& t) { return lists::Index(t, "k", index); });
    ASSERT_TRUE(r.ok()) << "LINDEX " << index << ": " << r.status().message();
    EXPECT_EQ(r.value(), want) << "LINDEX " << index;
  }
  for (int64_t index : {int64_t{5}, int64_t{-6}, int64_t{100}, int64_t{-100},
                        std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()}) {
    auto r = Run([&](Txn& t) { return lists::Index(t, "k", index); });
    EXPECT_TRUE(r.status().IsNotFound()) << "LINDEX " << index << ": " << r.status().message();
  }
  auto r = Run([&](Txn& t) { return lists::Index(t, "nope", 0); });
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().message();
}

// ---------------------------------------------------------------------------------------
// LSET

TEST_F(ListsTest, SetIndexPositiveAndNegative) {
  RPush("k", {"a", "b", "c", "d", "e"});
  for (const auto& [index, value] :
       {std::pair<int64_t, const char*>{0, "A"}, {-1, "E"}, {2, "C"}, {-4, "B"}}) {
    Status s = Run([&, index = index, value = value](Txn& t) {
      return lists::SetIndex(t, "k", index, value);
    });
    ASSERT_TRUE(s.ok()) << "LSET " << index << ": " << s.message();
  }
  EXPECT_EQ(All("k"), (Strings{"A", "B", "C", "d", "E"}));
  EXPECT_EQ(Len("k"), 5);
}

TEST_F(ListsTest, SetIndexOutOfRangeAndNoSuchKey) {
  RPush("k", {"a", "b"});
  for (int64_t index : {int64_t{2}, int64_t{-3}, std::numeric_limits<int64_t>::max(),
                        std::numeric_limits<int64_t>::min()}) {
    Status s = Run([&](Txn& t) { return lists::SetIndex(t, "k", index, "x"); });
    EXPECT_EQ(s.code(), Status::Code::kOutOfRange) << "LSET " << index << ": " << s.message();
    EXPECT_EQ(s.message(), "ERR index out of range");
  }
  EXPECT_EQ(All("k"), (Strings{"a", "b"}));

  Status s = Run([&](Txn& t) { return lists::SetIndex(t, "nope", 0, "x"); });
  EXPECT_EQ(s.code(), Status::Code::kNoSuchKey) << s.message();
  EXPECT_EQ(s.message(), "ERR no such key");
  ExpectGone("nope");
}

// ---------------------------------------------------------------------------------------
// LTRIM

TEST_F(ListsTest, TrimKeepsRedisRanges) {
  struct Case {
    int64_t start, stop;
    Strings want;
  };
  const Case cases[] = {
      {1, -1, {"b", "c", "d", "e"}}, {0, 0, {"a"}},
      {-2, -1, {"d", "e"}},          {-100, 1, {"a", "b"}},
      {3, 100, {"d", "e"}},          {0, -1, {"a", "b", "c", "d", "e"}},
      {1, 3, {"b", "c", "d"}},       {-100, 100, {"a", "b", "c", "d", "e"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "LTRIM " << c.start << " " << c.stop);
    RPush("k", {"a", "b", "c", "d", "e"});
    Status s = Run([&](Txn& t) { return lists::Trim(t, "k", c.start, c.stop); });
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(All("k"), c.want);
    EXPECT_EQ(Len("k"), static_cast<int64_t>(c.want.size()));
    // Both ends still work after the trim.
    EXPECT_EQ(RPush("k", {"tail"}), static_cast<int64_t>(c.want.size()) + 1);
    EXPECT_EQ(LPush("k", {"head"}), static_cast<int64_t>(c.want.size()) + 2);
    Strings want = c.want;
    want.insert(want.begin(), "head");
    want.push_back("tail");
    EXPECT_EQ(All("k"), want);
    ASSERT_EQ(Run([&](Txn& t) -> Result<int64_t> { return keys::Del(t, {"k"}); }).value(), 1);
  }
}

TEST_F(ListsTest, TrimToEmptyDeletesTheKey) {
  const std::pair<int64_t, int64_t> emptying[] = {
      {5, 10}, {2, 1}, {0, -6}, {-1, -2}, {std::numeric_limits<int64_t>::max(), -1}};
  RPush("other", {"x"});
  for (const auto& [start, stop] : emptying) {
    SCOPED_TRACE(::testing::Message() << "LTRIM " << start << " " << stop);
    RPush("k", {"a", "b", "c", "d", "e"});
    ASSERT_EQ(store().DbSize(0), 2);
    Status s =
        Run([&, start = start, stop = stop](Txn& t) { return lists::Trim(t, "k", start, stop); });
    ASSERT_TRUE(s.ok()) << s.message();
    ExpectGone("k");
    EXPECT_EQ(store().DbSize(0), 1);
  }
}

TEST_F(ListsTest, TrimOnAbsentKeyIsOk) {
  Status s = Run([&](Txn& t) { return lists::Trim(t, "nope", 0, 1); });
  EXPECT_TRUE(s.ok()) << s.message();
  ExpectGone("nope");
}

// ---------------------------------------------------------------------------------------
// LREM

TEST_F(ListsTest, RemPositiveCountRemovesFromHead) {
  RPush("k", {"a", "b", "a", "c", "a"});
  auto r = Run([&](Txn& t) { return lists::Rem(t, "k", 2, "a"); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), 2);
  EXPECT_EQ(All("k"), (Strings{"b", "c", "a"}));
  EXPECT_EQ(Len("k"), 3);
}

TEST_F(ListsTest, RemNegativeCountRemovesFromTail) {
  RPush("k", {"a", "b", "a", "c", "a"});
  auto r = Run([&](Txn& t) { return lists::Rem(t, "k", -2, "a"); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), 2);
  EXPECT_EQ(All("k"), (Strings{"a", "b", "c"}));
  EXPECT_EQ(Len("k"), 3);
}

TEST_F(ListsTest, RemZeroCountRemovesAll) {
  RPush("k", {"a", "b", "a", "c", "a"});
  auto r = Run([&](Txn& t) { return lists::Rem(t, "k", 0, "a"); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), 3);
  EXPECT_EQ(All("k"), (Strings{"b", "c"}));
  // Positions stay coherent after removing from the middle.
  auto idx = Run([&](Txn& t) { return lists::Index(t, "k", 1); });
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ(idx.value(), "c");
  EXPECT_EQ(RPush("k", {"d"}), 3);
  EXPECT_EQ(LPush("k", {"z"}), 4);
  EXPECT_EQ(All("k"), (Strings{"z", "b", "c", "d"}));
}

TEST_F(ListsTest, RemCountLargerThanMatchesAndNoMatch) {
  RPush("k", {"a", "b", "a"});
  auto r = Run([&](Txn& t) { return lists::Rem(t, "k", 10, "a"); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 2);
  EXPECT_EQ(All("k"), Strings{"b"});
  r = Run([&](Txn& t) { return lists::Rem(t, "k", 0, "zzz"); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 0);
  EXPECT_EQ(All("k"), Strings{"b"});
  r = Run([&](Txn& t) { return lists::Rem(t, "nope", 0, "a"); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), 0);
  ExpectGone("nope");
}

TEST_F(ListsTest, RemOfEveryElementDeletesTheKey) {
  for (int64_t count : {int64_t{0}, int64_t{3}, int64_t{-3}, int64_t{100}}) {
    SCOPED_TRACE(::testing::Message() << "LREM count " << count);
    RPush("k", {"a", "a", "a"});
    auto r = Run([&](Txn& t) { return lists::Rem(t, "k", count, "a"); });
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value(), 3);
    ExpectGone("k");
    EXPECT_EQ(store().DbSize(0), 0);
  }
}

// ---------------------------------------------------------------------------------------
// LINSERT

TEST_F(ListsTest, InsertBeforeAndAfterFirstPivot) {
  RPush("k", {"a", "p", "b", "p"});
  auto r = Run([&](Txn& t) { return lists::Insert(t, "k", true, "p", "x"); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), 5);
  EXPECT_EQ(All("k"), (Strings{"a", "x", "p", "b", "p"}));
  r = Run([&](Txn& t) { return lists::Insert(t, "k", false, "p", "y"); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), 6);
  EXPECT_EQ(All("k"), (Strings{"a", "x", "p", "y", "b", "p"}));
  EXPECT_EQ(Len("k"), 6);
}

TEST_F(ListsTest, InsertAtBothBoundariesKeepsIndexesCoherent) {
  RPush("k", {"a", "b"});
  ASSERT_EQ(Run([&](Txn& t) { return lists::Insert(t, "k", true, "a", "h"); }).value(), 3);
  ASSERT_EQ(Run([&](Txn& t) { return lists::Insert(t, "k", false, "b", "t"); }).value(), 4);
  ASSERT_EQ(Run([&](Txn& t) { return lists::Insert(t, "k", false, "a", "m"); }).value(), 5);
  EXPECT_EQ(All("k"), (Strings{"h", "a", "m", "b", "t"}));
  const Strings want = {"h", "a", "m", "b", "t"};
  for (int64_t i = 0; i < 5; ++i) {
    auto r = Run([&](Txn& t) { return lists::Index(t, "k", i); });
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), want[i]);
    r = Run([&](Txn& t) { return lists::Index(t, "k", i - 5); });
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), want[i]);
  }
  ASSERT_TRUE(Run([&](Txn& t) { return lists::SetIndex(t, "k", 2, "M"); }).ok());
  auto left = Run([&](Txn& t) { return lists::Pop(t, "k", ListEnd::kLeft, 2); });
  auto right = Run([&](Txn& t) { return lists::Pop(t, "k", ListEnd::kRight, 2); });
  ASSERT_TRUE(left.ok() && right.ok());
  EXPECT_EQ(left.value(), (Strings{"h", "a"}));
  EXPECT_EQ(right.value(), (Strings{"t", "b"}));
  EXPECT_EQ(All("k"), Strings{"M"});
}

TEST_F(ListsTest, InsertWithMissingPivotReturnsMinusOne) {
  RPush("k", {"a", "b"});
  for (bool before : {true, false}) {
    auto r = Run([&](Txn& t) { return lists::Insert(t, "k", before, "zzz", "x"); });
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value(), -1);
  }
  EXPECT_EQ(All("k"), (Strings{"a", "b"}));
}

TEST_F(ListsTest, InsertOnAbsentKeyReturnsZeroAndCreatesNothing) {
  for (bool before : {true, false}) {
    auto r = Run([&](Txn& t) { return lists::Insert(t, "nope", before, "a", "x"); });
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value(), 0);
  }
  ExpectGone("nope");
  EXPECT_EQ(store().DbSize(0), 0);
}

// ---------------------------------------------------------------------------------------
// LPOS (examples from the Redis documentation of LPOS)

class ListsPosTest : public ListsTest {
 protected:
  void SetUp() override {
    ListsTest::SetUp();
    //        0    1    2    3    4    5    6    7
    RPush("k", {"a", "b", "c", "1", "2", "3", "c", "c"});
  }
};

TEST_F(ListsPosTest, SingleReplyForm) {
  EXPECT_EQ(PosOk("k", "c", 1, std::nullopt), Indexes{2});
  EXPECT_EQ(PosOk("k", "a", 1, std::nullopt), Indexes{0});
  EXPECT_EQ(PosOk("k", "zzz", 1, std::nullopt), Indexes{});
}

TEST_F(ListsPosTest, PositiveAndNegativeRank) {
  EXPECT_EQ(PosOk("k", "c", 2, std::nullopt), Indexes{6});
  EXPECT_EQ(PosOk("k", "c", 3, std::nullopt), Indexes{7});
  EXPECT_EQ(PosOk("k", "c", 4, std::nullopt), Indexes{});
  EXPECT_EQ(PosOk("k", "c", -1, std::nullopt), Indexes{7});
  EXPECT_EQ(PosOk("k", "c", -2, std::nullopt), Indexes{6});
  EXPECT_EQ(PosOk("k", "c", -3, std::nullopt), Indexes{2});
  EXPECT_EQ(PosOk("k", "c", -4, std::nullopt), Indexes{});
  EXPECT_EQ(PosOk("k", "a", -1, std::nullopt), Indexes{0});
  // Huge ranks are fine: no match that far.
  EXPECT_EQ(PosOk("k", "c", std::numeric_limits<int64_t>::max(), std::nullopt), Indexes{});
  EXPECT_EQ(PosOk("k", "c", -std::numeric_limits<int64_t>::max(), std::nullopt), Indexes{});
}

TEST_F(ListsPosTest, CountForm) {
  EXPECT_EQ(PosOk("k", "c", 1, 2), (Indexes{2, 6}));
  EXPECT_EQ(PosOk("k", "c", 1, 1), (Indexes{2}));
  EXPECT_EQ(PosOk("k", "c", 1, 100), (Indexes{2, 6, 7}));
  EXPECT_EQ(PosOk("k", "zzz", 1, 2), Indexes{});
  // COUNT 0: all matches.
  EXPECT_EQ(PosOk("k", "c", 1, 0), (Indexes{2, 6, 7}));
  EXPECT_EQ(PosOk("k", "c", 2, 0), (Indexes{6, 7}));
  // Negative rank: matches in tail-to-head order, indexes still counted from the head.
  EXPECT_EQ(PosOk("k", "c", -1, 2), (Indexes{7, 6}));
  EXPECT_EQ(PosOk("k", "c", -1, 0), (Indexes{7, 6, 2}));
  EXPECT_EQ(PosOk("k", "c", -2, 0), (Indexes{6, 2}));
  EXPECT_EQ(PosOk("k", "c", -3, 5), (Indexes{2}));
}

TEST_F(ListsPosTest, MaxLenLimitsComparisons) {
  EXPECT_EQ(PosOk("k", "c", 1, 0, 2), Indexes{});           // only a, b compared
  EXPECT_EQ(PosOk("k", "c", 1, 0, 3), (Indexes{2}));        // a, b, c
  EXPECT_EQ(PosOk("k", "c", 1, 0, 7), (Indexes{2, 6}));     // all but the last
  EXPECT_EQ(PosOk("k", "c", 1, 0, 8), (Indexes{2, 6, 7}));  // everything
  EXPECT_EQ(PosOk("k", "c", 1, 0, 0), (Indexes{2, 6, 7}));  // 0 = unlimited
  EXPECT_EQ(PosOk("k", "c", 1, std::nullopt, 2), Indexes{});
  EXPECT_EQ(PosOk("k", "c", 2, std::nullopt, 6), Indexes{});
  EXPECT_EQ(PosOk("k", "c", 2, std::nullopt, 7), Indexes{6});
  // From the tail, MAXLEN counts from the tail.
  EXPECT_EQ(PosOk("k", "c", -1, 0, 1), (Indexes{7}));
  EXPECT_EQ(PosOk("k", "c", -1, 0, 2), (Indexes{7, 6}));
  EXPECT_EQ(PosOk("k", "c", -1, 0, 5), (Indexes{7, 6}));
  EXPECT_EQ(PosOk("k", "a", -1, std::nullopt, 7), Indexes{});
  EXPECT_EQ(PosOk("k", "a", -1, std::nullopt, 8), Indexes{0});
}

TEST_F(ListsPosTest, AbsentKeyHasNoMatches) {
  EXPECT_EQ(PosOk("nope", "c", 1, std::nullopt), Indexes{});
  EXPECT_EQ(PosOk("nope", "c", 1, 0), Indexes{});
  EXPECT_EQ(PosOk("nope", "c", -1, 3), Indexes{});
  ExpectGone("nope");
}

TEST_F(ListsPosTest, RankZeroIsAnErrorWithRedisText) {
  for (const char* key : {"k", "nope"}) {
    for (std::optional<int64_t> count : {std::optional<int64_t>(), std::optional<int64_t>(0)}) {
      auto r = Pos(key, "c", 0, count);
      ASSERT_FALSE(r.ok()) << "key " << key;
      EXPECT_EQ(r.status().message(), kRankZeroMessage) << "key " << key;
    }
  }
}

TEST_F(ListsPosTest, RankThatCannotBeNegatedIsAnError) {
  // Redis parses RANK in [-LONG_MAX, LONG_MAX]: LLONG_MIN cannot walk from the tail.
  auto r = Pos("k", "c", std::numeric_limits<int64_t>::min(), std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "ERR value is out of range, value must between -9223372036854775807 and "
            "9223372036854775807");
}

TEST_F(ListsPosTest, NegativeCountOrMaxLenIsAnError) {
  auto r = Pos("k", "c", 1, -1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "ERR COUNT can't be negative");
  r = Pos("k", "c", 1, std::nullopt, -1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "ERR MAXLEN can't be negative");
}

// ---------------------------------------------------------------------------------------
// LMOVE / RPOPLPUSH

TEST_F(ListsTest, MoveInAllFourDirections) {
  struct Case {
    ListEnd from, to;
    std::string moved;
    Strings source, destination;
  };
  const Case cases[] = {
      {ListEnd::kLeft, ListEnd::kRight, "a", {"b", "c"}, {"x", "y", "a"}},
      {ListEnd::kLeft, ListEnd::kLeft, "a", {"b", "c"}, {"a", "x", "y"}},
      {ListEnd::kRight, ListEnd::kLeft, "c", {"a", "b"}, {"c", "x", "y"}},  // RPOPLPUSH
      {ListEnd::kRight, ListEnd::kRight, "c", {"a", "b"}, {"x", "y", "c"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "from " << static_cast<int>(c.from) << " to " << static_cast<int>(c.to));
    RPush("src", {"a", "b", "c"});
    RPush("dst", {"x", "y"});
    auto r = Run([&](Txn& t) { return lists::Move(t, "src", "dst", c.from, c.to); });
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value(), c.moved);
    EXPECT_EQ(All("src"), c.source);
    EXPECT_EQ(All("dst"), c.destination);
    EXPECT_EQ(Len("src"), 2);
    EXPECT_EQ(Len("dst"), 3);
    ASSERT_EQ(Run([&](Txn& t) -> Result<int64_t> {
                return keys::Del(t, {"src", "dst"});
              }).value(),
              2);
  }
}

TEST_F(ListsTest, MoveCreatesDestinationAndDeletesEmptiedSource) {
  RPush("src", {"only"});
  auto r =
      Run([&](Txn& t) { return lists::Move(t, "src", "dst", ListEnd::kRight, ListEnd::kLeft); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), "only");
  ExpectGone("src");
  EXPECT_EQ(All("dst"), Strings{"only"});
  EXPECT_EQ(TypeOf("dst"), KeyType::kList);
  EXPECT_EQ(store().DbSize(0), 1);
}

TEST_F(ListsTest, MoveFromAbsentSourceIsNotFoundAndTouchesNothing) {
  RPush("dst", {"x"});
  auto r =
      Run([&](Txn& t) { return lists::Move(t, "nope", "dst", ListEnd::kLeft, ListEnd::kRight); });
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().message();
  EXPECT_EQ(All("dst"), Strings{"x"});
  r = Run([&](Txn& t) { return lists::Move(t, "nope", "nope2", ListEnd::kLeft, ListEnd::kRight); });
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().message();
  ExpectGone("nope2");
  // Redis checks the source first: an absent source with a string destination is nil.
  SetString("str", "v");
  r = Run([&](Txn& t) { return lists::Move(t, "nope", "str", ListEnd::kLeft, ListEnd::kRight); });
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().message();
  EXPECT_EQ(GetString("str"), "v");
}

TEST_F(ListsTest, MoveOnSameKeyRotates) {
  RPush("k", {"a", "b", "c"});
  auto move = [&](ListEnd from, ListEnd to) {
    auto r = Run([&](Txn& t) { return lists::Move(t, "k", "k", from, to); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : "<error>";
  };
  EXPECT_EQ(move(ListEnd::kLeft, ListEnd::kRight), "a");
  EXPECT_EQ(All("k"), (Strings{"b", "c", "a"}));
  EXPECT_EQ(move(ListEnd::kRight, ListEnd::kLeft), "a");
  EXPECT_EQ(All("k"), (Strings{"a", "b", "c"}));
  EXPECT_EQ(move(ListEnd::kRight, ListEnd::kLeft), "c");
  EXPECT_EQ(All("k"), (Strings{"c", "a", "b"}));
  EXPECT_EQ(move(ListEnd::kLeft, ListEnd::kLeft), "c");
  EXPECT_EQ(All("k"), (Strings{"c", "a", "b"}));
  EXPECT_EQ(move(ListEnd::kRight, ListEnd::kRight), "b");
  EXPECT_EQ(All("k"), (Strings{"c", "a", "b"}));
  EXPECT_EQ(Len("k"), 3);
}

TEST_F(ListsTest, MoveOnSameKeyWithOneElementKeepsTheList) {
  RPush("k", {"a"});
  for (ListEnd from : {ListEnd::kLeft, ListEnd::kRight}) {
    for (ListEnd to : {ListEnd::kLeft, ListEnd::kRight}) {
      auto r = Run([&](Txn& t) { return lists::Move(t, "k", "k", from, to); });
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_EQ(r.value(), "a");
      EXPECT_EQ(All("k"), Strings{"a"});
      EXPECT_EQ(TypeOf("k"), KeyType::kList);
      EXPECT_EQ(store().DbSize(0), 1);
    }
  }
}

// ---------------------------------------------------------------------------------------
// LMPOP

TEST_F(ListsTest, MPopPopsFromFirstNonEmptyKey) {
  RPush("b", {"1", "2", "3"});
  RPush("c", {"x"});
  const Strings keys = {"a", "b", "c"};
  auto r = Run([&](Txn& t) { return lists::MPop(t, keys, ListEnd::kLeft, 2); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->key, "b");
  EXPECT_EQ(r->values, (Strings{"1", "2"}));
  // Count larger than what is left: the rest, and the key goes away.
  r = Run([&](Txn& t) { return lists::MPop(t, keys, ListEnd::kRight, 10); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->key, "b");
  EXPECT_EQ(r->values, Strings{"3"});
  ExpectGone("b");
  r = Run([&](Txn& t) { return lists::MPop(t, keys, ListEnd::kRight, 1); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->key, "c");
  EXPECT_EQ(r->values, Strings{"x"});
  ExpectGone("c");
  r = Run([&](Txn& t) { return lists::MPop(t, keys, ListEnd::kLeft, 1); });
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().message();
  EXPECT_EQ(store().DbSize(0), 0);
}

TEST_F(ListsTest, MPopFromRightReturnsPopOrder) {
  RPush("k", {"a", "b", "c", "d"});
  auto r = Run([&](Txn& t) { return lists::MPop(t, {"k"}, ListEnd::kRight, 3); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->values, (Strings{"d", "c", "b"}));
  EXPECT_EQ(All("k"), Strings{"a"});
}

TEST_F(ListsTest, MPopWrongTypeRules) {
  SetString("s", "v");
  RPush("l", {"x"});
  // A string met before any list: WRONGTYPE (Redis checks keys in order).
  auto r = Run([&](Txn& t) { return lists::MPop(t, {"nope", "s", "l"}, ListEnd::kLeft, 1); });
  EXPECT_TRUE(IsWrongType(r.status()));
  EXPECT_EQ(All("l"), Strings{"x"});
  // A list met first is popped; the string behind it is never looked at.
  r = Run([&](Txn& t) { return lists::MPop(t, {"l", "s"}, ListEnd::kLeft, 1); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->key, "l");
  EXPECT_EQ(r->values, Strings{"x"});
  EXPECT_EQ(GetString("s"), "v");
}

// ---------------------------------------------------------------------------------------
// WRONGTYPE

TEST_F(ListsTest, EveryCommandReportsWrongTypeOnAString) {
  SetString("s", "value");
  RPush("l", {"a"});
  EXPECT_TRUE(IsWrongType(
      Run([&](Txn& t) { return lists::Push(t, "s", ListEnd::kLeft, {"x"}); }).status()));
  EXPECT_TRUE(IsWrongType(
      Run([&](Txn& t) { return lists::Push(t, "s", ListEnd::kRight, {"x"}); }).status()));
  EXPECT_TRUE(IsWrongType(
      Run([&](Txn& t) { return lists::Push(t, "s", ListEnd::kLeft, {"x"}, true); }).status()));
  EXPECT_TRUE(IsWrongType(
      Run([&](Txn& t) { return lists::Push(t, "s", ListEnd::kRight, {"x"}, true); }).status()));
  for (size_t count : {size_t{0}, size_t{1}, size_t{3}}) {
    EXPECT_TRUE(IsWrongType(
        Run([&](Txn& t) { return lists::Pop(t, "s", ListEnd::kLeft, count); }).status()))
        << "count " << count;
    EXPECT_TRUE(IsWrongType(
        Run([&](Txn& t) { return lists::Pop(t, "s", ListEnd::kRight, count); }).status()))
        << "count " << count;
  }
  EXPECT_TRUE(IsWrongType(Run([&](Txn& t) { return lists::Len(t, "s"); }).status()));
  EXPECT_TRUE(IsWrongType(Run([&](Txn& t) { return lists::Range(t, "s", 0, -1); }).status()));
  EXPECT_TRUE(IsWrongType(Run([&](Txn& t) { return lists::Index(t, "s", 0); }).status()));
  EXPECT_TRUE(IsWrongType(Run([&](Txn& t) { return lists::SetIndex(t, "s", 0, "x"); })));
  EXPECT_TRUE(IsWrongType(Run([&](Txn& t) { return lists::Rem(t, "s", 0, "x"); }).status()));
  EXPECT_TRUE(IsWrongType(Run([&](Txn& t) { return lists::Trim(t, "s", 0, 1); })));
  EXPECT_TRUE(
      IsWrongType(Run([&](Txn& t) { return lists::Insert(t, "s", true, "value", "x"); }).status()));
  EXPECT_TRUE(IsWrongType(Pos("s", "value", 1, std::nullopt).status()));
  EXPECT_TRUE(IsWrongType(Pos("s", "value", 1, 0).status()));
  // LMOVE: wrong source, and wrong destination with a real source (source untouched).
  EXPECT_TRUE(IsWrongType(Run([&](Txn& t) {
                            return lists::Move(t, "s", "l", ListEnd::kLeft, ListEnd::kLeft);
                          }).status()));
  EXPECT_TRUE(IsWrongType(Run([&](Txn& t) {
                            return lists::Move(t, "l", "s", ListEnd::kLeft, ListEnd::kLeft);
                          }).status()));
  EXPECT_TRUE(
      IsWrongType(Run([&](Txn& t) { return lists::MPop(t, {"s"}, ListEnd::kLeft, 1); }).status()));
  // Nothing was changed by any of the failed commands.
  EXPECT_EQ(GetString("s"), "value");
  EXPECT_EQ(TypeOf("s"), KeyType::kString);
  EXPECT_EQ(All("l"), Strings{"a"});
  EXPECT_EQ(store().DbSize(0), 2);
}

// ---------------------------------------------------------------------------------------
// Emptied lists no longer exist

TEST_F(ListsTest, ListEmptiedByAnyCommandNoLongerExists) {
  RPush("keep", {"x"});
  auto fill = [&] {
    RPush("k", {"a", "b"});
    ASSERT_EQ(store().DbSize(0), 2);
    ASSERT_EQ(TypeOf("k"), KeyType::kList);
  };
  auto check = [&](const char* how) {
    SCOPED_TRACE(how);
    ExpectGone("k");
    EXPECT_EQ(store().DbSize(0), 1);
    // And the name is reusable as any type.
    SetString("k", "now a string");
    EXPECT_EQ(TypeOf("k"), KeyType::kString);
    ASSERT_EQ(Run([&](Txn& t) -> Result<int64_t> { return keys::Del(t, {"k"}); }).value(), 1);
  };

  fill();
  ASSERT_TRUE(Run([&](Txn& t) { return lists::Pop(t, "k", ListEnd::kLeft, 1); }).ok());
  ASSERT_TRUE(Run([&](Txn& t) { return lists::Pop(t, "k", ListEnd::kRight, 1); }).ok());
  check("LPOP + RPOP");

  fill();
  ASSERT_TRUE(Run([&](Txn& t) { return lists::Pop(t, "k", ListEnd::kRight, 5); }).ok());
  check("RPOP with count");

  fill();
  ASSERT_TRUE(Run([&](Txn& t) { return lists::Trim(t, "k", 2, -1); }).ok());
  check("LTRIM");

  fill();
  ASSERT_EQ(Run([&](Txn& t) { return lists::Rem(t, "k", 0, "a"); }).value(), 1);
  ASSERT_EQ(Run([&](Txn& t) { return lists::Rem(t, "k", -1, "b"); }).value(), 1);
  check("LREM");

  fill();
  ASSERT_TRUE(Run([&](Txn& t) {
                return lists::Move(t, "k", "keep", ListEnd::kLeft, ListEnd::kRight);
              }).ok());
  ASSERT_TRUE(Run([&](Txn& t) {
                return lists::Move(t, "k", "keep", ListEnd::kLeft, ListEnd::kRight);
              }).ok());
  check("LMOVE");
  EXPECT_EQ(All("keep"), (Strings{"x", "a", "b"}));

  fill();
  ASSERT_TRUE(Run([&](Txn& t) { return lists::MPop(t, {"k"}, ListEnd::kLeft, 2); }).ok());
  check("LMPOP");
}

TEST_F(ListsTest, EmptiedListStaysGoneAfterRestart) {
  RPush("k", {"a", "b"});
  RPush("keep", {"x"});
  ASSERT_TRUE(Run([&](Txn& t) { return lists::Pop(t, "k", ListEnd::kLeft, 2); }).ok());
  Reopen();
  ExpectGone("k");
  EXPECT_EQ(store().DbSize(0), 1);
  EXPECT_EQ(All("keep"), Strings{"x"});
}

// ---------------------------------------------------------------------------------------
// A large list

TEST_F(ListsTest, HundredThousandElementsFromBothEnds) {
  constexpr int kHalf = 50'000;
  constexpr int kBatch = 1'000;
  // Alternate batches: RPUSH r0..r49999 and LPUSH l0..l49999, so the list is
  // [l49999 ... l0, r0 ... r49999].
  for (int b = 0; b < kHalf / kBatch; ++b) {
    Strings right, left;
    for (int i = b * kBatch; i < (b + 1) * kBatch; ++i) {
      right.push_back("r" + std::to_string(i));
      left.push_back("l" + std::to_string(i));
    }
    ASSERT_EQ(RPush("big", right), 2 * b * kBatch + kBatch);
    ASSERT_EQ(LPush("big", left), 2 * (b + 1) * kBatch);
  }
  ASSERT_EQ(Len("big"), 2 * kHalf);

  Strings want;
  want.reserve(2 * kHalf);
  for (int i = kHalf - 1; i >= 0; --i) want.push_back("l" + std::to_string(i));
  for (int i = 0; i < kHalf; ++i) want.push_back("r" + std::to_string(i));
  ASSERT_EQ(All("big"), want);

  auto index = [&](int64_t i) {
    auto r = Run([&](Txn& t) { return lists::Index(t, "big", i); });
    EXPECT_TRUE(r.ok()) << "LINDEX " << i << ": " << r.status().message();
    return r.ok() ? r.value() : "<error>";
  };
  EXPECT_EQ(index(0), "l49999");
  EXPECT_EQ(index(kHalf - 1), "l0");
  EXPECT_EQ(index(kHalf), "r0");
  EXPECT_EQ(index(-1), "r49999");
  EXPECT_EQ(index(-2 * kHalf), "l49999");
  EXPECT_EQ(index(12'345), want[12'345]);
  EXPECT_EQ(index(-12'345), want[2 * kHalf - 12'345]);
  auto mid = Run([&](Txn& t) { return lists::Range(t, "big", kHalf - 2, kHalf + 1); });
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid.value(), (Strings{"l1", "l0", "r0", "r1"}));
  auto pos = PosOk("big", "r0", 1, std::nullopt);
  EXPECT_EQ(pos, Indexes{kHalf});

  // Pop everything back, alternating ends, checking each element and the length.
  size_t front = 0, back = want.size();
  bool from_left = true;
  while (front < back) {
    const size_t n = std::min<size_t>(kBatch + 7, back - front);
    auto r = Run([&](Txn& t) {
      return lists::Pop(t, "big", from_left ? ListEnd::kLeft : ListEnd::kRight, n);
    });
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r->size(), n);
    for (size_t i = 0; i < n; ++i) {
      const std::string& expected = from_left ? want[front + i] : want[back - 1 - i];
      ASSERT_EQ((*r)[i], expected) << "element " << i << " of a pop";
    }
    if (from_left) {
      front += n;
    } else {
      back -= n;
    }
    from_left = !from_left;
    ASSERT_EQ(Len("big"), static_cast<int64_t>(back - front));
  }
  ExpectGone("big");
  EXPECT_EQ(store().DbSize(0), 0);
}

}  // namespace
}  // namespace redge::store::testing
