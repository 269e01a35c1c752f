// Unit tests of key expiry with a ManualClock (no real sleeps): an expired key is never
// returned by any read, KEYS or SCAN; lazy expiry on access; Store::ExpireDueKeys (what the
// active expirer runs) deletes exactly the due keys and says how many; TTLs are kept or
// cleared as Redis keeps or clears them; TTLs survive a restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/keys.h"
#include "store/lists.h"
#include "store/status.h"
#include "store/store.h"
#include "store/strings.h"
#include "store/txn.h"
#include "tests/unit/store_fixture.h"

namespace redge::store {
namespace {

using Strings = std::vector<std::string>;

constexpr int64_t kSecond = 1'000;
constexpr int64_t kDay = 86'400 * kSecond;

class TtlTest : public testing::StoreTest {
 protected:
  // SET key value PX ttl_ms.
  void PutWithTtl(const std::string& key, const std::string& value, int64_t ttl_ms, int db = 0) {
    auto r = Run(
        [&](Txn& t) -> Result<strings::SetReply> {
          auto deadline = strings::DeadlineFromRelative(t, ttl_ms, 1, "set");
          if (!deadline.ok()) return deadline.status();
          strings::SetOptions o;
          o.expire_at_ms = *deadline;
          return strings::Set(t, key, value, o);
        },
        db);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_TRUE(r->written);
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
  // EXPIRE key seconds / PEXPIRE key ms (relative, through RelativeDeadline).
  bool Expire(const std::string& key, int64_t amount, int64_t unit_ms, int db = 0) {
    auto r = Run(
        [&](Txn& t) -> Result<bool> {
          auto deadline = keys::RelativeDeadline(t, amount, unit_ms, "expire");
          if (!deadline.ok()) return deadline.status();
          return keys::ExpireAt(t, key, *deadline);
        },
        db);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() && *r;
  }
  bool ExpireAt(const std::string& key, int64_t deadline_ms, int db = 0) {
    auto r = Run([&](Txn& t) { return keys::ExpireAt(t, key, deadline_ms); }, db);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() && *r;
  }
  int64_t Exists(const Strings& names, int db = 0) {
    return Do([&](Txn& t) { return keys::Exists(t, names); }, db);
  }
  KeyType Type(const std::string& key, int db = 0) {
    return Do([&](Txn& t) { return keys::Type(t, key); }, db);
  }
  int64_t Ttl(const std::string& key, int db = 0) {
    return Do([&](Txn& t) { return keys::Ttl(t, key, 1000); }, db);
  }
  int64_t Pttl(const std::string& key, int db = 0) {
    return Do([&](Txn& t) { return keys::Ttl(t, key, 1); }, db);
  }
  Strings Keys(const std::string& pattern, int db = 0) {
    Strings v = Do([&](Txn& t) { return keys::Keys(t, pattern); }, db);
    std::sort(v.begin(), v.end());
    return v;
  }
  // Every key a full SCAN returns (deduplicated, sorted).
  Strings ScanAll(int db = 0) {
    std::set<std::string> out;
    uint64_t cursor = 0;
    for (int n = 0; n < 1'000'000; ++n) {
      auto page = Run([&](Txn& t) { return keys::Scan(t, cursor, "*", 10, ""); }, db);
      EXPECT_TRUE(page.ok()) << page.status().message();
      if (!page.ok()) break;
      out.insert(page->keys.begin(), page->keys.end());
      cursor = page->next_cursor;
      if (cursor == 0) return Strings(out.begin(), out.end());
    }
    ADD_FAILURE() << "SCAN did not reach cursor 0";
    return Strings(out.begin(), out.end());
  }
  int64_t ExpireDue() {
    auto r = store().ExpireDueKeys();
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : -1;
  }
  int64_t Now() const { return clock_.NowMs(); }
};

TEST_F(TtlTest, ExpiredKeyIsGoneFromEveryRead) {
  PutWithTtl("t", "v", 10 * kSecond);
  MakeList("tl", {"a", "b"});
  ASSERT_TRUE(Expire("tl", 10, 1000));
  Put("p", "stays");
  clock_.Advance(10 * kSecond + 1);

  EXPECT_EQ(Get("t"), std::nullopt);
  EXPECT_EQ(Exists({"t", "tl", "p"}), 1);
  EXPECT_EQ(Type("t"), KeyType::kNone);
  EXPECT_EQ(Type("tl"), KeyType::kNone);
  EXPECT_EQ(Ttl("t"), -2);
  EXPECT_EQ(Pttl("tl"), -2);
  EXPECT_EQ(Do([](Txn& t) { return keys::ExpireTime(t, "t", 1); }), -2);
  EXPECT_EQ(Keys("*"), Strings{"p"});
  EXPECT_EQ(ScanAll(), Strings{"p"});
  auto mget = Do([](Txn& t) { return strings::MGet(t, {"t", "p"}); });
  EXPECT_EQ(mget, (std::vector<std::optional<std::string>>{std::nullopt, "stays"}));
  EXPECT_EQ(Run([](Txn& t) { return strings::StrLen(t, "t"); }).value(), 0);
  EXPECT_EQ(Run([](Txn& t) { return lists::Len(t, "tl"); }).value(), 0);
  EXPECT_EQ(Range("tl"), Strings{});
  auto getdel = Run([](Txn& t) { return strings::GetDel(t, "t"); });
  EXPECT_EQ(getdel.status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(Do([](Txn& t) { return keys::Persist(t, "t"); }));
  EXPECT_EQ(Get("p"), "stays");
}

TEST_F(TtlTest, LazyExpiryWithoutExpirer) {
  PutWithTtl("k", "v", 5 * kSecond);
  PutWithTtl("other", "v", 5 * kSecond);
  ASSERT_EQ(Get("k"), "v");
  clock_.Advance(5 * kSecond + 1);
  // No ExpireDueKeys: the read itself must not return the value.
  auto r = Run([](Txn& t) { return strings::Get(t, "k"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  // The lazy expiry deleted "k" in that command; "other" is still counted until removed.
  EXPECT_EQ(store().DbSize(0), 1);
  EXPECT_EQ(ExpireDue(), 1);
  EXPECT_EQ(store().DbSize(0), 0);
}

TEST_F(TtlTest, KeyExpiresOnlyAfterItsDeadline) {
  // Redis (keyIsExpired): a key is expired when now > deadline, so at the deadline itself
  // reads still see it. (Whether the active expirer may remove it at exactly the deadline
  // differs between Redis versions, so ExpireDueKeys is not called at that instant.)
  PutWithTtl("k", "v", 1'000);
  clock_.Advance(999);
  EXPECT_EQ(ExpireDue(), 0);
  EXPECT_EQ(Get("k"), "v");
  EXPECT_EQ(Pttl("k"), 1);
  clock_.Advance(1);
  EXPECT_EQ(Get("k"), "v");
  EXPECT_EQ(Pttl("k"), 0);
  EXPECT_EQ(Ttl("k"), 0);
  clock_.Advance(1);
  EXPECT_EQ(Get("k"), std::nullopt);
  EXPECT_EQ(Pttl("k"), -2);
}

TEST_F(TtlTest, ExpireDueKeysDeletesDueKeysAndReturnsCount) {
  for (int i = 0; i < 5; ++i) PutWithTtl("short" + std::to_string(i), "v", 10 * kSecond);
  for (int i = 0; i < 3; ++i) PutWithTtl("long" + std::to_string(i), "v", 100 * kSecond);
  Put("p1", "v");
  MakeList("p2", {"x"});
  ASSERT_EQ(store().DbSize(0), 10);
  EXPECT_EQ(ExpireDue(), 0);
  EXPECT_EQ(store().DbSize(0), 10);

  clock_.Advance(10 * kSecond + 1);
  // DBSIZE counts keys whose TTL passed until they are removed.
  EXPECT_EQ(store().DbSize(0), 10);
  EXPECT_EQ(ExpireDue(), 5);
  EXPECT_EQ(store().DbSize(0), 5);
  EXPECT_EQ(ExpireDue(), 0);
  EXPECT_EQ(Keys("*"), (Strings{"long0", "long1", "long2", "p1", "p2"}));

  clock_.Advance(90 * kSecond);
  EXPECT_EQ(ExpireDue(), 3);
  EXPECT_EQ(store().DbSize(0), 2);
  EXPECT_EQ(Keys("*"), (Strings{"p1", "p2"}));
}

TEST_F(TtlTest, ExpireDueKeysFollowsDeadlineOrder) {
  for (int i = 1; i <= 100; ++i) PutWithTtl("k" + std::to_string(i), "v", i * kSecond);
  clock_.Advance(50 * kSecond + 500);
  EXPECT_EQ(ExpireDue(), 50);
  for (int i = 1; i <= 100; ++i) {
    EXPECT_EQ(Exists({"k" + std::to_string(i)}), i <= 50 ? 0 : 1) << i;
  }
  EXPECT_EQ(store().DbSize(0), 50);
  clock_.Advance(50 * kSecond);
  EXPECT_EQ(ExpireDue(), 50);
  EXPECT_EQ(store().DbSize(0), 0);
}

TEST_F(TtlTest, ExpireDueKeysCoversEveryDatabase) {
  PutWithTtl("k", "v", kSecond, 0);
  PutWithTtl("k", "v", kSecond, 3);
  PutWithTtl("k", "v", kSecond, 15);
  Put("k", "persistent", 7);
  MakeList("l", {"x"}, 9);
  ASSERT_TRUE(Expire("l", 1, 1000, 9));
  clock_.Advance(2 * kSecond);
  EXPECT_EQ(store().DbSize(3), 1);
  EXPECT_EQ(ExpireDue(), 4);
  for (int db : {0, 3, 9, 15}) EXPECT_EQ(store().DbSize(db), 0) << db;
  EXPECT_EQ(store().DbSize(7), 1);
  EXPECT_EQ(Get("k", 7), "persistent");
}

TEST_F(TtlTest, ManyKeysExpireTogether) {
  Status s = store().Exec(0, [&](Txn& t) {
    for (int i = 0; i < 2000; ++i) {
      strings::SetOptions o;
      o.expire_at_ms = t.now_ms() + kSecond;
      ASSERT_TRUE(strings::Set(t, "k" + std::to_string(i), "v", o).ok());
    }
  });
  ASSERT_TRUE(s.ok()) << s.message();
  Put("p", "v");
  clock_.Advance(kSecond + 1);
  EXPECT_EQ(ScanAll(), Strings{"p"});  // before any removal, SCAN already hides them
  EXPECT_EQ(ExpireDue(), 2000);
  EXPECT_EQ(store().DbSize(0), 1);
}

TEST_F(TtlTest, TtlOfDaysWithoutSleeping) {
  PutWithTtl("k", "v", 3 * kDay);
  EXPECT_EQ(Ttl("k"), 3 * 86'400);
  clock_.Advance(2 * kDay);
  EXPECT_EQ(Ttl("k"), 86'400);
  EXPECT_EQ(Pttl("k"), kDay);
  clock_.Advance(kDay - 1);
  EXPECT_EQ(ExpireDue(), 0);
  EXPECT_EQ(Pttl("k"), 1);
  EXPECT_EQ(Get("k"), "v");
  clock_.Advance(2);
  EXPECT_EQ(ExpireDue(), 1);
  EXPECT_EQ(Get("k"), std::nullopt);
  EXPECT_EQ(Ttl("k"), -2);
}

TEST_F(TtlTest, TtlCountsDownWithTheClock) {
  PutWithTtl("k", "v", 10 * kSecond);
  EXPECT_EQ(Pttl("k"), 10'000);
  clock_.Advance(2'345);
  EXPECT_EQ(Pttl("k"), 7'655);
  EXPECT_EQ(Ttl("k"), 8);  // 7.655 s rounds to 8
  clock_.Advance(4'000);
  EXPECT_EQ(Pttl("k"), 3'655);
  EXPECT_EQ(Ttl("k"), 4);
  clock_.Advance(200);
  EXPECT_EQ(Ttl("k"), 3);  // 3.455 s rounds to 3
}

TEST_F(TtlTest, SetWithoutKeepTtlClearsTtl) {
  PutWithTtl("k", "v1", 10 * kSecond);
  Put("k", "v2");
  EXPECT_EQ(Pttl("k"), -1);
  clock_.Advance(20 * kSecond);
  EXPECT_EQ(ExpireDue(), 0);  // the old deadline must not delete the new value
  EXPECT_EQ(Get("k"), "v2");
  EXPECT_EQ(store().DbSize(0), 1);
}

TEST_F(TtlTest, SetWithKeepTtlKeepsTtl) {
  PutWithTtl("k", "v1", 10 * kSecond);
  clock_.Advance(4 * kSecond);
  strings::SetOptions keep;
  keep.keep_ttl = true;
  auto r = Run([&](Txn& t) { return strings::Set(t, "k", "v2", keep); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Pttl("k"), 6 * kSecond);
  clock_.Advance(5 * kSecond);
  EXPECT_EQ(Get("k"), "v2");
  clock_.Advance(kSecond + 1);
  EXPECT_EQ(ExpireDue(), 1);
  EXPECT_EQ(Get("k"), std::nullopt);
}

TEST_F(TtlTest, NewTtlReplacesOldDeadline) {
  PutWithTtl("later", "v", 10 * kSecond);
  PutWithTtl("sooner", "v", 100 * kSecond);
  ASSERT_TRUE(Expire("later", 100, 1000));
  ASSERT_TRUE(Expire("sooner", 10, 1000));
  clock_.Advance(20 * kSecond);
  EXPECT_EQ(ExpireDue(), 1);
  EXPECT_EQ(Get("later"), "v");
  EXPECT_EQ(Get("sooner"), std::nullopt);
  EXPECT_EQ(Ttl("later"), 80);
  clock_.Advance(81 * kSecond);
  EXPECT_EQ(ExpireDue(), 1);
  EXPECT_EQ(store().DbSize(0), 0);
}

TEST_F(TtlTest, PersistKeepsKeyForever) {
  PutWithTtl("k", "v", 10 * kSecond);
  EXPECT_TRUE(Do([](Txn& t) { return keys::Persist(t, "k"); }));
  EXPECT_EQ(Ttl("k"), -1);
  EXPECT_FALSE(Do([](Txn& t) { return keys::Persist(t, "k"); }));
  clock_.Advance(365 * kDay);
  EXPECT_EQ(ExpireDue(), 0);
  EXPECT_EQ(Get("k"), "v");
}

TEST_F(TtlTest, GetExSetsAndRemovesTtl) {
  Put("a", "1");
  strings::GetExOptions ex;
  ex.expire_at_ms = Now() + 5 * kSecond;
  ASSERT_EQ(Run([&](Txn& t) { return strings::GetEx(t, "a", ex); }).value(), "1");
  PutWithTtl("b", "2", 5 * kSecond);
  strings::GetExOptions persist;
  persist.persist = true;
  ASSERT_EQ(Run([&](Txn& t) { return strings::GetEx(t, "b", persist); }).value(), "2");
  clock_.Advance(6 * kSecond);
  EXPECT_EQ(ExpireDue(), 1);
  EXPECT_EQ(Get("a"), std::nullopt);
  EXPECT_EQ(Get("b"), "2");
  EXPECT_EQ(Ttl("b"), -1);
}

TEST_F(TtlTest, PastExpireDeletesAtOnce) {
  Put("a", "1");
  Put("b", "2");
  Put("c", "3");
  EXPECT_TRUE(ExpireAt("a", Now() - 1));
  EXPECT_TRUE(Expire("b", -1, 1000));  // EXPIRE with a negative TTL
  EXPECT_TRUE(Expire("c", 0, 1000));   // EXPIRE key 0
  // No ExpireDueKeys: the keys are deleted by the command itself.
  EXPECT_EQ(store().DbSize(0), 0);
  EXPECT_EQ(Exists({"a", "b", "c"}), 0);
  EXPECT_EQ(ExpireDue(), 0);
}

TEST_F(TtlTest, DeletedOrRenamedKeyLeavesNoStaleDeadline) {
  PutWithTtl("deleted", "v", 10 * kSecond);
  PutWithTtl("getdel", "v", 10 * kSecond);
  PutWithTtl("renamed", "v", 10 * kSecond);
  ASSERT_EQ(Do([](Txn& t) { return keys::Del(t, {"deleted"}); }), 1);
  ASSERT_TRUE(Run([](Txn& t) { return strings::GetDel(t, "getdel"); }).ok());
  ASSERT_TRUE(Do([](Txn& t) { return keys::Rename(t, "renamed", "target"); }).ok());
  // Re-created without a TTL under the old names.
  Put("deleted", "new");
  Put("getdel", "new");
  Put("renamed", "new");
  EXPECT_EQ(Pttl("target"), 10 * kSecond);
  clock_.Advance(11 * kSecond);
  EXPECT_EQ(ExpireDue(), 1);  // only "target", which carries the moved TTL
  EXPECT_EQ(Get("deleted"), "new");
  EXPECT_EQ(Get("getdel"), "new");
  EXPECT_EQ(Get("renamed"), "new");
  EXPECT_EQ(Get("target"), std::nullopt);
  EXPECT_EQ(store().DbSize(0), 3);
}

TEST_F(TtlTest, FlushLeavesNoStaleDeadlines) {
  PutWithTtl("a", "v", kSecond, 0);
  PutWithTtl("b", "v", kSecond, 1);
  PutWithTtl("c", "v", kSecond, 2);
  ASSERT_TRUE(store().FlushDb(0).ok());
  ASSERT_TRUE(store().FlushAll().ok());
  Put("a", "new", 0);  // same name, no TTL
  clock_.Advance(2 * kSecond);
  EXPECT_EQ(ExpireDue(), 0);
  EXPECT_EQ(Get("a"), "new");
  for (int db = 0; db < Store::kNumDbs; ++db) {
    EXPECT_EQ(store().DbSize(db), db == 0 ? 1 : 0) << db;
  }
}

TEST_F(TtlTest, CommandsKeepTtlAsRedisDoes) {
  PutWithTtl("n", "1", 10 * kSecond);
  PutWithTtl("s", "ab", 10 * kSecond);
  MakeList("l", {"a"});
  ASSERT_TRUE(Expire("l", 10, 1000));
  ASSERT_EQ(Run([](Txn& t) { return strings::IncrBy(t, "n", 5); }).value(), 6);
  ASSERT_EQ(Run([](Txn& t) { return strings::Append(t, "s", "c"); }).value(), 3);
  ASSERT_EQ(Run([](Txn& t) { return lists::Push(t, "l", ListEnd::kRight, {"b"}); }).value(), 2);
  EXPECT_EQ(Pttl("n"), 10 * kSecond);
  EXPECT_EQ(Pttl("s"), 10 * kSecond);
  EXPECT_EQ(Pttl("l"), 10 * kSecond);
  clock_.Advance(10 * kSecond + 1);
  EXPECT_EQ(ExpireDue(), 3);
  EXPECT_EQ(store().DbSize(0), 0);
}

TEST_F(TtlTest, ExpiredKeyCountsAsAbsentForWrites) {
  PutWithTtl("nx", "old", kSecond);
  PutWithTtl("xx", "old", kSecond);
  PutWithTtl("n", "41", kSecond);
  PutWithTtl("s", "old", kSecond);
  MakeList("l", {"old1", "old2"});
  ASSERT_TRUE(Expire("l", 1, 1000));
  clock_.Advance(kSecond + 1);

  strings::SetOptions nx;
  nx.condition = strings::SetOptions::Condition::kNX;
  nx.get = true;
  auto r = Run([&](Txn& t) { return strings::Set(t, "nx", "new", nx); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->written);
  EXPECT_EQ(r->old_value, std::nullopt);
  EXPECT_EQ(Get("nx"), "new");
  EXPECT_EQ(Pttl("nx"), -1);

  strings::SetOptions xx;
  xx.condition = strings::SetOptions::Condition::kXX;
  r = Run([&](Txn& t) { return strings::Set(t, "xx", "new", xx); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->written);
  EXPECT_EQ(Exists({"xx"}), 0);

  EXPECT_EQ(Run([](Txn& t) { return strings::IncrBy(t, "n", 1); }).value(), 1);
  EXPECT_EQ(Pttl("n"), -1);
  EXPECT_EQ(Run([](Txn& t) { return strings::Append(t, "s", "x"); }).value(), 1);
  EXPECT_EQ(Get("s"), "x");

  auto pushed = Run([](Txn& t) { return lists::Push(t, "l", ListEnd::kRight, {"new"}); });
  EXPECT_EQ(pushed.value(), 1);
  EXPECT_EQ(Range("l"), Strings{"new"});
  EXPECT_EQ(Pttl("l"), -1);

  EXPECT_FALSE(ExpireAt("xx", Now() + kSecond));  // absent: nothing to expire
  auto renamed = Do([](Txn& t) { return keys::Rename(t, "xx", "y"); });
  EXPECT_EQ(renamed.code(), Status::Code::kNoSuchKey);

  EXPECT_EQ(ExpireDue(), 0);  // every expired key was already replaced or removed
  EXPECT_EQ(store().DbSize(0), 4);
}

TEST_F(TtlTest, ExpiredListElementsAreReclaimedByCompaction) {
  MakeList("l", {"a", "b", "c"});
  ASSERT_TRUE(Expire("l", 1, 1000));
  clock_.Advance(kSecond + 1);
  EXPECT_EQ(ExpireDue(), 1);
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "l"), 0);
}

TEST_F(TtlTest, RestartKeepsValuesAndTtls) {
  Put("p", "persistent");
  PutWithTtl("t", "temporary", 100 * kSecond);
  MakeList("l", {"a", "b"});
  ASSERT_TRUE(Expire("l", 50, 1000));
  PutWithTtl("t7", "db7", 30 * kSecond, 7);
  const int64_t t_deadline = Now() + 100 * kSecond;

  Reopen();
  EXPECT_EQ(Get("p"), "persistent");
  EXPECT_EQ(Get("t"), "temporary");
  EXPECT_EQ(Range("l"), (Strings{"a", "b"}));
  EXPECT_EQ(Get("t7", 7), "db7");
  EXPECT_EQ(Pttl("p"), -1);
  EXPECT_EQ(Pttl("t"), 100 * kSecond);
  EXPECT_EQ(Pttl("l"), 50 * kSecond);
  EXPECT_EQ(Pttl("t7", 7), 30 * kSecond);
  EXPECT_EQ(Do([](Txn& t) { return keys::ExpireTime(t, "t", 1); }), t_deadline);
  EXPECT_EQ(store().DbSize(0), 3);
  EXPECT_EQ(store().DbSize(7), 1);

  // The expiry index survived too: the expirer finds the due keys after the restart.
  clock_.Advance(60 * kSecond);
  EXPECT_EQ(ExpireDue(), 2);  // "l" and "t7"
  EXPECT_EQ(store().DbSize(0), 2);
  EXPECT_EQ(store().DbSize(7), 0);
  EXPECT_EQ(Type("l"), KeyType::kNone);
  clock_.Advance(50 * kSecond);
  EXPECT_EQ(ExpireDue(), 1);
  EXPECT_EQ(Get("t"), std::nullopt);
  EXPECT_EQ(Get("p"), "persistent");
}

TEST_F(TtlTest, KeyExpiredWhileStoppedIsGoneAfterRestart) {
  PutWithTtl("t", "v", 10 * kSecond);
  Put("p", "v");
  Reopen();
  clock_.Advance(11 * kSecond);
  EXPECT_EQ(Get("t"), std::nullopt);
  EXPECT_EQ(Exists({"t"}), 0);
  EXPECT_EQ(Keys("*"), Strings{"p"});
  EXPECT_EQ(ScanAll(), Strings{"p"});
  ExpireDue();
  EXPECT_EQ(store().DbSize(0), 1);
}

TEST_F(TtlTest, PersistAndOverwriteSurviveRestart) {
  PutWithTtl("persisted", "v", 10 * kSecond);
  PutWithTtl("overwritten", "v", 10 * kSecond);
  ASSERT_TRUE(Do([](Txn& t) { return keys::Persist(t, "persisted"); }));
  Put("overwritten", "v2");
  Reopen(Fsync::kAlways);
  EXPECT_EQ(Pttl("persisted"), -1);
  EXPECT_EQ(Pttl("overwritten"), -1);
  clock_.Advance(20 * kSecond);
  EXPECT_EQ(ExpireDue(), 0);
  EXPECT_EQ(Get("persisted"), "v");
  EXPECT_EQ(Get("overwritten"), "v2");
}

}  // namespace
}  // namespace redge::store
