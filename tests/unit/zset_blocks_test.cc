// Unit tests for the rank blocks of big sorted sets (store/zset_internal.h): ranks, rank
// ranges and counts stay exact under every write path while blocks split and merge, and a
// rank in the middle of a big set reads a bounded number of records instead of walking
// half the index.
#include <gtest/gtest.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/dump.h"
#include "store/zsets.h"
#include "tests/unit/zset_test_util.h"

namespace redge::store::testing {
namespace {

std::string Name(int i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "m%06d", i);
  return buf;
}

// The model: entries ordered as the index orders them.
using Ordered = std::set<std::pair<double, std::string>>;

class ZSetBlocksTest : public ZSetTest {
 protected:
  void Add(const std::vector<std::pair<double, std::string>>& pairs) {
    ZAdd("z", pairs);
    for (const auto& [s, m] : pairs) {
      auto it = scores_.find(m);
      if (it != scores_.end()) order_.erase({it->second, m});
      scores_[m] = s;
      order_.insert({s, m});
    }
  }
  void Forget(const std::string& m) {
    auto it = scores_.find(m);
    if (it == scores_.end()) return;
    order_.erase({it->second, m});
    scores_.erase(it);
  }
  std::vector<std::pair<double, std::string>> Slice(size_t from, size_t n) {
    std::vector<std::pair<double, std::string>> out;
    auto it = order_.begin();
    std::advance(it, std::min(from, order_.size()));
    for (; it != order_.end() && out.size() < n; ++it) out.push_back(*it);
    return out;
  }
  // Checks ranks, a rank range and a score count at random places against the model.
  void Check(std::mt19937_64& rng, int step) {
    ASSERT_EQ(Do([](Txn& t) { return zsets::Card(t, "z").value(); }),
              static_cast<int64_t>(order_.size()))
        << "step " << step;
    if (order_.empty()) return;
    for (int i = 0; i < 3; ++i) {
      const size_t at = rng() % order_.size();
      // A plain variable, not a structured binding: clang 14 cannot capture one in a lambda.
      const std::string member = Slice(at, 1)[0].second;
      auto rank = Run([&](Txn& t) { return zsets::Rank(t, "z", member, false); }).value();
      ASSERT_EQ(rank, static_cast<int64_t>(at)) << "step " << step << " " << member;
      auto rev = Run([&](Txn& t) { return zsets::Rank(t, "z", member, true); }).value();
      ASSERT_EQ(rev, static_cast<int64_t>(order_.size() - 1 - at)) << "step " << step;
    }
    const size_t from = rng() % order_.size();
    auto got = Run([&](Txn& t) {
                 return zsets::RangeByRank(t, "z", static_cast<int64_t>(from),
                                           static_cast<int64_t>(from + 4), false);
               }).value();
    auto want = Slice(from, 5);
    ASSERT_EQ(got.size(), want.size()) << "step " << step;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].member, want[i].second) << "step " << step << " rank " << from + i;
    }
    const double lo = static_cast<double>(rng() % 6000);
    const double hi = lo + static_cast<double>(rng() % 6000);
    auto range = Score("(" + std::to_string(lo), std::to_string(hi));
    int64_t n = 0;
    for (const auto& [s, m] : order_) n += (s > lo && s <= hi);
    ASSERT_EQ(Run([&](Txn& t) { return zsets::Count(t, "z", range); }).value(), n)
        << "step " << step << " (" << lo << " " << hi;
  }

  std::map<std::string, double> scores_;
  Ordered order_;
};

