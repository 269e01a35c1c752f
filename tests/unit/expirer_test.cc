// The cost of the active expirer (Store::ExpireDueKeys) under steady TTL traffic: what it
// expired leaves tombstones at the front of the expire index until RocksDB compacts them,
// and a pass that walked over them again would cost O(everything expired so far), so a
// store with keys expiring all the time slowed down minute by minute (found by
// tools/bench/soak: redge's CPU per request quadrupled in 60 s). RocksDB's perf context
// counts the deleted entries an iterator skipped; a pass must skip only a few.
#include <gtest/gtest.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include <cstdint>
#include <string>

#include "store/status.h"
#include "store/store.h"
#include "store/strings.h"
#include "store/txn.h"
#include "tests/unit/store_fixture.h"

namespace redge::store {
namespace {

class ExpirerTest : public testing::StoreTest {
 protected:
  void PutWithTtl(const std::string& key, int64_t ttl_ms) {
    auto r = Run([&](Txn& t) -> Result<strings::SetReply> {
      strings::SetOptions o;
      o.expire_at_ms = t.now_ms() + ttl_ms;
      return strings::Set(t, key, "v", o);
    });
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  // Runs ExpireDueKeys on this thread; returns {keys expired, deleted entries skipped}.
  std::pair<int64_t, uint64_t> ExpirePass() {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
    rocksdb::get_perf_context()->Reset();
    auto r = store().ExpireDueKeys();
    const uint64_t skipped = rocksdb::get_perf_context()->internal_delete_skipped_count;
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return {r.ok() ? *r : -1, skipped};
  }
};

TEST_F(ExpirerTest, APassDoesNotWalkOverWhatEarlierPassesExpired) {
  constexpr int kKeys = 5000;
  for (int i = 0; i < kKeys; ++i) PutWithTtl("old" + std::to_string(i), 1000 + i % 100);
  clock_.Advance(2000);
  EXPECT_EQ(ExpirePass().first, kKeys);

  // Traffic goes on: a few keys expire per pass, each pass as cheap as the first.
  for (int round = 0; round < 5; ++round) {
    PutWithTtl("new" + std::to_string(round), 10);
    clock_.Advance(20);
    auto [expired, skipped] = ExpirePass();
    EXPECT_EQ(expired, 1) << "round " << round;
    EXPECT_LT(skipped, 50u) << "round " << round << ": the pass walked over the " << kKeys
                            << " index entries expired before";
  }
  EXPECT_EQ(Get("new4"), std::nullopt);
}

TEST_F(ExpirerTest, AnEarlierDeadlineSetLaterIsStillExpired) {
  // The expirer remembers where the index's live entries start; a TTL shorter than any
  // seen so far must move that back, or its key would never be expired actively.
  PutWithTtl("late", 10'000);
  PutWithTtl("first", 100);
  clock_.Advance(200);
  EXPECT_EQ(ExpirePass().first, 1);
  PutWithTtl("soon", 50);  // due before "late", after what the expirer has passed
  clock_.Advance(100);
  EXPECT_EQ(ExpirePass().first, 1);
  EXPECT_EQ(store().DbSize(0), 1);  // only "late" is left, not even lazily
  clock_.Advance(10'000);
  EXPECT_EQ(ExpirePass().first, 1);
  EXPECT_EQ(store().DbSize(0), 0);
}

TEST_F(ExpirerTest, KeysExpireAfterARestart) {
  for (int i = 0; i < 100; ++i) PutWithTtl("k" + std::to_string(i), 100);
  clock_.Advance(200);
  EXPECT_EQ(ExpirePass().first, 100);
  PutWithTtl("after", 100);
  Reopen();
  clock_.Advance(200);
  EXPECT_EQ(ExpirePass().first, 1);
  EXPECT_EQ(store().DbSize(0), 0);
}

}  // namespace
}  // namespace redge::store
