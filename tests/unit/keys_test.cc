// Unit tests of store/keys.h (DEL, EXISTS, EXPIRE family, TTL family, PERSIST, TYPE, KEYS,
// SCAN, RENAME) and of the whole-database operations of store/store.h (DBSIZE, FLUSHDB,
// FLUSHALL, restart, reclaiming a deleted list's elements by compaction), with Redis's
// semantics, against a real Store in a temporary directory (tests/unit/store_fixture.h).
#include "store/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/lists.h"
#include "store/status.h"
#include "store/store.h"
#include "store/strings.h"
#include "store/txn.h"
#include "tests/unit/store_fixture.h"

namespace redge::store {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

constexpr char kWrongTypeMsg[] =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

using Strings = std::vector<std::string>;

Strings Sorted(Strings v) {
  std::sort(v.begin(), v.end());
  return v;
}

using testing::IsError;

class KeysTest : public testing::StoreTest {
 protected:
  void PutWithTtl(const std::string& key, const std::string& value, int64_t ttl_ms) {
    strings::SetOptions o;
    o.expire_at_ms = Now() + ttl_ms;
    auto r = Run([&](Txn& t) { return strings::Set(t, key, value, o); });
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  void MakeList(const std::string& key, const Strings& values, int db = 0) {
    auto r = Run([&](Txn& t) { return lists::Push(t, key, ListEnd::kRight, values); }, db);
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  Strings Range(const std::string& key, int db = 0) {
    auto r = Run([&](Txn& t) { return lists::Range(t, key, 0, -1); }, db);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : Strings{};
  }
  int64_t Del(const Strings& names, int db = 0) {
    return Do([&](Txn& t) { return keys::Del(t, names); }, db);
  }
  int64_t Exists(const Strings& names, int db = 0) {
    return Do([&](Txn& t) { return keys::Exists(t, names); }, db);
  }
  KeyType Type(const std::string& key, int db = 0) {
    return Do([&](Txn& t) { return keys::Type(t, key); }, db);
  }
  int64_t Pttl(const std::string& key, int db = 0) {
    return Do([&](Txn& t) { return keys::Ttl(t, key, 1); }, db);
  }
  int64_t Ttl(const std::string& key) {
    return Do([&](Txn& t) { return keys::Ttl(t, key, 1000); });
  }
  Result<bool> ExpireAt(const std::string& key, int64_t deadline_ms,
                        const keys::ExpireFlags& flags = {}) {
    return Run([&](Txn& t) { return keys::ExpireAt(t, key, deadline_ms, flags); });
  }
  // KEYS, sorted.
  Strings Keys(const std::string& pattern, int db = 0) {
    return Sorted(Do([&](Txn& t) { return keys::Keys(t, pattern); }, db));
  }
  // Runs SCAN from cursor 0 until it returns 0; every key returned, in order, repeats
  // included. `after_page` runs between calls (to change the key space mid-scan).
  Strings ScanAll(const std::string& pattern, const std::string& type, int64_t count,
                  int* calls = nullptr, const std::function<void()>& after_page = nullptr) {
    Strings out;
    uint64_t cursor = 0;
    for (int n = 1; n <= 1'000'000; ++n) {
      auto page = Run([&](Txn& t) { return keys::Scan(t, cursor, pattern, count, type); });
      EXPECT_TRUE(page.ok()) << page.status().message();
      if (!page.ok()) return out;
      out.insert(out.end(), page->keys.begin(), page->keys.end());
      cursor = page->next_cursor;
      if (calls != nullptr) *calls = n;
      if (cursor == 0) return out;
      if (after_page) after_page();
    }
    ADD_FAILURE() << "SCAN did not reach cursor 0";
    return out;
  }
  // Pushes `n` elements "prefix0".."prefix<n-1>" to the right of `key`, in batches.
  void PushMany(const std::string& key, int n, const std::string& prefix) {
    constexpr int kBatch = 10'000;
    for (int start = 0; start < n; start += kBatch) {
      Strings values;
      for (int i = start; i < std::min(n, start + kBatch); ++i) {
        values.push_back(prefix + std::to_string(i));
      }
      auto r = Run([&](Txn& t) { return lists::Push(t, key, ListEnd::kRight, values); });
      ASSERT_TRUE(r.ok()) << r.status().message();
      ASSERT_EQ(*r, std::min(n, start + kBatch));
    }
  }
  int64_t Now() const { return clock_.NowMs(); }
};

// --- DEL / EXISTS / TYPE ---------------------------------------------------------------

TEST_F(KeysTest, DelCountsRemovedKeys) {
  Put("a", "1");
  Put("b", "2");
  MakeList("l", {"x", "y"});
  EXPECT_EQ(Del({"a", "missing", "l"}), 2);
  EXPECT_EQ(Get("a"), std::nullopt);
  EXPECT_EQ(Type("l"), KeyType::kNone);
  EXPECT_EQ(Range("l"), Strings{});
  EXPECT_EQ(Get("b"), "2");
  EXPECT_EQ(store().DbSize(0), 1);

  // A key named twice is deleted once.
  EXPECT_EQ(Del({"b", "b"}), 1);
  EXPECT_EQ(Del({"b"}), 0);
  EXPECT_EQ(store().DbSize(0), 0);
}

TEST_F(KeysTest, ExistsCountsRepeats) {
  Put("a", "1");
  MakeList("l", {"x"});
  EXPECT_EQ(Exists({"a"}), 1);
  EXPECT_EQ(Exists({"a", "a"}), 2);
  EXPECT_EQ(Exists({"a", "a", "l", "missing", "l", "a"}), 5);
  EXPECT_EQ(Exists({"missing", "missing"}), 0);
}

TEST_F(KeysTest, TypeNamesEachKind) {
  Put("s", "v");
  MakeList("l", {"x"});
  EXPECT_EQ(Type("s"), KeyType::kString);
  EXPECT_EQ(Type("l"), KeyType::kList);
  EXPECT_EQ(Type("missing"), KeyType::kNone);
  EXPECT_STREQ(KeyTypeName(KeyType::kString), "string");
  EXPECT_STREQ(KeyTypeName(KeyType::kList), "list");
  EXPECT_STREQ(KeyTypeName(KeyType::kNone), "none");
}

TEST_F(KeysTest, ListEmptiedByPopsNoLongerExists) {
  MakeList("l", {"a", "b"});
  auto r = Run([](Txn& t) { return lists::Pop(t, "l", ListEnd::kLeft, 2); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (Strings{"a", "b"}));
  EXPECT_EQ(Exists({"l"}), 0);
  EXPECT_EQ(Type("l"), KeyType::kNone);
  EXPECT_EQ(Keys("*"), Strings{});
  EXPECT_EQ(store().DbSize(0), 0);
}

// --- KEYS glob rules -------------------------------------------------------------------

TEST_F(KeysTest, KeysMatchesRedisDocumentationExamples) {
  for (const char* k : {"hello", "hallo", "hxllo", "hllo", "heeeello"}) Put(k, "v");
  EXPECT_EQ(Keys("h?llo"), (Strings{"hallo", "hello", "hxllo"}));
  EXPECT_EQ(Keys("h*llo"), (Strings{"hallo", "heeeello", "hello", "hllo", "hxllo"}));
  EXPECT_EQ(Keys("h[ae]llo"), (Strings{"hallo", "hello"}));
  EXPECT_EQ(Keys("h[^e]llo"), (Strings{"hallo", "hxllo"}));
  EXPECT_EQ(Keys("h[a-b]llo"), (Strings{"hallo"}));
  EXPECT_EQ(Keys("h[b-a]llo"), (Strings{"hallo"}));  // reversed ranges are accepted
  EXPECT_EQ(Keys("*"), (Strings{"hallo", "heeeello", "hello", "hllo", "hxllo"}));
  EXPECT_EQ(Keys("hello"), (Strings{"hello"}));
  EXPECT_EQ(Keys("hell"), Strings{});
  EXPECT_EQ(Keys("?????"), (Strings{"hallo", "hello", "hxllo"}));
  EXPECT_EQ(Keys("*e*"), (Strings{"heeeello", "hello"}));
  EXPECT_EQ(Keys("h*l*o"), (Strings{"hallo", "heeeello", "hello", "hllo", "hxllo"}));
  EXPECT_EQ(Keys("x*"), Strings{});
}

TEST_F(KeysTest, KeysHonoursBackslashEscapes) {
  for (const char* k : {"a*b", "a?b", "a[b", "axb", "ab", "a]", "a\\b"}) Put(k, "v");
  EXPECT_EQ(Keys("a\\*b"), (Strings{"a*b"}));
  EXPECT_EQ(Keys("a\\?b"), (Strings{"a?b"}));
  EXPECT_EQ(Keys("a\\[b"), (Strings{"a[b"}));
  EXPECT_EQ(Keys("a\\\\b"), (Strings{"a\\b"}));
  EXPECT_EQ(Keys("a\\xb"), (Strings{"axb"}));  // an escaped ordinary byte is itself
  EXPECT_EQ(Keys("a*b"), (Strings{"a*b", "a?b", "a[b", "a\\b", "ab", "axb"}));
  EXPECT_EQ(Keys("a?b"), (Strings{"a*b", "a?b", "a[b", "a\\b", "axb"}));
  EXPECT_EQ(Keys("a?"), (Strings{"a]", "ab"}));
  // Inside brackets special characters are literal and \x is a literal x.
  EXPECT_EQ(Keys("a[*]b"), (Strings{"a*b"}));
  EXPECT_EQ(Keys("a[\\]]"), (Strings{"a]"}));
  EXPECT_EQ(Keys("a[?x]b"), (Strings{"a?b", "axb"}));
}

TEST_F(KeysTest, KeysNegatedAndRangeClasses) {
  for (const char* k : {"ax", "ay", "az", "a^", "a1", "a9"}) Put(k, "v");
  EXPECT_EQ(Keys("a[^x]"), (Strings{"a1", "a9", "a^", "ay", "az"}));
  EXPECT_EQ(Keys("a[^x-y]"), (Strings{"a1", "a9", "a^", "az"}));
  EXPECT_EQ(Keys("a[x^]"), (Strings{"a^", "ax"}));  // ^ is only special first
  EXPECT_EQ(Keys("a[0-9]"), (Strings{"a1", "a9"}));
  EXPECT_EQ(Keys("a[^0-9]"), (Strings{"a^", "ax", "ay", "az"}));
  EXPECT_EQ(Keys("a[xz]"), (Strings{"ax", "az"}));
}

TEST_F(KeysTest, KeysIsCaseSensitiveAndBinarySafe) {
  Put("hello", "v");
  Put("Hello", "v");
  Put(std::string("h\0llo", 5), "v");
  EXPECT_EQ(Keys("h*"), (Strings{std::string("h\0llo", 5), "hello"}));
  EXPECT_EQ(Keys("H*"), (Strings{"Hello"}));
  EXPECT_EQ(Keys("h?llo"), (Strings{std::string("h\0llo", 5), "hello"}));
}

TEST_F(KeysTest, KeysListsKeysNotListElements) {
  // Elements of list "a" must not look like keys, nor shadow keys sharing its prefix.
  Strings many;
  for (int i = 0; i < 50; ++i) many.push_back("element" + std::to_string(i));
  MakeList("a", many);
  Put("ab", "1");
  Put(std::string("a\0b", 3), "2");
  Put("b", "3");
  MakeList("a\xff", {"z"});
  const Strings want = Sorted({"a", "ab", std::string("a\0b", 3), "b", std::string("a\xff")});
  EXPECT_EQ(Keys("*"), want);
  EXPECT_EQ(Sorted(ScanAll("*", "", 10)), want);
  EXPECT_EQ(store().DbSize(0), 5);
  EXPECT_EQ(Range("a"), many);
  EXPECT_EQ(Get("ab"), "1");
  EXPECT_EQ(Get(std::string("a\0b", 3)), "2");
}

// --- SCAN ------------------------------------------------------------------------------

TEST_F(KeysTest, ScanOfEmptyDatabaseEndsAtOnce) {
  auto page = Run([](Txn& t) { return keys::Scan(t, 0, "*", 10, ""); });
  ASSERT_TRUE(page.ok()) << page.status().message();
  EXPECT_EQ(page->next_cursor, 0u);
  EXPECT_TRUE(page->keys.empty());
}

TEST_F(KeysTest, ScanVisitsEveryKeyOfThousands) {
  constexpr int kKeys = 3000;
  std::set<std::string> want;
  Status s = store().Exec(0, [&](Txn& t) {
    for (int i = 0; i < kKeys; ++i) {
      std::string key = "key:" + std::to_string(i);
      ASSERT_TRUE(strings::Set(t, key, std::to_string(i)).ok());
      want.insert(key);
    }
  });
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(store().DbSize(0), kKeys);

  int calls = 0;
  Strings got = ScanAll("*", "", 10, &calls);
  std::set<std::string> unique(got.begin(), got.end());
  EXPECT_EQ(unique, want);
  // COUNT 10 is a hint, but thousands of keys must not come back in a handful of calls.
  EXPECT_GT(calls, 10);

  // A bigger COUNT finds the same keys.
  got = ScanAll("*", "", 1000);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), want);
}

TEST_F(KeysTest, ScanMissesNoKeyPresentThroughoutWhileOthersChange) {
  std::set<std::string> stable;
  Status s = store().Exec(0, [&](Txn& t) {
    for (int i = 0; i < 2000; ++i) {
      std::string key = "stable:" + std::to_string(i);
      ASSERT_TRUE(strings::Set(t, key, "v").ok());
      stable.insert(key);
      ASSERT_TRUE(strings::Set(t, "volatile:" + std::to_string(i), "v").ok());
    }
  });
  ASSERT_TRUE(s.ok()) << s.message();
  int page = 0;
  Strings got = ScanAll("*", "", 20, nullptr, [&] {
    // Between pages: delete some keys and add new ones, all around the key space.
    Del({"volatile:" + std::to_string(page * 7 % 2000)});
    Put("new:" + std::to_string(page), "v");
    Put("a" + std::to_string(page), "v");
    Put("z" + std::to_string(page), "v");
    ++page;
  });
  std::set<std::string> unique(got.begin(), got.end());
  for (const std::string& key : stable) EXPECT_EQ(unique.count(key), 1u) << key;
}

TEST_F(KeysTest, ScanFiltersByPattern) {
  std::set<std::string> users;
  Status s = store().Exec(0, [&](Txn& t) {
    for (int i = 0; i < 1000; ++i) {
      std::string user = "user:" + std::to_string(i);
      ASSERT_TRUE(strings::Set(t, user, "u").ok());
      users.insert(user);
      ASSERT_TRUE(strings::Set(t, "order:" + std::to_string(i), "o").ok());
    }
  });
  ASSERT_TRUE(s.ok()) << s.message();
  Strings got = ScanAll("user:*", "", 10);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), users);

