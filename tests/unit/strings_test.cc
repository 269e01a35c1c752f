// Unit tests of store/strings.h: every string command with Redis's semantics, including the
// exact Redis error statuses, against a real Store in a temporary directory
// (tests/unit/store_fixture.h).
#include "store/strings.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/keys.h"
#include "store/lists.h"
#include "store/status.h"
#include "store/store.h"
#include "store/txn.h"
#include "tests/unit/store_fixture.h"

namespace redge::store {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

constexpr char kWrongTypeMsg[] =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
constexpr char kNotIntegerMsg[] = "ERR value is not an integer or out of range";
constexpr char kOverflowMsg[] = "ERR increment or decrement would overflow";

using Condition = strings::SetOptions::Condition;

using testing::IsError;

class StringsTest : public testing::StoreTest {
 protected:
  Result<strings::SetReply> Set(const std::string& key, const std::string& value,
                                const strings::SetOptions& options = {}) {
    return Run([&](Txn& t) { return strings::Set(t, key, value, options); });
  }
  // A plain SET that must succeed.
  // SET key value with a TTL of `ttl_ms` from now.
  void PutWithTtl(const std::string& key, const std::string& value, int64_t ttl_ms) {
    strings::SetOptions o;
    o.expire_at_ms = Now() + ttl_ms;
    auto r = Set(key, value, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_TRUE(r->written);
  }
  void MakeList(const std::string& key, const std::vector<std::string>& values) {
    auto r = Run([&](Txn& t) { return lists::Push(t, key, ListEnd::kRight, values); });
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(*r, static_cast<int64_t>(values.size()));
  }
  std::vector<std::string> Range(const std::string& key) {
    auto r = Run([&](Txn& t) { return lists::Range(t, key, 0, -1); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : std::vector<std::string>{};
  }
  Result<int64_t> IncrBy(const std::string& key, int64_t delta) {
    return Run([&](Txn& t) { return strings::IncrBy(t, key, delta); });
  }
  Result<std::string> IncrByFloat(const std::string& key, const std::string& delta) {
    return Run([&](Txn& t) { return strings::IncrByFloat(t, key, delta); });
  }
  Result<int64_t> Append(const std::string& key, const std::string& suffix) {
    return Run([&](Txn& t) { return strings::Append(t, key, suffix); });
  }
  Result<int64_t> StrLen(const std::string& key) {
    return Run([&](Txn& t) { return strings::StrLen(t, key); });
  }
  Result<std::string> GetRange(const std::string& key, int64_t start, int64_t end) {
    return Run([&](Txn& t) { return strings::GetRange(t, key, start, end); });
  }
  Result<int64_t> SetRange(const std::string& key, int64_t offset, const std::string& value) {
    return Run([&](Txn& t) { return strings::SetRange(t, key, offset, value); });
  }
  Result<std::string> GetEx(const std::string& key, const strings::GetExOptions& options) {
    return Run([&](Txn& t) { return strings::GetEx(t, key, options); });
  }
  Result<std::string> GetDel(const std::string& key) {
    return Run([&](Txn& t) { return strings::GetDel(t, key); });
  }
  int64_t Pttl(const std::string& key) {
    return Do([&](Txn& t) { return keys::Ttl(t, key, 1); });
  }
  int64_t Exists(const std::string& key) {
    return Do([&](Txn& t) { return keys::Exists(t, {key}); });
  }
  KeyType Type(const std::string& key) {
    return Do([&](Txn& t) { return keys::Type(t, key); });
  }
  int64_t Now() const { return clock_.NowMs(); }
};

// --- GET / SET ----------------------------------------------------------------------

TEST_F(StringsTest, GetOfMissingKeyIsNotFound) {
  auto r = Run([](Txn& t) { return strings::Get(t, "missing"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
}

TEST_F(StringsTest, SetThenGetRoundTrips) {
  auto r = Set("k", "hello");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->written);
  EXPECT_FALSE(r->old_value.has_value());
  EXPECT_EQ(Get("k"), "hello");
  EXPECT_EQ(Exists("k"), 1);
  EXPECT_EQ(Type("k"), KeyType::kString);
}

TEST_F(StringsTest, ValuesAndKeysAreBinarySafe) {
  const std::string bin_key("k\0ey\xff", 5);
  const std::string bin_value("a\0b\xff\r\n", 6);
  Put(bin_key, bin_value);
  EXPECT_EQ(Get(bin_key), bin_value);
  EXPECT_EQ(Get("k"), std::nullopt);  // the key is not truncated at the NUL

  Put("empty", "");
  EXPECT_EQ(Get("empty"), std::optional<std::string>(""));
  EXPECT_EQ(Exists("empty"), 1);

  Put("", "empty key");
  EXPECT_EQ(Get(""), "empty key");

  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
  Put("big", big);
  EXPECT_EQ(Get("big"), big);
}

TEST_F(StringsTest, SetOverwritesExistingValue) {
  Put("k", "v1");
  Put("k", "v2");
  EXPECT_EQ(Get("k"), "v2");
  EXPECT_EQ(store().DbSize(0), 1);
}

TEST_F(StringsTest, SetGetReturnsOldValue) {
  strings::SetOptions o;
  o.get = true;
  auto first = Set("k", "v1", o);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->written);
  EXPECT_EQ(first->old_value, std::nullopt);

  auto second = Set("k", "v2", o);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_TRUE(second->written);
  EXPECT_EQ(second->old_value, "v1");
  EXPECT_EQ(Get("k"), "v2");
}

TEST_F(StringsTest, SetNxWritesOnlyWhenAbsent) {
  strings::SetOptions nx;
  nx.condition = Condition::kNX;
  auto r = Set("k", "first", nx);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->written);
  EXPECT_EQ(Get("k"), "first");

  r = Set("k", "second", nx);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->written);
  EXPECT_EQ(Get("k"), "first");
}

TEST_F(StringsTest, SetXxWritesOnlyWhenPresent) {
  strings::SetOptions xx;
  xx.condition = Condition::kXX;
  auto r = Set("k", "v", xx);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->written);
  EXPECT_EQ(Exists("k"), 0);
  EXPECT_EQ(store().DbSize(0), 0);

  Put("k", "old");
  r = Set("k", "new", xx);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->written);
  EXPECT_EQ(Get("k"), "new");
}

TEST_F(StringsTest, SetNxGetReturnsOldValueWithoutWriting) {
  strings::SetOptions o;
  o.condition = Condition::kNX;
  o.get = true;
  Put("k", "old");
  auto r = Set("k", "new", o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->written);
  EXPECT_EQ(r->old_value, "old");
  EXPECT_EQ(Get("k"), "old");

  r = Set("fresh", "v", o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->written);
  EXPECT_EQ(r->old_value, std::nullopt);
  EXPECT_EQ(Get("fresh"), "v");
}

TEST_F(StringsTest, SetXxGetOnMissingKeyWritesNothing) {
  strings::SetOptions o;
  o.condition = Condition::kXX;
  o.get = true;
  auto r = Set("k", "v", o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->written);
  EXPECT_EQ(r->old_value, std::nullopt);
  EXPECT_EQ(Exists("k"), 0);

  Put("k", "old");
  r = Set("k", "new", o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->written);
  EXPECT_EQ(r->old_value, "old");
  EXPECT_EQ(Get("k"), "new");
}

TEST_F(StringsTest, SetGetOnListIsWrongTypeAndLeavesListIntact) {
  MakeList("l", {"a", "b"});
  for (Condition c : {Condition::kAlways, Condition::kNX, Condition::kXX}) {
    strings::SetOptions o;
    o.condition = c;
    o.get = true;
    auto r = Set("l", "v", o);
    ASSERT_FALSE(r.ok()) << "condition " << static_cast<int>(c);
    EXPECT_TRUE(IsError(r.status(), Status::Code::kWrongType, kWrongTypeMsg))
        << "condition " << static_cast<int>(c);
  }
  EXPECT_EQ(Type("l"), KeyType::kList);
  EXPECT_EQ(Range("l"), (std::vector<std::string>{"a", "b"}));
}

TEST_F(StringsTest, SetWithoutGetOverwritesList) {
  MakeList("l", {"a", "b", "c"});
  auto r = Set("l", "now a string");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->written);
  EXPECT_EQ(Type("l"), KeyType::kString);
  EXPECT_EQ(Get("l"), "now a string");
  EXPECT_EQ(store().DbSize(0), 1);

