// Unit tests for OBJECT's store side: the tagged metadata extras (and old records that
// predate them), the encodings Redis 7.0 would report with its one-way conversions
// (store/object.h), the access tracker behind IDLETIME/FREQ, and expiry paused by CLIENT
// PAUSE.

#include "store/object.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "store/access_tracker.h"
#include "store/hashes.h"
#include "store/keys.h"
#include "store/lists.h"
#include "store/meta_extras.h"
#include "store/sets.h"
#include "store/store.h"
#include "store/strings.h"
#include "store/txn.h"
#include "store/zset_internal.h"
#include "store/zsets.h"
#include "tests/unit/store_fixture.h"

namespace redge::store::testing {
namespace {

using Views = std::vector<std::string_view>;

// --- Extras format ----------------------------------------------------------------------

TEST(MetaExtrasTest, RecordsCoexistAndEraseLeavesOthers) {
  std::string raw;
  EXPECT_FALSE(extras::Get(raw, extras::kConverted));
  extras::Put(&raw, extras::kConverted, "");
  extras::Put(&raw, extras::kZSetHints,
              std::string("\x01\x00\x00\x00"
                          "ab",
                          6));
  ASSERT_TRUE(extras::Get(raw, extras::kConverted));
  EXPECT_EQ(*extras::Get(raw, extras::kConverted), "");
  EXPECT_EQ(*extras::Get(raw, extras::kZSetHints), std::string("\x01\x00\x00\x00"
                                                               "ab",
                                                               6));
  extras::Put(&raw, extras::kZSetHints, "xyz");  // replaced, not duplicated
  EXPECT_EQ(*extras::Get(raw, extras::kZSetHints), "xyz");
  extras::Erase(&raw, extras::kZSetHints);
  EXPECT_FALSE(extras::Get(raw, extras::kZSetHints));
  EXPECT_TRUE(extras::Get(raw, extras::kConverted));
  extras::Erase(&raw, extras::kConverted);
  EXPECT_EQ(raw, "");  // no records left: empty, as a record that never had extras
}

TEST(MetaExtrasTest, UnknownTagsSurviveRewrites) {
  std::string raw;
  extras::Put(&raw, 'z', "future");
  extras::Put(&raw, extras::kConverted, "");
  extras::Erase(&raw, extras::kConverted);
  ASSERT_TRUE(extras::Get(raw, 'z'));
  EXPECT_EQ(*extras::Get(raw, 'z'), "future");
}

TEST(MetaExtrasTest, LegacyHintsDecodeAsTheHintsRecord) {
  // The format before tagged extras: 'h', low length (4 bytes LE), low, high.
  std::string legacy = "h";
  const uint32_t low_len = 3;
  legacy.append(reinterpret_cast<const char*>(&low_len), 4);
  legacy += "LOWhigh";
  auto hints = extras::Get(legacy, extras::kZSetHints);
  ASSERT_TRUE(hints);
  EXPECT_EQ(hints->substr(4), "LOWhigh");
  EXPECT_FALSE(extras::Get(legacy, extras::kConverted));
  Meta meta;
  meta.type = KeyType::kZSet;
  meta.value = legacy;
  auto h = zsets::internal::ReadHints(meta);
  EXPECT_EQ(h.low, "LOW");
  EXPECT_EQ(h.high, "high");
  // Adding a record converts the whole thing to the new format, hints kept.
  object::MarkConverted(&meta);
  EXPECT_EQ(meta.value[0], extras::kVersion1);
  h = zsets::internal::ReadHints(meta);
  EXPECT_EQ(h.low, "LOW");
  EXPECT_EQ(h.high, "high");
  EXPECT_TRUE(object::IsConverted(meta));
}

TEST(MetaExtrasTest, MalformedExtrasReadAsNone) {
  EXPECT_FALSE(extras::Get(std::string("\x01"
                                       "c\x09\x00\x00\x00"
                                       "ab",
                                       8),
                           extras::kConverted));
  EXPECT_FALSE(extras::Get("garbage", extras::kConverted));
}

class ObjectTest : public StoreTest {
 protected:
  std::string Encoding(const std::string& key) {
    auto r = Run([&](Txn& t) -> Result<std::string> {
      auto m = t.GetMeta(key);
      if (!m.ok()) return m.status();
      return object::EncodingName(*m);
    });
    EXPECT_TRUE(r.ok()) << key << ": " << r.status().message();
    return r.ok() ? *r : "";
  }
};

// A sorted set stored in the old format (hints only, no version byte) keeps working: its
// hints steer the walks, and the next write stores the tagged format.
TEST_F(ObjectTest, OldSortedSetRecordsStillDecode) {
  ASSERT_TRUE(Run([](Txn& t) {
                return zsets::Add(t, "z", {}, {{1, "a"}, {2, "b"}, {3, "c"}});
              }).ok());
  Status s = store().Exec(0, [](Txn& t) {
    auto m = t.GetMeta("z");
    ASSERT_TRUE(m.ok());
    Meta meta = *m;
    const std::string low = zsets::IndexSub(1, "a"), high = zsets::IndexSub(3, "c");
    std::string legacy = "h";
    const auto low_len = static_cast<uint32_t>(low.size());
    legacy.append(reinterpret_cast<const char*>(&low_len), 4);
    legacy += low + high;
    meta.value = legacy;
    t.PutMeta("z", meta);
  });
  ASSERT_TRUE(s.ok());
  auto range = Run([](Txn& t) { return zsets::RangeByRank(t, "z", 0, -1, false); });
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->size(), 3u);
  EXPECT_EQ((*range)[0].member, "a");
  EXPECT_EQ(Encoding("z"), "listpack");
  auto popped = Run([](Txn& t) { return zsets::Pop(t, "z", false, 1); });
  ASSERT_TRUE(popped.ok());
  EXPECT_EQ((*popped)[0].member, "a");
  auto raw = Run([](Txn& t) -> Result<std::string> {
    auto m = t.GetMeta("z");
    if (!m.ok()) return m.status();
    return m->value;
  });
  ASSERT_TRUE(raw.ok());
  ASSERT_FALSE(raw->empty());
  EXPECT_EQ((*raw)[0], extras::kVersion1);
  auto rest = Run([](Txn& t) { return zsets::RangeByRank(t, "z", 0, -1, false); });
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].member, "b");
}