TEST_F(ZSetBlocksTest, RandomWritesKeepRanksAndCountsExact) {
  std::mt19937_64 rng(20261129);
  auto score = [&] { return static_cast<double>(rng() % 6000); };
  uint64_t blocks_read = 0;
  for (int step = 0; step < 400; ++step) {
    const int op = static_cast<int>(rng() % 9);
    // Grow to several thousand members (through the point where blocks are built), then
    // shrink by every removal path, then grow again.
    const bool growing = (step / 100) % 2 == 0;
    if (op <= 2 || (growing && op <= 5)) {
      std::vector<std::pair<double, std::string>> pairs;
      for (int i = 0, n = 1 + static_cast<int>(rng() % 120); i < n; ++i) {
        pairs.emplace_back(score(), Name(static_cast<int>(rng() % 20000)));
      }
      Add(pairs);
    } else if (op == 3 && !order_.empty()) {  // ZPOPMIN / ZPOPMAX bursts
      const bool max = rng() % 2;
      const int64_t n = 1 + static_cast<int64_t>(rng() % 300);
      auto r = Run([&](Txn& t) { return zsets::Pop(t, "z", max, n); }).value();
      for (const auto& e : r) Forget(e.member);
    } else if (op == 4) {  // ZREM of random members, present or not
      std::vector<std::string> names;
      for (int i = 0; i < 80; ++i) names.push_back(Name(static_cast<int>(rng() % 20000)));
      std::vector<std::string_view> views(names.begin(), names.end());
      auto r = Run([&](Txn& t) { return zsets::Rem(t, "z", views); }).value();
      int64_t n = 0;
      std::set<std::string> once(names.begin(), names.end());
      for (const auto& m : once) n += scores_.count(m) ? (Forget(m), 1) : 0;
      ASSERT_EQ(r, n) << "step " << step;
    } else if (op == 5 && !order_.empty()) {  // ZREMRANGEBYRANK in the middle
      const int64_t start = static_cast<int64_t>(rng() % order_.size());
      const int64_t stop = start + static_cast<int64_t>(rng() % 200);
      for (const auto& [s, m] : Slice(static_cast<size_t>(start), stop - start + 1)) Forget(m);
      ASSERT_TRUE(Run([&](Txn& t) { return zsets::RemRangeByRank(t, "z", start, stop); }).ok());
    } else if (op == 6) {  // ZREMRANGEBYSCORE in the middle
      const double lo = score();
      const double hi = lo + static_cast<double>(rng() % 300);
      auto range = Score(std::to_string(lo), std::to_string(hi));
      std::vector<std::string> doomed;
      for (const auto& [s, m] : order_) {
        if (s >= lo && s <= hi) doomed.push_back(m);
      }
      for (const auto& m : doomed) Forget(m);
      ASSERT_EQ(Run([&](Txn& t) { return zsets::RemRangeByScore(t, "z", range); }).value(),
                static_cast<int64_t>(doomed.size()));
    } else {  // score updates of existing members (index entries move between blocks)
      std::vector<std::pair<double, std::string>> pairs;
      for (int i = 0; i < 60 && !order_.empty(); ++i) {
        pairs.emplace_back(score(), Slice(rng() % order_.size(), 1)[0].second);
      }
      Add(pairs);
    }
    const uint64_t before = zsets::RankBlocksVisited();
    Check(rng, step);
    if (HasFatalFailure()) return;
    blocks_read += zsets::RankBlocksVisited() - before;
  }
  EXPECT_GT(blocks_read, 0u);  // the big phases were answered from blocks
}

TEST_F(ZSetBlocksTest, AMiddleRankReadsBoundedRecords) {
  constexpr int kMembers = 100000;
  std::vector<std::pair<double, std::string>> pairs;
  for (int i = 0; i < kMembers; ++i) pairs.emplace_back(i, Name(i));
  ZAdd("z", pairs);
  struct Cost {
    uint64_t index, blocks;
  };
  auto cost = [](auto&& fn) {
    const uint64_t i0 = zsets::IndexEntriesVisited(), b0 = zsets::RankBlocksVisited();
    fn();
    return Cost{zsets::IndexEntriesVisited() - i0, zsets::RankBlocksVisited() - b0};
  };
  // 100,000 members make 196 blocks: a middle rank reads about half of them and at most one
  // block of entries, where a walk from the nearer end visited 50,000 entries.
  std::optional<int64_t> rank;
  Cost c = cost(
      [&] { rank = Run([](Txn& t) { return zsets::Rank(t, "z", "m050000", false); }).value(); });
  EXPECT_EQ(rank, 50000);
  EXPECT_LE(c.index, 96u + 1024u);
  EXPECT_LE(c.blocks, 200u);
  Entries got;
  c = cost([&] {
    got = Run([](Txn& t) { return zsets::RangeByRank(t, "z", 60000, 60009, false); }).value();
  });
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got.front().member, "m060000");
  EXPECT_LE(c.index, 1024u + 10u);
  EXPECT_LE(c.blocks, 200u);
  auto range = Score("(10000", "90000");
  int64_t n = 0;
  c = cost([&] { n = Run([&](Txn& t) { return zsets::Count(t, "z", range); }).value(); });
  EXPECT_EQ(n, 80000);
  EXPECT_LE(c.index, 3u * 1024u);
  EXPECT_LE(c.blocks, 2u * 200u);
  // Inserting into one block splits it; ranks on both sides stay exact.
  std::vector<std::pair<double, std::string>> more;
  for (int i = 0; i < 3000; ++i) more.emplace_back(50000.5, "n" + Name(i));
  ZAdd("z", more);
  c = cost(
      [&] { rank = Run([](Txn& t) { return zsets::Rank(t, "z", "m050001", false); }).value(); });
  EXPECT_EQ(rank, 50001 + 3000);
  EXPECT_LE(c.index, 96u + 1024u);
  rank = Run([](Txn& t) { return zsets::Rank(t, "z", "nm001500", false); }).value();
  EXPECT_EQ(rank, 50001 + 1500);
  // Near the ends a rank is still a short walk from that end, with no block read.
  c = cost(
      [&] { rank = Run([](Txn& t) { return zsets::Rank(t, "z", "m099990", true); }).value(); });
  EXPECT_EQ(rank, 9);
  EXPECT_LE(c.index, 64u);
  EXPECT_EQ(c.blocks, 0u);
}