  got = ScanAll("user:1?", "", 10);
  std::set<std::string> unique(got.begin(), got.end());
  EXPECT_EQ(Strings(unique.begin(), unique.end()),
            (Strings{"user:10", "user:11", "user:12", "user:13", "user:14", "user:15", "user:16",
                     "user:17", "user:18", "user:19"}));
  got = ScanAll("nothing*", "", 10);
  EXPECT_TRUE(got.empty());
}

TEST_F(KeysTest, ScanPatternUsesGlobEscapes) {
  for (const char* k : {"a*b", "axb", "a?b", "a]"}) Put(k, "v");
  Strings got = ScanAll("a\\*b", "", 10);
  EXPECT_EQ(Sorted(got), (Strings{"a*b"}));
  got = ScanAll("a[^x]b", "", 10);
  EXPECT_EQ(Sorted(got), (Strings{"a*b", "a?b"}));
}

TEST_F(KeysTest, ScanFiltersByType) {
  std::set<std::string> strs, lsts;
  for (int i = 0; i < 300; ++i) {
    std::string s = "s" + std::to_string(i);
    std::string l = "l" + std::to_string(i);
    Put(s, "v");
    MakeList(l, {"x"});
    strs.insert(s);
    lsts.insert(l);
  }
  Strings got = ScanAll("*", "list", 10);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), lsts);
  got = ScanAll("*", "string", 10);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), strs);
  got = ScanAll("*", "", 10);
  EXPECT_EQ(got.size() >= 600u, true);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), 600u);
  // Pattern and type together.
  got = ScanAll("l1*", "list", 10);
  std::set<std::string> want;
  for (const std::string& l : lsts) {
    if (l.rfind("l1", 0) == 0) want.insert(l);
  }
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), want);
  got = ScanAll("l1*", "string", 10);
  EXPECT_TRUE(got.empty());
}