// --- Strings ------------------------------------------------------------------------------

TEST_F(ObjectTest, StringEncodingsFollowTheLastWrite) {
  Put("i", "12345");
  EXPECT_EQ(Encoding("i"), "int");
  Put("neg", "-9223372036854775808");
  EXPECT_EQ(Encoding("neg"), "int");
  Put("big", "9223372036854775808");  // does not fit a long long
  EXPECT_EQ(Encoding("big"), "embstr");
  Put("zero", "012");  // leading zero: not an integer for Redis
  EXPECT_EQ(Encoding("zero"), "embstr");
  Put("e", std::string(44, 'x'));
  EXPECT_EQ(Encoding("e"), "embstr");
  Put("r", std::string(45, 'x'));
  EXPECT_EQ(Encoding("r"), "raw");
  // In-place edits make raw strings whatever the length.
  ASSERT_TRUE(Run([](Txn& t) { return strings::Append(t, "i", "6"); }).ok());
  EXPECT_EQ(Encoding("i"), "raw");
  ASSERT_TRUE(Run([](Txn& t) { return strings::Append(t, "new", "7"); }).ok());
  EXPECT_EQ(Encoding("new"), "int");  // APPEND to a missing key is a plain SET
  ASSERT_TRUE(Run([](Txn& t) { return strings::SetRange(t, "sr", 0, "1"); }).ok());
  EXPECT_EQ(Encoding("sr"), "raw");
  Put("sr2", "1234");
  ASSERT_TRUE(Run([](Txn& t) { return strings::SetRange(t, "sr2", 0, ""); }).ok());
  EXPECT_EQ(Encoding("sr2"), "int");  // nothing written, nothing changed
  // INCR gives ints again; INCRBYFLOAT never does.
  ASSERT_TRUE(Run([](Txn& t) { return strings::IncrBy(t, "i", 1); }).ok());
  EXPECT_EQ(Encoding("i"), "int");
  Put("f", "1");
  ASSERT_TRUE(Run([](Txn& t) { return strings::IncrByFloat(t, "f", "2"); }).ok());
  EXPECT_EQ(*Get("f"), "3");
  EXPECT_EQ(Encoding("f"), "embstr");
  Put("f", "1");
  EXPECT_EQ(Encoding("f"), "int");
}

// --- Collections -------------------------------------------------------------------------