TEST_F(ZSetBlocksTest, RandomMembersOfABigSetAreFoundThroughTheBlocks) {
  constexpr int kMembers = 100000;
  std::vector<std::pair<double, std::string>> pairs;
  for (int i = 0; i < kMembers; ++i) pairs.emplace_back(i, Name(i));
  ZAdd("z", pairs);
  uint64_t index = 0;
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    const uint64_t before = zsets::IndexEntriesVisited();
    auto e = Run([](Txn& t) { return zsets::RandomMember(t, "z"); }).value();
    index += zsets::IndexEntriesVisited() - before;
    EXPECT_EQ(e.member, Name(static_cast<int>(e.score)));  // a real entry, its own score
    seen.insert(e.member);
  }
  // A walk to a random rank visited 50,000 entries on average; one block holds 1,024 at most.
  EXPECT_LE(index, 20u * (96u + 1024u));
  EXPECT_GT(seen.size(), 15u);
  // Negative counts draw with repetition, each draw a real entry with its score.
  auto drawn = Run([](Txn& t) { return zsets::RandomMembers(t, "z", -30); }).value();
  ASSERT_EQ(drawn.size(), 30u);
  for (const auto& e : drawn) EXPECT_EQ(e.member, Name(static_cast<int>(e.score)));
  auto distinct = Run([](Txn& t) { return zsets::RandomMembers(t, "z", 25); }).value();
  ASSERT_EQ(distinct.size(), 25u);
  std::set<std::string> names;
  for (const auto& e : distinct) {
    EXPECT_EQ(e.member, Name(static_cast<int>(e.score)));
    names.insert(e.member);
  }
  EXPECT_EQ(names.size(), 25u);
}

// A binary without rank blocks keeps the metadata extras it does not know, so after a
// downgrade and an upgrade a set can carry a marker whose blocks missed some writes. The
// marker holds the count its blocks were kept for: such a set must be walked, and rebuilt
// at its next insert, never trusted again because a later write re-stamped it.
TEST_F(ZSetBlocksTest, AStaleMarkerIsNeverTrusted) {
  std::vector<std::pair<double, std::string>> pairs;
  for (int i = 0; i < 3000; ++i) pairs.emplace_back(i, Name(i));
  Add(pairs);
  // What an older binary's ZADD of three low entries does: member and index records and
  // the count, nothing else.
  ASSERT_TRUE(store()
                  .Exec(0,
                        [](Txn& t) {
                          auto meta = t.GetMeta("z");
                          ASSERT_TRUE(meta.ok());
                          for (const char* m : {"a", "b", "c"}) {
                            std::string score(8, '\0');
                            const double v = -1;
                            memcpy(score.data(), &v, 8);
                            t.PutElement("z", meta->version, zsets::MemberSub(m), score);
                            t.PutElement("z", meta->version, zsets::IndexSub(-1, m), "");
                          }
                          meta->count += 3;
                          t.PutMeta("z", *meta);
                        })
                  .ok());
  for (const char* m : {"a", "b", "c"}) scores_[m] = -1, order_.insert({-1, m});
  std::mt19937_64 rng(7);
  Check(rng, 0);  // walked: exact
  // A removal and an insert by this binary: the first drops the stale marker, the second
  // rebuilds the blocks.
  std::vector<std::string_view> gone = {"m001000"};
  ASSERT_EQ(Run([&](Txn& t) { return zsets::Rem(t, "z", gone); }).value(), 1);
  Forget("m001000");
  Check(rng, 1);
  Add({{2500.5, "new"}});
  Check(rng, 2);
  const uint64_t before = zsets::RankBlocksVisited();
  auto rank = Run([](Txn& t) { return zsets::Rank(t, "z", "m001500", false); }).value();
  EXPECT_EQ(rank, 3 + 1500 - 1);
  EXPECT_GT(zsets::RankBlocksVisited(), before);  // answered from the rebuilt blocks
}