TEST_F(KeysTest, ScanSeesOnlyItsDatabase) {
  Put("zero", "v", 0);
  Put("one", "v", 1);
  MakeList("one-list", {"x"}, 1);
  Strings got;
  uint64_t cursor = 0;
  do {
    auto page = Run([&](Txn& t) { return keys::Scan(t, cursor, "*", 10, ""); }, 1);
    ASSERT_TRUE(page.ok()) << page.status().message();
    got.insert(got.end(), page->keys.begin(), page->keys.end());
    cursor = page->next_cursor;
  } while (cursor != 0);
  EXPECT_EQ(Sorted(got), (Strings{"one", "one-list"}));
  EXPECT_EQ(Sorted(ScanAll("*", "", 10)), (Strings{"zero"}));
}

// --- RENAME / RENAMENX -----------------------------------------------------------------

TEST_F(KeysTest, RenameMovesValue) {
  Put("a", "1");
  Status s = Do([](Txn& t) { return keys::Rename(t, "a", "b"); });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Get("a"), std::nullopt);
  EXPECT_EQ(Get("b"), "1");
  EXPECT_EQ(store().DbSize(0), 1);
}

TEST_F(KeysTest, RenameOfMissingKeyIsNoSuchKey) {
  Put("b", "keep");
  Status s = Do([](Txn& t) { return keys::Rename(t, "missing", "b"); });
  EXPECT_TRUE(IsError(s, Status::Code::kNoSuchKey, "ERR no such key"));
  EXPECT_EQ(Get("b"), "keep");
  auto nx = Run([](Txn& t) { return keys::RenameNX(t, "missing", "c"); });
  EXPECT_TRUE(IsError(nx.status(), Status::Code::kNoSuchKey, "ERR no such key"));
  EXPECT_EQ(Exists({"c"}), 0);
}