TEST_F(ObjectTest, HashesConvertOnceAndStayConverted) {
  auto hset = [&](std::string_view f, std::string_view v) {
    return Run([&](Txn& t) { return hashes::Set(t, "h", {{f, v}}); });
  };
  ASSERT_TRUE(hset("f", "v").ok());
  EXPECT_EQ(Encoding("h"), "listpack");
  ASSERT_TRUE(hset("long", std::string(65, 'v')).ok());
  EXPECT_EQ(Encoding("h"), "hashtable");
  ASSERT_TRUE(Run([](Txn& t) { return hashes::Del(t, "h", {"long"}); }).ok());
  EXPECT_EQ(Encoding("h"), "hashtable");  // never back
  // The entry limit, read at each write.
  store().encoding_limits().hash_max_listpack_entries = 2;
  ASSERT_TRUE(Run([](Txn& t) { return hashes::Set(t, "h2", {{"a", "1"}, {"b", "2"}}); }).ok());
  EXPECT_EQ(Encoding("h2"), "listpack");
  ASSERT_TRUE(Run([](Txn& t) { return hashes::IncrBy(t, "h2", "c", 1); }).ok());
  EXPECT_EQ(Encoding("h2"), "hashtable");
  // HSETNX checks its arguments' lengths even when the field exists (Redis converts first).
  ASSERT_TRUE(Run([](Txn& t) { return hashes::Set(t, "h3", {{"a", "1"}}); }).ok());
  auto nx = Run([](Txn& t) { return hashes::SetNX(t, "h3", "a", std::string(100, 'x')); });
  ASSERT_TRUE(nx.ok());
  EXPECT_FALSE(*nx);
  EXPECT_EQ(Encoding("h3"), "hashtable");
}

TEST_F(ObjectTest, SetsAreIntsetsWhileEveryMemberIsAnInteger) {
  ASSERT_TRUE(Run([](Txn& t) { return sets::Add(t, "s", {"1", "2", "-3"}); }).ok());
  EXPECT_EQ(Encoding("s"), "intset");
  ASSERT_TRUE(Run([](Txn& t) { return sets::Add(t, "s", {"x"}); }).ok());
  EXPECT_EQ(Encoding("s"), "hashtable");
  ASSERT_TRUE(Run([](Txn& t) { return sets::Rem(t, "s", {"x"}); }).ok());
  EXPECT_EQ(Encoding("s"), "hashtable");
  // Too many entries.
  store().encoding_limits().set_max_intset_entries = 3;
  ASSERT_TRUE(Run([](Txn& t) { return sets::Add(t, "t", {"1", "2", "3"}); }).ok());
  EXPECT_EQ(Encoding("t"), "intset");
  ASSERT_TRUE(Run([](Txn& t) { return sets::Add(t, "t", {"4"}); }).ok());
  EXPECT_EQ(Encoding("t"), "hashtable");
  // SMOVE into a new destination: the moved member decides.
  ASSERT_TRUE(Run([](Txn& t) { return sets::Add(t, "src", {"a", "5"}); }).ok());
  ASSERT_TRUE(Run([](Txn& t) { return sets::Move(t, "src", "d1", "5"); }).ok());
  EXPECT_EQ(Encoding("d1"), "intset");
  ASSERT_TRUE(Run([](Txn& t) { return sets::Move(t, "src", "d2", "a"); }).ok());
  EXPECT_EQ(Encoding("d2"), "hashtable");
  // STORE results are new sets: their own content decides.
  ASSERT_TRUE(Run([](Txn& t) { return sets::Add(t, "mixed", {"1", "2", "b"}); }).ok());
  ASSERT_TRUE(Run([](Txn& t) { return sets::Add(t, "ints", {"1", "2"}); }).ok());
  ASSERT_TRUE(Run([](Txn& t) {
                return sets::CombineStore(t, sets::SetOp::kInter, "res", {"mixed", "ints"});
              }).ok());
  EXPECT_EQ(Encoding("res"), "intset");
  ASSERT_TRUE(Run([](Txn& t) {
                return sets::CombineStore(t, sets::SetOp::kUnion, "res", {"mixed", "ints"});
              }).ok());
  EXPECT_EQ(Encoding("res"), "hashtable");
}