  auto push = Run([](Txn& t) { return lists::Push(t, "l", ListEnd::kRight, {"x"}); });
  EXPECT_TRUE(IsError(push.status(), Status::Code::kWrongType, kWrongTypeMsg));

  // A new list under the same name does not see the old elements.
  EXPECT_EQ(Do([](Txn& t) { return keys::Del(t, {"l"}); }), 1);
  MakeList("l", {"new"});
  EXPECT_EQ(Range("l"), std::vector<std::string>{"new"});
}

TEST_F(StringsTest, SetNxAndXxTreatAListAsAnExistingKey) {
  MakeList("l", {"a"});
  strings::SetOptions nx;
  nx.condition = Condition::kNX;
  auto r = Set("l", "v", nx);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->written);
  EXPECT_EQ(Type("l"), KeyType::kList);

  strings::SetOptions xx;
  xx.condition = Condition::kXX;
  r = Set("l", "v", xx);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->written);
  EXPECT_EQ(Type("l"), KeyType::kString);
  EXPECT_EQ(Get("l"), "v");
}

TEST_F(StringsTest, SetWithDeadlineSetsTtl) {
  strings::SetOptions o;
  o.expire_at_ms = Now() + 10'000;
  auto r = Set("k", "v", o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->written);
  EXPECT_EQ(Pttl("k"), 10'000);
  EXPECT_EQ(Do([](Txn& t) { return keys::Ttl(t, "k", 1000); }), 10);
  EXPECT_EQ(Do([](Txn& t) { return keys::ExpireTime(t, "k", 1); }), Now() + 10'000);
}

TEST_F(StringsTest, SetWithoutKeepTtlClearsTtl) {
  PutWithTtl("k", "v1", 10'000);
  Put("k", "v2");
  EXPECT_EQ(Pttl("k"), -1);
  EXPECT_EQ(Get("k"), "v2");
}

TEST_F(StringsTest, SetKeepTtlKeepsDeadline) {
  PutWithTtl("k", "v1", 10'000);
  clock_.Advance(3'000);
  strings::SetOptions keep;
  keep.keep_ttl = true;
  auto r = Set("k", "v2", keep);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->written);
  EXPECT_EQ(Get("k"), "v2");
  EXPECT_EQ(Pttl("k"), 7'000);

  // KEEPTTL on a key without a TTL, or a missing key, gives no TTL.
  Put("plain", "p");
  ASSERT_TRUE(Set("plain", "q", keep).ok());
  EXPECT_EQ(Pttl("plain"), -1);
  ASSERT_TRUE(Set("fresh", "f", keep).ok());
  EXPECT_EQ(Get("fresh"), "f");
  EXPECT_EQ(Pttl("fresh"), -1);
}

TEST_F(StringsTest, SetNxFailureKeepsExistingTtl) {
  PutWithTtl("k", "v", 10'000);
  strings::SetOptions o;
  o.condition = Condition::kNX;
  o.expire_at_ms = Now() + 99'000;
  auto r = Set("k", "other", o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->written);
  EXPECT_EQ(Pttl("k"), 10'000);
  EXPECT_EQ(Get("k"), "v");
}

TEST_F(StringsTest, SetWithPastDeadlineLeavesNoVisibleKey) {
  strings::SetOptions o;
  o.expire_at_ms = Now() - 1;
  auto r = Set("k", "v", o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Get("k"), std::nullopt);
  EXPECT_EQ(Exists("k"), 0);
  EXPECT_EQ(Pttl("k"), -2);
}

// --- Deadlines for SET/GETEX (EX/PX/EXAT/PXAT) ----------------------------------------

TEST_F(StringsTest, DeadlineFromRelativeConvertsUnits) {
  auto ex = Run([](Txn& t) { return strings::DeadlineFromRelative(t, 10, 1000, "set"); });
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  EXPECT_EQ(*ex, Now() + 10'000);
  auto px = Run([](Txn& t) { return strings::DeadlineFromRelative(t, 10, 1, "set"); });
  ASSERT_TRUE(px.ok()) << px.status().message();
  EXPECT_EQ(*px, Now() + 10);
}

TEST_F(StringsTest, DeadlineFromRelativeRejectsInvalidTimes) {
  const std::string msg = "ERR invalid expire time in 'set' command";
  struct Case {
    int64_t amount;
    int64_t unit_ms;
  };
  const Case cases[] = {
      {0, 1000},                // EX 0
      {0, 1},                   // PX 0
      {-1, 1000},               // EX -1
      {-5, 1},                  // PX -5
      {kMin, 1000},             // very negative
      {kMax / 1000 + 1, 1000},  // the unit conversion overflows
      {kMax / 1000, 1000},      // adding the current time overflows
      {kMax, 1},                // adding the current time overflows
  };
  for (const Case& c : cases) {
    auto r =
        Run([&](Txn& t) { return strings::DeadlineFromRelative(t, c.amount, c.unit_ms, "set"); });
    ASSERT_FALSE(r.ok()) << c.amount << " * " << c.unit_ms;
    EXPECT_TRUE(IsError(r.status(), Status::Code::kInvalidArgument, msg))
        << c.amount << " * " << c.unit_ms;
  }
  auto getex = Run([](Txn& t) { return strings::DeadlineFromRelative(t, 0, 1000, "getex"); });
  EXPECT_TRUE(IsError(getex.status(), Status::Code::kInvalidArgument,
                      "ERR invalid expire time in 'getex' command"));
}

TEST_F(StringsTest, DeadlineFromAbsoluteConvertsUnits) {
  auto exat = strings::DeadlineFromAbsolute(1'800'000'000, 1000, "set");
  ASSERT_TRUE(exat.ok()) << exat.status().message();
  EXPECT_EQ(*exat, 1'800'000'000'000);
  auto pxat = strings::DeadlineFromAbsolute(1'800'000'000'123, 1, "set");
  ASSERT_TRUE(pxat.ok()) << pxat.status().message();
  EXPECT_EQ(*pxat, 1'800'000'000'123);
  // A positive time in the past is valid (the key is then expired).
  auto past = strings::DeadlineFromAbsolute(5, 1, "set");
  ASSERT_TRUE(past.ok()) << past.status().message();
  EXPECT_EQ(*past, 5);
  auto max = strings::DeadlineFromAbsolute(kMax, 1, "set");
  ASSERT_TRUE(max.ok()) << max.status().message();
  EXPECT_EQ(*max, kMax);
}

TEST_F(StringsTest, DeadlineFromAbsoluteRejectsInvalidTimes) {
  const std::string msg = "ERR invalid expire time in 'set' command";
  EXPECT_TRUE(IsError(strings::DeadlineFromAbsolute(0, 1000, "set").status(),
                      Status::Code::kInvalidArgument, msg));
  EXPECT_TRUE(IsError(strings::DeadlineFromAbsolute(0, 1, "set").status(),
                      Status::Code::kInvalidArgument, msg));
  EXPECT_TRUE(IsError(strings::DeadlineFromAbsolute(-1, 1000, "set").status(),
                      Status::Code::kInvalidArgument, msg));
  EXPECT_TRUE(IsError(strings::DeadlineFromAbsolute(kMax / 1000 + 1, 1000, "set").status(),
                      Status::Code::kInvalidArgument, msg));
}

// --- GETDEL / GETEX ------------------------------------------------------------------

TEST_F(StringsTest, GetDelReturnsValueAndDeletes) {
  Put("k", "v");
  auto r = GetDel("k");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "v");
  EXPECT_EQ(Exists("k"), 0);
  EXPECT_EQ(store().DbSize(0), 0);

  r = GetDel("k");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
}

TEST_F(StringsTest, GetDelOnListIsWrongTypeAndKeepsList) {
  MakeList("l", {"a"});
  auto r = GetDel("l");
  EXPECT_TRUE(IsError(r.status(), Status::Code::kWrongType, kWrongTypeMsg));
  EXPECT_EQ(Type("l"), KeyType::kList);
  EXPECT_EQ(Range("l"), std::vector<std::string>{"a"});
}

TEST_F(StringsTest, GetExWithoutOptionsLeavesTtl) {
  PutWithTtl("k", "v", 10'000);
  auto r = GetEx("k", {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "v");
  EXPECT_EQ(Pttl("k"), 10'000);

  Put("plain", "p");
  ASSERT_TRUE(GetEx("plain", {}).ok());
  EXPECT_EQ(Pttl("plain"), -1);
}

TEST_F(StringsTest, GetExSetsDeadline) {
  Put("k", "v");
  strings::GetExOptions o;
  o.expire_at_ms = Now() + 5'000;
  auto r = GetEx("k", o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "v");
  EXPECT_EQ(Pttl("k"), 5'000);
}

TEST_F(StringsTest, GetExPersistRemovesTtl) {
  PutWithTtl("k", "v", 10'000);
  strings::GetExOptions o;
  o.persist = true;
  auto r = GetEx("k", o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "v");
  EXPECT_EQ(Pttl("k"), -1);
  EXPECT_EQ(Get("k"), "v");
}

TEST_F(StringsTest, GetExWithPastDeadlineReturnsValueThenDeletes) {
  Put("k", "v");
  strings::GetExOptions o;
  o.expire_at_ms = Now() - 1'000;
  auto r = GetEx("k", o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "v");
  EXPECT_EQ(Exists("k"), 0);
  EXPECT_EQ(Get("k"), std::nullopt);
}

TEST_F(StringsTest, GetExOfMissingKeyIsNotFoundAndCreatesNothing) {
  strings::GetExOptions o;
  o.expire_at_ms = Now() + 5'000;
  auto r = GetEx("missing", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(Exists("missing"), 0);
}

TEST_F(StringsTest, GetExOnListIsWrongTypeAndSetsNoTtl) {
  MakeList("l", {"a"});
  strings::GetExOptions o;
  o.expire_at_ms = Now() + 5'000;
  EXPECT_TRUE(IsError(GetEx("l", o).status(), Status::Code::kWrongType, kWrongTypeMsg));
  EXPECT_EQ(Pttl("l"), -1);
}

// --- MGET / MSET / MSETNX --------------------------------------------------------------

TEST_F(StringsTest, MGetReturnsNilForMissingKeysAndNonStrings) {
  Put("a", "1");
  Put("b", "2");
  MakeList("l", {"x"});
  auto got = Do([](Txn& t) { return strings::MGet(t, {"a", "missing", "l", "b", "a"}); });
  std::vector<std::optional<std::string>> want = {"1", std::nullopt, std::nullopt, "2", "1"};
  EXPECT_EQ(got, want);
}

TEST_F(StringsTest, MSetWritesAllClearsTtlsAndOverwritesLists) {
  PutWithTtl("a", "old", 10'000);
  MakeList("l", {"x", "y"});
  Status s = store().Exec(0, [](Txn& t) {
    strings::MSet(t, {{"a", "1"}, {"b", "2"}, {"l", "3"}, {"b", "22"}});
  });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Get("a"), "1");
  EXPECT_EQ(Pttl("a"), -1);
  EXPECT_EQ(Get("b"), "22");  // a repeated key: the last value wins
  EXPECT_EQ(Type("l"), KeyType::kString);
  EXPECT_EQ(Get("l"), "3");
  EXPECT_EQ(store().DbSize(0), 3);
}

TEST_F(StringsTest, MSetNxWritesAllOrNothing) {
  EXPECT_TRUE(Do([](Txn& t) { return strings::MSetNX(t, {{"x", "1"}, {"y", "2"}}); }));
  EXPECT_EQ(Get("x"), "1");
  EXPECT_EQ(Get("y"), "2");

  EXPECT_FALSE(Do([](Txn& t) { return strings::MSetNX(t, {{"z", "9"}, {"y", "9"}}); }));
  EXPECT_EQ(Get("y"), "2");
  EXPECT_EQ(Exists("z"), 0);

  MakeList("l", {"a"});
  EXPECT_FALSE(Do([](Txn& t) { return strings::MSetNX(t, {{"w", "1"}, {"l", "1"}}); }));
  EXPECT_EQ(Type("l"), KeyType::kList);
  EXPECT_EQ(Exists("w"), 0);
  EXPECT_EQ(store().DbSize(0), 3);
}

// --- Integers --------------------------------------------------------------------------

TEST_F(StringsTest, ParseInt64AcceptsRedisIntegers) {
  struct Case {
    std::string text;
    int64_t want;
  };
  const Case cases[] = {
      {"0", 0},
      {"1", 1},
      {"-1", -1},
      {"123456789", 123456789},
      {"9223372036854775807", kMax},
      {"-9223372036854775808", kMin},
  };
  for (const Case& c : cases) {
    int64_t v = 42;
    EXPECT_TRUE(strings::ParseInt64(c.text, &v)) << c.text;
    EXPECT_EQ(v, c.want) << c.text;
  }
}

const std::vector<std::string>& NotIntegers() {
  static const std::vector<std::string> kValues = {
      "",
      " ",
      "-",
      "  1",
      " 1",
      "1 ",
      "+1",
      "01",
      "00",
      "-0",
      "-01",
      "1.0",
      "1e3",
      "0x10",
      "abc",
      "1a",
      std::string("1\0", 2),
      "9223372036854775808",
      "-9223372036854775809",
      "99999999999999999999",
      "123456789012345678901234",
  };
  return kValues;
}

TEST_F(StringsTest, ParseInt64RejectsWhatRedisRejects) {
  for (const std::string& text : NotIntegers()) {
    int64_t v = 0;
    EXPECT_FALSE(strings::ParseInt64(text, &v)) << "\"" << text << "\"";
  }
}

TEST_F(StringsTest, IncrByCreatesMissingKey) {
  auto r = IncrBy("n", 1);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 1);
  EXPECT_EQ(Get("n"), "1");
  EXPECT_EQ(Type("n"), KeyType::kString);

  r = IncrBy("m", -5);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, -5);
  EXPECT_EQ(Get("m"), "-5");
}

TEST_F(StringsTest, IncrByUpdatesStoredValue) {
  Put("n", "10");
  EXPECT_EQ(IncrBy("n", 1).value(), 11);
  EXPECT_EQ(IncrBy("n", -3).value(), 8);
  EXPECT_EQ(IncrBy("n", 0).value(), 8);
  EXPECT_EQ(IncrBy("n", 1000).value(), 1008);
  EXPECT_EQ(Get("n"), "1008");

  Put("neg", "-10");
  EXPECT_EQ(IncrBy("neg", 25).value(), 15);
  EXPECT_EQ(Get("neg"), "15");
  EXPECT_EQ(IncrBy("neg", -15).value(), 0);
  EXPECT_EQ(Get("neg"), "0");
}

TEST_F(StringsTest, IncrByRejectsNonIntegerValues) {
  int i = 0;
  for (const std::string& text : NotIntegers()) {
    const std::string key = "bad" + std::to_string(i++);
    Put(key, text);
    auto r = IncrBy(key, 1);
    ASSERT_FALSE(r.ok()) << "\"" << text << "\"";
    EXPECT_TRUE(IsError(r.status(), Status::Code::kNotInteger, kNotIntegerMsg))
        << "\"" << text << "\"";
    EXPECT_EQ(Get(key), text);
  }
}

TEST_F(StringsTest, IncrByReachesInt64Limits) {
  Put("max", "9223372036854775806");
  EXPECT_EQ(IncrBy("max", 1).value(), kMax);
  EXPECT_EQ(Get("max"), "9223372036854775807");
  Put("min", "-9223372036854775807");
  EXPECT_EQ(IncrBy("min", -1).value(), kMin);
  EXPECT_EQ(Get("min"), "-9223372036854775808");

  EXPECT_EQ(IncrBy("from_zero", kMin).value(), kMin);
  EXPECT_EQ(IncrBy("from_zero2", kMax).value(), kMax);
  Put("neg1", "-1");
  EXPECT_EQ(IncrBy("neg1", kMax).value(), kMax - 1);
  Put("min2", "-9223372036854775808");
  EXPECT_EQ(IncrBy("min2", kMax).value(), -1);
}

TEST_F(StringsTest, IncrByOverflowIsAnErrorAndKeepsValue) {
  struct Case {
    std::string value;
    int64_t delta;
  };
  const Case cases[] = {
      {"9223372036854775807", 1},   {"1", kMax},  {"9223372036854775000", 1000},
      {"-9223372036854775808", -1}, {"-1", kMin}, {"-9223372036854775000", -1000},
  };
  int i = 0;
  for (const Case& c : cases) {
    const std::string key = "o" + std::to_string(i++);
    Put(key, c.value);
    auto r = IncrBy(key, c.delta);
    ASSERT_FALSE(r.ok()) << c.value << " + " << c.delta;
    EXPECT_TRUE(IsError(r.status(), Status::Code::kOverflow, kOverflowMsg))
        << c.value << " + " << c.delta;
    EXPECT_EQ(Get(key), c.value);
  }
}

TEST_F(StringsTest, IncrByKeepsTtl) {
  PutWithTtl("n", "5", 10'000);
  EXPECT_EQ(IncrBy("n", 1).value(), 6);
  EXPECT_EQ(Pttl("n"), 10'000);
}

TEST_F(StringsTest, IncrByFloatFormatsAsRedis) {
  Put("f", "10.50");
  auto r = IncrByFloat("f", "0.1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "10.6");
  EXPECT_EQ(Get("f"), "10.6");
  r = IncrByFloat("f", "-5");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "5.6");

  Put("e", "5.0e3");
  r = IncrByFloat("e", "2.0e2");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "5200");

  r = IncrByFloat("new", "3.0");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "3");
  EXPECT_EQ(Get("new"), "3");

  Put("i", "7");
  r = IncrByFloat("i", "1.5");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "8.5");
}

TEST_F(StringsTest, IncrByFloatErrors) {
  const std::string not_float = "ERR value is not a valid float";
  Put("s", "abc");
  EXPECT_TRUE(IsError(IncrByFloat("s", "1").status(), Status::Code::kInvalidArgument, not_float));
  EXPECT_EQ(Get("s"), "abc");
  Put("n", "1");
  EXPECT_TRUE(IsError(IncrByFloat("n", "abc").status(), Status::Code::kInvalidArgument, not_float));
  EXPECT_TRUE(IsError(IncrByFloat("n", " 1").status(), Status::Code::kInvalidArgument, not_float));
  EXPECT_TRUE(IsError(IncrByFloat("n", "").status(), Status::Code::kInvalidArgument, not_float));
  EXPECT_TRUE(IsError(IncrByFloat("n", "inf").status(), Status::Code::kInvalidArgument,
                      "ERR increment would produce NaN or Infinity"));
  EXPECT_EQ(Get("n"), "1");
  MakeList("l", {"a"});
  EXPECT_TRUE(IsError(IncrByFloat("l", "1").status(), Status::Code::kWrongType, kWrongTypeMsg));
}

// --- APPEND / STRLEN / GETRANGE / SETRANGE --------------------------------------------

TEST_F(StringsTest, AppendCreatesMissingKeyAndExtends) {
  auto r = Append("a", "Hello");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(Get("a"), "Hello");
  r = Append("a", " World");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 11);
  EXPECT_EQ(Get("a"), "Hello World");

  // APPEND of an empty string still creates the key (as an empty string).
  r = Append("e", "");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 0);
  EXPECT_EQ(Exists("e"), 1);
  EXPECT_EQ(Get("e"), std::optional<std::string>(""));
}

TEST_F(StringsTest, AppendToIntegerAppendsDecimalText) {
  ASSERT_EQ(IncrBy("n", 42).value(), 42);
  EXPECT_EQ(Append("n", "x").value(), 3);
  EXPECT_EQ(Get("n"), "42x");
}

TEST_F(StringsTest, AppendKeepsTtl) {
  PutWithTtl("a", "x", 10'000);
  EXPECT_EQ(Append("a", "y").value(), 2);
  EXPECT_EQ(Pttl("a"), 10'000);
}

TEST_F(StringsTest, StrLenCountsBytes) {
  EXPECT_EQ(StrLen("missing").value(), 0);
  Put("s", "Hello World");
  EXPECT_EQ(StrLen("s").value(), 11);
  Put("b", std::string("a\0b\0", 4));
  EXPECT_EQ(StrLen("b").value(), 4);
  Put("e", "");
  EXPECT_EQ(StrLen("e").value(), 0);
}

TEST_F(StringsTest, GetRangeFollowsRedisIndexRules) {
  Put("s", "This is a string");
  struct Case {
    int64_t start, end;
    std::string want;
  };
  const Case cases[] = {
      {0, 3, "This"},
      {-3, -1, "ing"},
      {0, -1, "This is a string"},
      {10, 100, "string"},
      {5, 3, ""},
      {-1, -5, ""},
      {100, 200, ""},
      {-100, 3, "This"},
      {15, 15, "g"},
      {-16, -16, "T"},
      {0, kMax, "This is a string"},
  };
  for (const Case& c : cases) {
    auto r = GetRange("s", c.start, c.end);
    ASSERT_TRUE(r.ok()) << c.start << ".." << c.end << ": " << r.status().message();
    EXPECT_EQ(*r, c.want) << c.start << ".." << c.end;
  }
}

TEST_F(StringsTest, GetRangeOfMissingKeyIsEmpty) {
  // Redis replies with an empty string; the store may report it as "" or as NotFound.
  auto r = GetRange("missing", 0, -1);
  if (r.ok()) {
    EXPECT_EQ(*r, "");
  } else {
    EXPECT_EQ(r.status().code(), Status::Code::kNotFound) << r.status().message();
  }
  EXPECT_EQ(Exists("missing"), 0);
}

TEST_F(StringsTest, SetRangeOverwritesAndPads) {
  Put("s", "Hello World");
  auto r = SetRange("s", 6, "Redis");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 11);
  EXPECT_EQ(Get("s"), "Hello Redis");

  r = SetRange("s", 11, "!!");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 13);
  EXPECT_EQ(Get("s"), "Hello Redis!!");

  Put("p", "ab");
  r = SetRange("p", 4, "c");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(Get("p"), std::string("ab\0\0c", 5));

  r = SetRange("new", 5, "x");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 6);
  EXPECT_EQ(Get("new"), std::string("\0\0\0\0\0x", 6));
}

TEST_F(StringsTest, SetRangeWithEmptyValue) {
  // On a missing key: 0 and no key is created.
  auto r = SetRange("missing", 3, "");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 0);
  EXPECT_EQ(Exists("missing"), 0);
  // On an existing key: its length, value unchanged.
  Put("s", "abc");
  r = SetRange("s", 10, "");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 3);
  EXPECT_EQ(Get("s"), "abc");
}

TEST_F(StringsTest, SetRangeErrors) {
  auto r = SetRange("k", -1, "x");
  EXPECT_TRUE(IsError(r.status(), Status::Code::kInvalidArgument, "ERR offset is out of range"));
  EXPECT_EQ(Exists("k"), 0);

  // 512 MB (proto-max-bulk-len) is the largest string.
  r = SetRange("k", 512LL * 1024 * 1024, "x");
  EXPECT_TRUE(IsError(r.status(), Status::Code::kInvalidArgument,
                      "ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
  EXPECT_EQ(Exists("k"), 0);

  // Offsets whose sum with the value's length overflows int64 are refused the same way
  // (Redis's string.tcl "SETRANGE with huge offset"; they used to crash the server).
  for (int64_t offset : {INT64_MAX, INT64_MAX - 1, int64_t{2147483647}}) {
    r = SetRange("k", offset, "A");
    EXPECT_TRUE(IsError(r.status(), Status::Code::kInvalidArgument,
                        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
        << offset;
  }
  EXPECT_EQ(Exists("k"), 0);
}

TEST_F(StringsTest, SetRangeKeepsTtl) {
  PutWithTtl("s", "abc", 10'000);
  EXPECT_EQ(SetRange("s", 1, "X").value(), 3);
  EXPECT_EQ(Get("s"), "aXc");
  EXPECT_EQ(Pttl("s"), 10'000);
}

// --- WRONGTYPE -------------------------------------------------------------------------

TEST_F(StringsTest, ListKeyUsedAsStringIsWrongTypeEverywhere) {
  MakeList("l", {"a", "b"});
  strings::SetOptions set_get;
  set_get.get = true;
  strings::GetExOptions persist;
  persist.persist = true;
  std::vector<std::pair<std::string, Status>> got;
  got.emplace_back("GET", Run([](Txn& t) { return strings::Get(t, "l"); }).status());
  got.emplace_back("SET GET", Set("l", "v", set_get).status());
  got.emplace_back("GETDEL", GetDel("l").status());
  got.emplace_back("GETEX", GetEx("l", {}).status());
  got.emplace_back("GETEX PERSIST", GetEx("l", persist).status());
  got.emplace_back("INCR", IncrBy("l", 1).status());
  got.emplace_back("DECRBY", IncrBy("l", -7).status());
  got.emplace_back("INCRBYFLOAT", IncrByFloat("l", "1.5").status());
  got.emplace_back("APPEND", Append("l", "x").status());
  got.emplace_back("STRLEN", StrLen("l").status());
  got.emplace_back("GETRANGE", GetRange("l", 0, -1).status());
  got.emplace_back("SETRANGE", SetRange("l", 0, "x").status());
  for (const auto& [name, status] : got) {
    EXPECT_TRUE(IsError(status, Status::Code::kWrongType, kWrongTypeMsg)) << name;
  }
  // Nothing above changed the list.
  EXPECT_EQ(Type("l"), KeyType::kList);
  EXPECT_EQ(Range("l"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Pttl("l"), -1);
}

// --- Logical databases -----------------------------------------------------------------

TEST_F(StringsTest, DatabasesAreIndependent) {
  Put("k", "zero");
  auto r = Run([](Txn& t) { return strings::Set(t, "k", "seven"); }, 7);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Get("k"), "zero");
  EXPECT_EQ(Get("k", 7), "seven");
  EXPECT_EQ(Get("k", 3), std::nullopt);

  auto incr = Run([](Txn& t) { return strings::IncrBy(t, "n", 5); }, 15);
  ASSERT_TRUE(incr.ok()) << incr.status().message();
  EXPECT_EQ(*incr, 5);
  EXPECT_EQ(Get("n"), std::nullopt);
  EXPECT_EQ(Get("n", 15), "5");
}

}  // namespace
}  // namespace redge::store