TEST_F(KeysTest, RenameKeepsTtl) {
  PutWithTtl("a", "1", 10'000);
  const int64_t deadline = Now() + 10'000;
  ASSERT_TRUE(Do([](Txn& t) { return keys::Rename(t, "a", "b"); }).ok());
  EXPECT_EQ(Pttl("b"), 10'000);
  EXPECT_EQ(Do([](Txn& t) { return keys::ExpireTime(t, "b", 1); }), deadline);
  EXPECT_EQ(Pttl("a"), -2);
}

TEST_F(KeysTest, RenameOntoKeyWithTtlLeavesSourceTtl) {
  Put("a", "1");
  PutWithTtl("b", "2", 10'000);
  ASSERT_TRUE(Do([](Txn& t) { return keys::Rename(t, "a", "b"); }).ok());
  EXPECT_EQ(Get("b"), "1");
  EXPECT_EQ(Pttl("b"), -1);
}

TEST_F(KeysTest, RenameStringOverwritesList) {
  MakeList("l", {"x", "y", "z"});
  Put("s", "str");
  ASSERT_TRUE(Do([](Txn& t) { return keys::Rename(t, "s", "l"); }).ok());
  EXPECT_EQ(Type("l"), KeyType::kString);
  EXPECT_EQ(Get("l"), "str");
  EXPECT_EQ(Exists({"s"}), 0);
  EXPECT_EQ(store().DbSize(0), 1);
  auto range = Run([](Txn& t) { return lists::Range(t, "l", 0, -1); });
  EXPECT_TRUE(IsError(range.status(), Status::Code::kWrongType, kWrongTypeMsg));
  // A new list under that name has none of the old elements.
  ASSERT_EQ(Del({"l"}), 1);
  MakeList("l", {"new"});
  EXPECT_EQ(Range("l"), Strings{"new"});
}

TEST_F(KeysTest, RenameMovesListWithItsElements) {
  MakeList("src", {"a", "b", "c"});
  Put("dst", "old");
  ASSERT_TRUE(Do([](Txn& t) { return keys::Rename(t, "src", "dst"); }).ok());
  EXPECT_EQ(Type("dst"), KeyType::kList);
  EXPECT_EQ(Range("dst"), (Strings{"a", "b", "c"}));
  EXPECT_EQ(Type("src"), KeyType::kNone);
  // Both names stay usable independently afterwards.
  MakeList("src", {"fresh"});
  EXPECT_EQ(Range("src"), Strings{"fresh"});
  auto pushed = Run([](Txn& t) { return lists::Push(t, "dst", ListEnd::kLeft, {"z"}); });
  ASSERT_TRUE(pushed.ok()) << pushed.status().message();
  EXPECT_EQ(*pushed, 4);
  EXPECT_EQ(Range("dst"), (Strings{"z", "a", "b", "c"}));
  EXPECT_EQ(Range("src"), Strings{"fresh"});
}

TEST_F(KeysTest, RenameToItselfKeepsKey) {
  PutWithTtl("a", "1", 10'000);
  ASSERT_TRUE(Do([](Txn& t) { return keys::Rename(t, "a", "a"); }).ok());
  EXPECT_EQ(Get("a"), "1");
  EXPECT_EQ(Pttl("a"), 10'000);
  auto nx = Run([](Txn& t) { return keys::RenameNX(t, "a", "a"); });
  ASSERT_TRUE(nx.ok()) << nx.status().message();
  EXPECT_FALSE(*nx);
  EXPECT_EQ(Get("a"), "1");
}

TEST_F(KeysTest, RenameNxOnlyWhenDestinationAbsent) {
  Put("a", "1");
  Put("b", "2");
  auto r = Run([](Txn& t) { return keys::RenameNX(t, "a", "b"); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(*r);
  EXPECT_EQ(Get("a"), "1");
  EXPECT_EQ(Get("b"), "2");

  r = Run([](Txn& t) { return keys::RenameNX(t, "a", "c"); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(*r);
  EXPECT_EQ(Exists({"a"}), 0);
  EXPECT_EQ(Get("c"), "1");
}

// --- EXPIRE family -----------------------------------------------------------------------

TEST_F(KeysTest, ParseExpireFlagsAcceptsWordsInAnyCase) {
  auto none = keys::ParseExpireFlags({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->nx || none->xx || none->gt || none->lt);

  auto nx = keys::ParseExpireFlags({"nx"});
  ASSERT_TRUE(nx.ok()) << nx.status().message();
  EXPECT_TRUE(nx->nx);
  EXPECT_FALSE(nx->xx || nx->gt || nx->lt);

  auto xx_gt = keys::ParseExpireFlags({"XX", "Gt"});
  ASSERT_TRUE(xx_gt.ok()) << xx_gt.status().message();
  EXPECT_TRUE(xx_gt->xx && xx_gt->gt);
  EXPECT_FALSE(xx_gt->nx || xx_gt->lt);

  auto lt = keys::ParseExpireFlags({"LT", "xx"});
  ASSERT_TRUE(lt.ok()) << lt.status().message();
  EXPECT_TRUE(lt->lt && lt->xx);
  EXPECT_FALSE(lt->nx || lt->gt);

  auto twice = keys::ParseExpireFlags({"NX", "nx"});
  ASSERT_TRUE(twice.ok()) << twice.status().message();
  EXPECT_TRUE(twice->nx);
}

TEST_F(KeysTest, ParseExpireFlagsRejectsBadCombinations) {
  const std::string nx_msg = "ERR NX and XX, GT or LT options at the same time are not compatible";
  const std::string gt_lt_msg = "ERR GT and LT options at the same time are not compatible";
  for (const Strings& words :
       {Strings{"NX", "XX"}, Strings{"nx", "gt"}, Strings{"LT", "NX"}, Strings{"NX", "GT", "LT"}}) {
    EXPECT_TRUE(
        IsError(keys::ParseExpireFlags(words).status(), Status::Code::kInvalidArgument, nx_msg))
        << words[0] << " " << words[1];
  }
  EXPECT_TRUE(IsError(keys::ParseExpireFlags({"GT", "LT"}).status(), Status::Code::kInvalidArgument,
                      gt_lt_msg));
  EXPECT_TRUE(IsError(keys::ParseExpireFlags({"xx", "lt", "gt"}).status(),
                      Status::Code::kInvalidArgument, gt_lt_msg));
  EXPECT_TRUE(IsError(keys::ParseExpireFlags({"FOO"}).status(), Status::Code::kInvalidArgument,
                      "ERR Unsupported option FOO"));
  EXPECT_TRUE(IsError(keys::ParseExpireFlags({"NX", "bar"}).status(),
                      Status::Code::kInvalidArgument, "ERR Unsupported option bar"));
}

TEST_F(KeysTest, RelativeDeadlineAllowsNegativesAndRejectsOverflow) {
  auto r = Run([](Txn& t) { return keys::RelativeDeadline(t, 10, 1000, "expire"); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Now() + 10'000);
  r = Run([](Txn& t) { return keys::RelativeDeadline(t, 250, 1, "pexpire"); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Now() + 250);
  r = Run([](Txn& t) { return keys::RelativeDeadline(t, -10, 1000, "expire"); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Now() - 10'000);
  r = Run([](Txn& t) { return keys::RelativeDeadline(t, 0, 1000, "expire"); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Now());
  const int64_t max_ms = kMax - Now();
  r = Run([&](Txn& t) { return keys::RelativeDeadline(t, max_ms, 1, "pexpire"); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, kMax);

  const std::string expire_msg = "ERR invalid expire time in 'expire' command";
  const std::string pexpire_msg = "ERR invalid expire time in 'pexpire' command";
  r = Run([](Txn& t) { return keys::RelativeDeadline(t, kMax / 1000 + 1, 1000, "expire"); });
  EXPECT_TRUE(IsError(r.status(), Status::Code::kInvalidArgument, expire_msg));
  r = Run([](Txn& t) { return keys::RelativeDeadline(t, kMin / 1000 - 1, 1000, "expire"); });
  EXPECT_TRUE(IsError(r.status(), Status::Code::kInvalidArgument, expire_msg));
  r = Run([](Txn& t) { return keys::RelativeDeadline(t, kMax / 1000, 1000, "expire"); });
  EXPECT_TRUE(IsError(r.status(), Status::Code::kInvalidArgument, expire_msg));
  r = Run([](Txn& t) { return keys::RelativeDeadline(t, kMax, 1, "pexpire"); });
  EXPECT_TRUE(IsError(r.status(), Status::Code::kInvalidArgument, pexpire_msg));
  r = Run([&](Txn& t) { return keys::RelativeDeadline(t, max_ms + 1, 1, "pexpire"); });
  EXPECT_TRUE(IsError(r.status(), Status::Code::kInvalidArgument, pexpire_msg));
}

TEST_F(KeysTest, AbsoluteDeadlineConvertsAndRejectsOverflow) {
  auto r = keys::AbsoluteDeadline(1'800'000'000, 1000, "expireat");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 1'800'000'000'000);
  r = keys::AbsoluteDeadline(kMax, 1, "pexpireat");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, kMax);
  r = keys::AbsoluteDeadline(-5, 1000, "expireat");  // in the past: allowed, deletes
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, -5'000);

  r = keys::AbsoluteDeadline(kMax / 1000 + 1, 1000, "expireat");
  EXPECT_TRUE(IsError(r.status(), Status::Code::kInvalidArgument,
                      "ERR invalid expire time in 'expireat' command"));
  r = keys::AbsoluteDeadline(kMin / 1000 - 1, 1000, "expireat");
  EXPECT_TRUE(IsError(r.status(), Status::Code::kInvalidArgument,
                      "ERR invalid expire time in 'expireat' command"));
}

TEST_F(KeysTest, ExpireAtSetsTtlOnStringsAndLists) {
  Put("s", "v");
  MakeList("l", {"x"});
  auto r = ExpireAt("s", Now() + 100'000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(*r);
  EXPECT_EQ(Pttl("s"), 100'000);
  r = ExpireAt("l", Now() + 5'000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(*r);
  EXPECT_EQ(Pttl("l"), 5'000);
  EXPECT_EQ(Range("l"), Strings{"x"});
}

TEST_F(KeysTest, ExpireAtOfMissingKeyIsFalseForEveryFlag) {
  keys::ExpireFlags nx, xx, gt, lt;
  nx.nx = true;
  xx.xx = true;
  gt.gt = true;
  lt.lt = true;
  for (const keys::ExpireFlags& f : {keys::ExpireFlags{}, nx, xx, gt, lt}) {
    auto r = ExpireAt("missing", Now() + 1'000, f);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_FALSE(*r);
  }
  EXPECT_EQ(Exists({"missing"}), 0);
  EXPECT_EQ(store().DbSize(0), 0);
}

TEST_F(KeysTest, ExpireFlagsOnKeyWithoutTtl) {
  // A key without a TTL counts as an infinite TTL for GT and LT.
  keys::ExpireFlags nx, xx, gt, lt;
  nx.nx = true;
  xx.xx = true;
  gt.gt = true;
  lt.lt = true;
  const int64_t deadline = Now() + 50'000;

  Put("k", "v");
  EXPECT_FALSE(ExpireAt("k", deadline, xx).value());
  EXPECT_EQ(Pttl("k"), -1);
  EXPECT_FALSE(ExpireAt("k", deadline, gt).value());
  EXPECT_EQ(Pttl("k"), -1);
  EXPECT_TRUE(ExpireAt("k", deadline, lt).value());
  EXPECT_EQ(Pttl("k"), 50'000);

  Put("k2", "v");
  EXPECT_TRUE(ExpireAt("k2", deadline, nx).value());
  EXPECT_EQ(Pttl("k2"), 50'000);
}

TEST_F(KeysTest, ExpireFlagsOnKeyWithTtl) {
  keys::ExpireFlags nx, xx, gt, lt, xx_gt, xx_lt;
  nx.nx = true;
  xx.xx = true;
  gt.gt = true;
  lt.lt = true;
  xx_gt.xx = xx_gt.gt = true;
  xx_lt.xx = xx_lt.lt = true;
  const int64_t base = Now() + 100'000;
  Put("k", "v");
  ASSERT_TRUE(ExpireAt("k", base).value());

  EXPECT_FALSE(ExpireAt("k", base + 1, nx).value());
  EXPECT_EQ(Pttl("k"), 100'000);

  EXPECT_FALSE(ExpireAt("k", base, gt).value());  // equal is not greater
  EXPECT_FALSE(ExpireAt("k", base - 1, gt).value());
  EXPECT_EQ(Pttl("k"), 100'000);
  EXPECT_TRUE(ExpireAt("k", base + 1'000, gt).value());
  EXPECT_EQ(Pttl("k"), 101'000);

  EXPECT_FALSE(ExpireAt("k", base + 1'000, lt).value());  // equal is not less
  EXPECT_FALSE(ExpireAt("k", base + 2'000, lt).value());
  EXPECT_EQ(Pttl("k"), 101'000);
  EXPECT_TRUE(ExpireAt("k", base - 50'000, lt).value());
  EXPECT_EQ(Pttl("k"), 50'000);

  EXPECT_TRUE(ExpireAt("k", base, xx).value());
  EXPECT_EQ(Pttl("k"), 100'000);
  EXPECT_TRUE(ExpireAt("k", base + 5'000, xx_gt).value());
  EXPECT_EQ(Pttl("k"), 105'000);
  EXPECT_FALSE(ExpireAt("k", base, xx_gt).value());
  EXPECT_TRUE(ExpireAt("k", base, xx_lt).value());
  EXPECT_EQ(Pttl("k"), 100'000);

  EXPECT_TRUE(ExpireAt("k", base + 7'000).value());  // no flag: always
  EXPECT_EQ(Pttl("k"), 107'000);

  Put("plain", "v");
  EXPECT_FALSE(ExpireAt("plain", base, xx_lt).value());  // XX fails first
  EXPECT_EQ(Pttl("plain"), -1);
}

TEST_F(KeysTest, ExpireAtInThePastDeletesAtOnce) {
  Put("a", "1");
  Put("b", "2");
  MakeList("l", {"x"});
  ASSERT_EQ(store().DbSize(0), 3);
  EXPECT_TRUE(ExpireAt("a", Now() - 1).value());
  EXPECT_EQ(store().DbSize(0), 2);
  EXPECT_TRUE(ExpireAt("b", Now()).value());  // a deadline of now is already due
  EXPECT_TRUE(ExpireAt("l", -5'000).value());
  EXPECT_EQ(store().DbSize(0), 0);
  EXPECT_EQ(Exists({"a", "b", "l"}), 0);
  EXPECT_EQ(Keys("*"), Strings{});
  auto expired = store().ExpireDueKeys();
  ASSERT_TRUE(expired.ok()) << expired.status().message();
  EXPECT_EQ(*expired, 0);
}

TEST_F(KeysTest, TtlFamilyForMissingAndPersistentKeys) {
  Put("p", "v");
  for (int64_t unit : {1, 1000}) {
    EXPECT_EQ(Do([&](Txn& t) { return keys::Ttl(t, "missing", unit); }), -2);
    EXPECT_EQ(Do([&](Txn& t) { return keys::Ttl(t, "p", unit); }), -1);
    EXPECT_EQ(Do([&](Txn& t) { return keys::ExpireTime(t, "missing", unit); }), -2);
    EXPECT_EQ(Do([&](Txn& t) { return keys::ExpireTime(t, "p", unit); }), -1);
  }
}

TEST_F(KeysTest, TtlRoundsToNearestSecond) {
  struct Case {
    int64_t ttl_ms;
    int64_t want_seconds;
  };
  const Case cases[] = {{1, 0},
                        {499, 0},
                        {500, 1},
                        {1'000, 1},
                        {1'499, 1},
                        {1'500, 2},
                        {10'000, 10},
                        {86'400'499, 86'400},
                        {86'400'500, 86'401}};
  for (const Case& c : cases) {
    const std::string key = "k" + std::to_string(c.ttl_ms);
    Put(key, "v");
    ASSERT_TRUE(ExpireAt(key, Now() + c.ttl_ms).value());
    EXPECT_EQ(Pttl(key), c.ttl_ms);
    EXPECT_EQ(Ttl(key), c.want_seconds) << c.ttl_ms << " ms";
  }
}

TEST_F(KeysTest, ExpireTimeReportsAbsoluteDeadline) {
  Put("a", "v");
  Put("b", "v");
  // The clock starts at a whole second; EXPIRETIME rounds as TTL does.
  const int64_t a_deadline = 1'800'000'001'499;
  const int64_t b_deadline = 1'800'000'001'500;
  ASSERT_TRUE(ExpireAt("a", a_deadline).value());
  ASSERT_TRUE(ExpireAt("b", b_deadline).value());
  EXPECT_EQ(Do([](Txn& t) { return keys::ExpireTime(t, "a", 1); }), a_deadline);
  EXPECT_EQ(Do([](Txn& t) { return keys::ExpireTime(t, "b", 1); }), b_deadline);
  EXPECT_EQ(Do([](Txn& t) { return keys::ExpireTime(t, "a", 1000); }), 1'800'000'001);
  EXPECT_EQ(Do([](Txn& t) { return keys::ExpireTime(t, "b", 1000); }), 1'800'000'002);
}

TEST_F(KeysTest, PersistRemovesTtl) {
  PutWithTtl("k", "v", 10'000);
  Put("p", "v");
  EXPECT_TRUE(Do([](Txn& t) { return keys::Persist(t, "k"); }));
  EXPECT_EQ(Pttl("k"), -1);
  EXPECT_FALSE(Do([](Txn& t) { return keys::Persist(t, "k"); }));
  EXPECT_FALSE(Do([](Txn& t) { return keys::Persist(t, "p"); }));
  EXPECT_FALSE(Do([](Txn& t) { return keys::Persist(t, "missing"); }));
  EXPECT_EQ(Exists({"missing"}), 0);
  EXPECT_EQ(Get("k"), "v");
}

// --- DBSIZE / FLUSHDB / FLUSHALL / logical databases -------------------------------------

TEST_F(KeysTest, DbSizeTracksEveryKindOfChange) {
  EXPECT_EQ(store().DbSize(0), 0);
  Put("a", "1");
  EXPECT_EQ(store().DbSize(0), 1);
  Put("a", "2");  // overwrite
  EXPECT_EQ(store().DbSize(0), 1);
  MakeList("l", {"x", "y"});
  EXPECT_EQ(store().DbSize(0), 2);
  MakeList("l", {"z"});  // push to an existing list
  EXPECT_EQ(store().DbSize(0), 2);
  Put("l", "now a string");
  EXPECT_EQ(store().DbSize(0), 2);
  ASSERT_TRUE(Do([](Txn& t) { return keys::Rename(t, "a", "l"); }).ok());  // overwrites l
  EXPECT_EQ(store().DbSize(0), 1);
  ASSERT_TRUE(Do([](Txn& t) { return keys::Rename(t, "l", "m"); }).ok());
  EXPECT_EQ(store().DbSize(0), 1);
  Status s = store().Exec(0, [](Txn& t) {
    strings::MSet(t, {{"x", "1"}, {"y", "1"}, {"m", "3"}});
  });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(store().DbSize(0), 3);
  EXPECT_FALSE(Do([](Txn& t) { return strings::MSetNX(t, {{"q", "1"}, {"x", "1"}}); }));
  EXPECT_EQ(store().DbSize(0), 3);
  ASSERT_TRUE(Run([](Txn& t) { return strings::GetDel(t, "x"); }).ok());
  EXPECT_EQ(store().DbSize(0), 2);
  MakeList("p", {"1"});
  ASSERT_TRUE(Run([](Txn& t) { return lists::Pop(t, "p", ListEnd::kRight, 1); }).ok());
  EXPECT_EQ(store().DbSize(0), 2);
  ASSERT_TRUE(Run([](Txn& t) { return strings::IncrBy(t, "counter", 1); }).ok());
  ASSERT_TRUE(Run([](Txn& t) { return strings::Append(t, "appended", "x"); }).ok());
  EXPECT_EQ(store().DbSize(0), 4);
  EXPECT_EQ(Del({"y", "m", "counter", "appended", "never"}), 4);
  EXPECT_EQ(store().DbSize(0), 0);
}

TEST_F(KeysTest, DbSizeAcrossAllSixteenDatabases) {
  for (int db = 0; db < Store::kNumDbs; ++db) {
    for (int i = 0; i <= db; ++i) Put("k" + std::to_string(i), std::to_string(db), db);
  }
  for (int db = 0; db < Store::kNumDbs; ++db) EXPECT_EQ(store().DbSize(db), db + 1) << db;

  ASSERT_TRUE(store().FlushDb(3).ok());
  for (int db = 0; db < Store::kNumDbs; ++db) {
    EXPECT_EQ(store().DbSize(db), db == 3 ? 0 : db + 1) << db;
  }
  EXPECT_EQ(Get("k0", 3), std::nullopt);
  EXPECT_EQ(Keys("*", 3), Strings{});
  EXPECT_EQ(Get("k0", 4), "4");
  EXPECT_EQ(Get("k3", 15), "15");

  ASSERT_TRUE(store().FlushAll().ok());
  for (int db = 0; db < Store::kNumDbs; ++db) {
    EXPECT_EQ(store().DbSize(db), 0) << db;
    EXPECT_EQ(Get("k0", db), std::nullopt) << db;
  }

  // Counting starts again from zero after a flush.
  Put("again", "v", 3);
  Put("again", "v", 15);
  EXPECT_EQ(store().DbSize(3), 1);
  EXPECT_EQ(store().DbSize(15), 1);
  EXPECT_EQ(store().DbSize(0), 0);
}

TEST_F(KeysTest, FlushDbRemovesListsToo) {
  MakeList("l", {"a", "b"}, 2);
  Put("s", "v", 2);
  MakeList("l", {"keep"}, 5);
  ASSERT_TRUE(store().FlushDb(2).ok());
  EXPECT_EQ(Type("l", 2), KeyType::kNone);
  EXPECT_EQ(Range("l", 2), Strings{});
  EXPECT_EQ(Range("l", 5), Strings{"keep"});
  // A list re-created in the flushed database starts empty.
  MakeList("l", {"c"}, 2);
  EXPECT_EQ(Range("l", 2), Strings{"c"});
  EXPECT_EQ(store().DbSize(2), 1);
}

TEST_F(KeysTest, KeysInDifferentDatabasesAreIndependent) {
  Put("k", "zero", 0);
  MakeList("k", {"one"}, 1);  // same name, another type, another database
  EXPECT_EQ(Type("k", 0), KeyType::kString);
  EXPECT_EQ(Type("k", 1), KeyType::kList);
  EXPECT_EQ(Type("k", 2), KeyType::kNone);
  EXPECT_EQ(Get("k", 0), "zero");
  EXPECT_EQ(Range("k", 1), Strings{"one"});

  EXPECT_EQ(Exists({"k"}, 2), 0);
  EXPECT_EQ(Keys("*", 1), Strings{"k"});

  auto expired = Run([&](Txn& t) { return keys::ExpireAt(t, "k", Now() + 1'000); }, 1);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(Pttl("k", 1), 1'000);
  EXPECT_EQ(Pttl("k", 0), -1);

  ASSERT_TRUE(Do([](Txn& t) { return keys::Rename(t, "k", "renamed"); }, 0).ok());
  EXPECT_EQ(Type("k", 1), KeyType::kList);
  EXPECT_EQ(Type("renamed", 1), KeyType::kNone);

  EXPECT_EQ(Del({"k"}, 1), 1);
  EXPECT_EQ(Get("renamed", 0), "zero");
  EXPECT_EQ(store().DbSize(0), 1);
  EXPECT_EQ(store().DbSize(1), 0);
}

TEST_F(KeysTest, SwitchDbInsideOneTransaction) {
  Status s = store().Exec(0, [](Txn& t) {
    ASSERT_TRUE(strings::Set(t, "k", "in0").ok());
    t.SwitchDb(9);
    ASSERT_TRUE(strings::Set(t, "k", "in9").ok());
    EXPECT_EQ(t.db(), 9);
  });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Get("k", 0), "in0");
  EXPECT_EQ(Get("k", 9), "in9");
  EXPECT_EQ(store().DbSize(0), 1);
  EXPECT_EQ(store().DbSize(9), 1);
}

// --- Durability and reclaiming space ----------------------------------------------------

TEST_F(KeysTest, ValuesSurviveRestart) {
  Put("s", "zero", 0);
  Put("s", "seven", 7);
  MakeList("l", {"a", "b", "c"}, 15);
  Put(std::string("bin\0key", 7), std::string("v\0v", 3));
  ASSERT_TRUE(Run([](Txn& t) { return strings::IncrBy(t, "n", 41); }).ok());
  Reopen();
  EXPECT_EQ(Get("s", 0), "zero");
  EXPECT_EQ(Get("s", 7), "seven");
  EXPECT_EQ(Range("l", 15), (Strings{"a", "b", "c"}));
  EXPECT_EQ(Get(std::string("bin\0key", 7)), std::string("v\0v", 3));
  EXPECT_EQ(store().DbSize(0), 3);
  EXPECT_EQ(store().DbSize(7), 1);
  EXPECT_EQ(store().DbSize(15), 1);
  // Writing after the restart continues from the stored state.
  EXPECT_EQ(Run([](Txn& t) { return strings::IncrBy(t, "n", 1); }).value(), 42);
  auto pushed = Run([](Txn& t) { return lists::Push(t, "l", ListEnd::kRight, {"d"}); }, 15);
  EXPECT_EQ(pushed.value(), 4);
  EXPECT_EQ(Range("l", 15), (Strings{"a", "b", "c", "d"}));
}

TEST_F(KeysTest, ValuesSurviveRestartWithFsyncAlways) {
  Reopen(Fsync::kAlways);
  Put("k", "durable");
  MakeList("l", {"x"});
  EXPECT_EQ(Del({"gone"}), 0);
  Put("gone", "soon");
  EXPECT_EQ(Del({"gone"}), 1);
  Reopen(Fsync::kAlways);
  EXPECT_EQ(Get("k"), "durable");
  EXPECT_EQ(Range("l"), Strings{"x"});
  EXPECT_EQ(Exists({"gone"}), 0);
  EXPECT_EQ(store().DbSize(0), 2);
}

TEST_F(KeysTest, DeletedBigListIsReclaimedByCompaction) {
  constexpr int kElements = 100'000;
  PushMany("big", kElements, "element-");
  ASSERT_EQ(Run([](Txn& t) { return lists::Len(t, "big"); }).value(), kElements);
  EXPECT_EQ(store().CountElementRecordsForTest(0, "big"), kElements);

  EXPECT_EQ(Del({"big"}), 1);
  EXPECT_EQ(Type("big"), KeyType::kNone);
  EXPECT_EQ(store().DbSize(0), 0);
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "big"), 0);

  MakeList("big", {"new1", "new2", "new3"});
  EXPECT_EQ(Range("big"), (Strings{"new1", "new2", "new3"}));
  EXPECT_EQ(Run([](Txn& t) { return lists::Len(t, "big"); }).value(), 3);
  auto idx = Run([](Txn& t) { return lists::Index(t, "big", 3); });
  EXPECT_EQ(idx.status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "big"), 3);
  EXPECT_EQ(Range("big"), (Strings{"new1", "new2", "new3"}));
}

TEST_F(KeysTest, ListRecreatedBeforeCompactionShowsOnlyNewElements) {
  PushMany("l", 20'000, "old-");
  EXPECT_EQ(Del({"l"}), 1);
  MakeList("l", {"a", "b"});
  EXPECT_EQ(Range("l"), (Strings{"a", "b"}));
  auto idx = Run([](Txn& t) { return lists::Index(t, "l", 2); });
  EXPECT_EQ(idx.status().code(), Status::Code::kNotFound);
  auto left = Run([](Txn& t) { return lists::Push(t, "l", ListEnd::kLeft, {"z"}); });
  EXPECT_EQ(left.value(), 3);
  EXPECT_EQ(Range("l"), (Strings{"z", "a", "b"}));
  // Compaction drops the old version only.
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "l"), 3);
  EXPECT_EQ(Range("l"), (Strings{"z", "a", "b"}));
}

TEST_F(KeysTest, CompactionAfterRestartReclaimsDeletedList) {
  PushMany("l", 20'000, "x");
  PushMany("keep", 1'000, "k");
  EXPECT_EQ(Del({"l"}), 1);
  Reopen();
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "l"), 0);
  EXPECT_EQ(store().CountElementRecordsForTest(0, "keep"), 1'000);
  EXPECT_EQ(Run([](Txn& t) { return lists::Len(t, "keep"); }).value(), 1'000);
}

TEST_F(KeysTest, ListOverwrittenOrFlushedIsReclaimedByCompaction) {
  PushMany("to-string", 10'000, "a");
  PushMany("renamed-over", 10'000, "b");
  PushMany("flushed", 10'000, "c");
  Put("to-string", "s");
  Put("src", "s");
  ASSERT_TRUE(Do([](Txn& t) { return keys::Rename(t, "src", "renamed-over"); }).ok());
  MakeList("other-db", {"x"}, 4);
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "to-string"), 0);
  EXPECT_EQ(store().CountElementRecordsForTest(0, "renamed-over"), 0);
  EXPECT_EQ(store().CountElementRecordsForTest(0, "flushed"), 10'000);

  ASSERT_TRUE(store().FlushDb(0).ok());
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "flushed"), 0);
  EXPECT_EQ(store().CountElementRecordsForTest(4, "other-db"), 1);
  ASSERT_TRUE(store().FlushAll().ok());
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(4, "other-db"), 0);
}

}  // namespace
}  // namespace redge::store