TEST_F(ObjectTest, SpopRewriteBuildsANewSet) {
  // Redis's SPOP case 3 (few members remain) rebuilds the set from what stays: a
  // hashtable whose remaining members are integers becomes an intset again.
  ASSERT_TRUE(Run([](Txn& t) {
                return sets::Add(t, "s", {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "1"});
              }).ok());
  EXPECT_EQ(Encoding("s"), "hashtable");
  bool saw_intset = false, saw_hashtable = false;
  for (int i = 0; i < 200 && !(saw_intset && saw_hashtable); ++i) {
    ASSERT_TRUE(Run([](Txn& t) {
                  return sets::Add(t, "p", {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "1"});
                }).ok());
    auto popped = Run([](Txn& t) { return sets::PopCount(t, "p", 10); });
    ASSERT_TRUE(popped.ok());
    auto left = Run([](Txn& t) { return sets::Members(t, "p"); });
    ASSERT_TRUE(left.ok());
    ASSERT_EQ(left->size(), 1u);
    const std::string enc = Encoding("p");
    EXPECT_EQ(enc, (*left)[0] == "1" ? "intset" : "hashtable") << (*left)[0];
    (enc == "intset" ? saw_intset : saw_hashtable) = true;
    ASSERT_TRUE(Run([](Txn& t) { return sets::PopCount(t, "p", 1); }).ok());
  }
  EXPECT_TRUE(saw_intset);
  EXPECT_TRUE(saw_hashtable);
}

TEST_F(ObjectTest, SortedSetsConvertOnEntriesOrMemberLength) {
  store().encoding_limits().zset_max_listpack_entries = 2;
  auto zadd = [&](std::string key, std::string member) {
    return Run([&](Txn& t) { return zsets::Add(t, key, {}, {{1.0, member}}); });
  };
  ASSERT_TRUE(zadd("z", "a").ok());
  ASSERT_TRUE(zadd("z", "b").ok());
  EXPECT_EQ(Encoding("z"), "listpack");
  ASSERT_TRUE(zadd("z", "b").ok());  // an update, not an insertion
  EXPECT_EQ(Encoding("z"), "listpack");
  ASSERT_TRUE(zadd("z", "c").ok());
  EXPECT_EQ(Encoding("z"), "skiplist");
  ASSERT_TRUE(Run([](Txn& t) { return zsets::Pop(t, "z", false, 2); }).ok());
  EXPECT_EQ(Encoding("z"), "skiplist");
  ASSERT_TRUE(zadd("long", std::string(65, 'm')).ok());
  EXPECT_EQ(Encoding("long"), "skiplist");
  // A stored result is a new object: compact again if it fits.
  auto stored = Run([](Txn& t) {
    return zsets::StoreEntries(t, "dst", {{"x", 1}, {"y", 2}}, "zunionstore");
  });
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(Encoding("dst"), "listpack");
  stored = Run([](Txn& t) {
    return zsets::StoreEntries(t, "dst", {{"x", 1}, {"y", 2}, {"z", 3}}, "zunionstore");
  });
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(Encoding("dst"), "skiplist");
  // The sticky marker and the seek hints live side by side.
  auto range = Run([](Txn& t) { return zsets::RangeByRank(t, "dst", 0, -1, false); });
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->size(), 3u);
}

TEST_F(ObjectTest, CopyAndRenameKeepTheEncoding) {
  ASSERT_TRUE(Run([](Txn& t) { return sets::Add(t, "s", {"1", "a"}); }).ok());
  ASSERT_TRUE(Run([](Txn& t) { return sets::Rem(t, "s", {"a"}); }).ok());
  ASSERT_TRUE(Run([](Txn& t) { return keys::Copy(t, "s", 0, "c", false); }).ok());
  EXPECT_EQ(Encoding("c"), "hashtable");
  ASSERT_TRUE(Run([](Txn& t) { return keys::Rename(t, "c", "r"); }).ok());
  EXPECT_EQ(Encoding("r"), "hashtable");
  ASSERT_TRUE(Run([](Txn& t) { return lists::Push(t, "l", ListEnd::kLeft, {"x"}, false); }).ok());
  EXPECT_EQ(Encoding("l"), "quicklist");
}

// --- Access times --------------------------------------------------------------------------

TEST_F(ObjectTest, IdleTimeCountsFromTheLastAccess) {
  Put("k", "v");
  auto idle = [&] { return Do([](Txn& t) { return t.IdleMs("k"); }); };
  EXPECT_EQ(idle(), 0);
  clock_.Advance(3000);
  EXPECT_EQ(idle(), 3000);
  // Reads under NoTouch (TYPE, TTL, EXISTS, OBJECT) leave it alone.
  Do([](Txn& t) {
    Txn::NoTouch no_touch(t);
    return keys::Type(t, "k");
  });
  EXPECT_EQ(idle(), 3000);
  ASSERT_TRUE(Get("k"));
  EXPECT_EQ(idle(), 0);
}