// ZPOPMIN leaves the tombstones of the popped index entries right after the rank block
// records. Several pops in one write batch (pipelined clients' commands share one) each
// look up their block, which the previous pop of the batch rewrote: that lookup once
// stepped past the block into every tombstone (ZPOPMIN at 2,000/s instead of 40,000/s).
TEST_F(ZSetBlocksTest, PopsInOneBatchDoNotWalkThePoppedTombstones) {
  // Runs of 512 are cut from the start, so the last run (the one with no end, after which
  // the index's tombstones lie) holds the last 400 or more: the batch's pops land in it.
  constexpr int kMembers = 512 * 39 + 400;
  std::vector<std::pair<double, std::string>> pairs;
  for (int i = 0; i < kMembers; ++i) pairs.emplace_back(i, Name(i));
  ZAdd("z", pairs);
  for (int left = kMembers - 300; left > 0; left -= 100) {  // one commit per 100 pops
    const int n = std::min(left, 100);
    ASSERT_EQ(Run([n](Txn& t) { return zsets::Pop(t, "z", false, n); }).value().size(),
              static_cast<size_t>(n));
  }
  uint64_t skipped = 0;
  std::vector<std::string> popped;
  ASSERT_TRUE(store()
                  .Exec(0,
                        [&](Txn& t) {
                          rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
                          rocksdb::get_perf_context()->Reset();
                          for (int i = 0; i < 20; ++i) {  // twenty ZPOPMIN commands
                            auto got = zsets::Pop(t, "z", false, 1);
                            ASSERT_TRUE(got.ok());
                            ASSERT_EQ(got->size(), 1u);
                            popped.push_back(got->front().member);
                          }
                          skipped = rocksdb::get_perf_context()->internal_delete_skipped_count;
                          rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
                        })
                  .ok());
  ASSERT_EQ(popped.size(), 20u);
  EXPECT_EQ(popped.front(), Name(kMembers - 300));
  EXPECT_EQ(popped.back(), Name(kMembers - 281));
  // Before the fix: about 20 x 20,000 tombstones stepped over.
  EXPECT_LT(skipped, 2000u);
}

TEST_F(ZSetBlocksTest, DumpCarriesNoBlocksAndRestoreRebuildsThem) {
  std::vector<std::pair<double, std::string>> pairs;
  for (int i = 0; i < 5000; ++i) pairs.emplace_back(i % 700, Name(i));
  ZAdd("z", pairs);
  auto payload = Run([](Txn& t) { return dump::Dump(t, "z"); }).value();
  ASSERT_TRUE(Run([&](Txn& t) { return dump::Restore(t, "copy", payload, 0); }).ok());
  // The dump holds exactly the member and index records: a payload does not depend on
  // how big the set was when it was dumped.
  for (const char* member : {"m000000", "m002500", "m004999", "m001234"}) {
    auto a = Run([&](Txn& t) { return zsets::Rank(t, "z", member, false); }).value();
    auto b = Run([&](Txn& t) { return zsets::Rank(t, "copy", member, false); }).value();
    EXPECT_EQ(a, b) << member;
  }
  const uint64_t before = zsets::RankBlocksVisited();
  auto got = Run([](Txn& t) { return zsets::RangeByRank(t, "copy", 2500, 2500, false); }).value();
  EXPECT_GT(zsets::RankBlocksVisited(), before);  // the restored set has its blocks
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], All("z")[2500]);
}

TEST(ZSetDumpRecordsTest, RestoreAcceptsOnlyWhatDumpWrites) {
  auto score = [](double s) {
    std::string v(8, '\0');
    memcpy(v.data(), &s, 8);
    return v;
  };
  using Records = std::vector<std::pair<std::string_view, std::string_view>>;
  const std::string ma = zsets::MemberSub("a"), mb = zsets::MemberSub("b");
  const std::string ia = zsets::IndexSub(1, "a"), ib = zsets::IndexSub(2, "b");
  const std::string one = score(1), two = score(2), nan = score(std::nan(""));
  EXPECT_TRUE(zsets::ValidDumpRecords(Records{{ma, one}, {mb, two}, {ia, ""}, {ib, ""}}, 2));
  // A member twice and another without its member record.
  EXPECT_FALSE(zsets::ValidDumpRecords(Records{{ma, one}, {ma, one}, {ia, ""}, {ib, ""}}, 2));
  // An index record whose score is not the member's.
  EXPECT_FALSE(zsets::ValidDumpRecords(Records{{ma, two}, {ia, ""}}, 1));
  EXPECT_FALSE(zsets::ValidDumpRecords(Records{{ma, nan}, {ia, ""}}, 1));
  EXPECT_FALSE(zsets::ValidDumpRecords(Records{{ma, "x"}, {ia, ""}}, 1));
  // A rank-block record is derived data: never accepted from a payload.
  EXPECT_FALSE(zsets::ValidDumpRecords(Records{{ma, one}, {"r", one}}, 1));
  EXPECT_FALSE(zsets::ValidDumpRecords(Records{{ma, one}, {ia, ""}}, 2));
}

}  // namespace
}  // namespace redge::store::testing