TEST(AccessTrackerTest, UntrackedKeysReportALowerBound) {
  AccessTracker t(2, 1000);
  const AccessTracker::LfuParams lfu;
  EXPECT_EQ(t.IdleMs(0, "never", 5000), 4000);  // idle since the start at least
  t.Touch(0, "a", 2000, lfu);
  t.Touch(0, "b", 3000, lfu);
  t.Touch(0, "c", 4000, lfu);  // pushes "a" out
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.IdleMs(0, "c", 5000), 1000);
  EXPECT_EQ(t.IdleMs(0, "a", 5000), 3000);  // since its own last access, known exactly
  t.Touch(0, "d", 4500, lfu);               // pushes "b" (last access 3000) out
  EXPECT_EQ(t.IdleMs(0, "b", 5000), 2000);
  EXPECT_EQ(t.IdleMs(0, "a", 5000), 2000);  // a lower bound now: at least since 3000
}

TEST(AccessTrackerTest, SwapDbsMovesEntries) {
  AccessTracker t(10, 0);
  const AccessTracker::LfuParams lfu;
  t.Touch(0, "k", 1000, lfu);
  t.Touch(1, "k", 2000, lfu);
  t.SwapDbs(0, 1);
  EXPECT_EQ(t.IdleMs(0, "k", 3000), 1000);
  EXPECT_EQ(t.IdleMs(1, "k", 3000), 2000);
}

TEST(AccessTrackerTest, LfuCounterStartsAtFiveAndDecays) {
  AccessTracker t(10, 0);
  AccessTracker::LfuParams lfu{true, 10, 1};
  t.Touch(0, "k", 0, lfu);
  EXPECT_EQ(t.Frequency(0, "k", 0, lfu), 5);
  t.Touch(0, "k", 0, lfu);  // counter 5 is incremented with probability 1
  EXPECT_EQ(t.Frequency(0, "k", 0, lfu), 6);
  EXPECT_EQ(t.Frequency(0, "k", 3 * 60 * 1000, lfu), 3);  // one per minute of decay time
  EXPECT_EQ(t.Frequency(0, "k", 60 * 60 * 1000, lfu), 0);
  EXPECT_EQ(t.Frequency(0, "missing", 0, lfu), 0);
}

// --- Expiry paused (CLIENT PAUSE) ---------------------------------------------------------

TEST_F(ObjectTest, PausedExpiryHidesKeysWithoutDeletingThem) {
  ASSERT_TRUE(Run([](Txn& t) {
                strings::SetOptions o;
                o.expire_at_ms = t.now_ms() + 10;
                return strings::Set(t, "k", "v", o);
              }).ok());
  store().SetExpiryPaused(true);
  clock_.Advance(20);
  EXPECT_FALSE(Get("k"));
  auto expired = store().ExpireDueKeys();
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 0);
  EXPECT_EQ(store().GetStats().keys_expired, 0);
  EXPECT_EQ(store().DbSize(0), 1);  // still there, logically expired
  store().SetExpiryPaused(false);
  EXPECT_FALSE(Get("k"));
  EXPECT_EQ(store().GetStats().keys_expired, 1);
  EXPECT_EQ(store().DbSize(0), 0);
}

TEST(AccessTrackerTest, FlushForgetsItsDatabasesAndSwapMovesTheRest) {
  AccessTracker t(100, 0);
  const AccessTracker::LfuParams lfu;
  t.Touch(0, "a", 1000, lfu);
  t.Touch(1, "b", 2000, lfu);
  t.Touch(2, "c", 3000, lfu);
  t.Touch(3, "d", 4000, lfu);
  t.ForgetDbs(1, 2);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.IdleMs(0, "a", 5000), 4000);
  EXPECT_EQ(t.IdleMs(3, "d", 5000), 1000);
  EXPECT_EQ(t.IdleMs(1, "b", 5000), 5000);  // forgotten: idle since the start, at least
  t.SwapDbs(0, 3);
  EXPECT_EQ(t.IdleMs(3, "a", 5000), 4000);
  EXPECT_EQ(t.IdleMs(0, "d", 5000), 1000);
}

}  // namespace
}  // namespace redge::store::testing
