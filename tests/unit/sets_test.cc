// Unit tests for store/sets.h: every set command against a real Store with Redis 7.0's
// semantics (counts, reply order, empty-set deletion, WRONGTYPE, TTLs, random members,
// the STORE forms, SSCAN cursors, compaction of deleted elements).

#include "store/sets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
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

using Strings = std::vector<std::string>;
using Views = std::vector<std::string_view>;
using sets::SetOp;

constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

double ChiSquare(const std::map<std::string, int>& counts, int buckets, int draws) {
  double expected = static_cast<double>(draws) / buckets;
  double chi = 0;
  for (const auto& [k, n] : counts) chi += (n - expected) * (n - expected) / expected;
  chi += (buckets - static_cast<int>(counts.size())) * expected;
  return chi;
}

Strings Sorted(Strings v) {
  std::sort(v.begin(), v.end());
  return v;
}

class SetsTest : public StoreTest {
 protected:
  int64_t SAdd(std::string_view key, const Views& members) {
    auto r = Run([&](Txn& t) { return sets::Add(t, key, members); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : -1;
  }
  void SAddN(std::string_view key, const std::string& prefix, int n) {
    for (int base = 0; base < n; base += 1000) {
      Strings s;
      for (int i = base; i < std::min(n, base + 1000); ++i) s.push_back(prefix + std::to_string(i));
      SAdd(key, Views(s.begin(), s.end()));
    }
  }
  Strings Members(std::string_view key) {
    auto r = Run([&](Txn& t) { return sets::Members(t, key); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : Strings{"<error>"};
  }
  int64_t Card(std::string_view key) {
    auto r = Run([&](Txn& t) { return sets::Card(t, key); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : -1;
  }
  KeyType TypeOf(std::string_view key) {
    return Do([&](Txn& t) { return keys::Type(t, key); });
  }
  Strings Combine(SetOp op, const Strings& keys) {
    auto r = Run([&](Txn& t) { return sets::Combine(t, op, keys); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : Strings{"<error>"};
  }
  int64_t Store(SetOp op, std::string_view dst, const Strings& keys) {
    auto r = Run([&](Txn& t) { return sets::CombineStore(t, op, dst, keys); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : -1;
  }
  std::vector<std::string> events_;
  void WatchEvents() {
    store().AddKeyObserver("", [this](Txn&, const KeyEvent& ev) {
      events_.push_back(std::string(ev.event) + ":" + std::string(ev.key));
    });
  }
};

TEST_F(SetsTest, AddRemCardAndMembership) {
  WatchEvents();
  EXPECT_EQ(SAdd("s", {"a", "b", "a", "c"}), 3);
  EXPECT_EQ(SAdd("s", {"a"}), 0);  // no change: no event
  EXPECT_EQ(Card("s"), 3);
  EXPECT_EQ(Card("nokey"), 0);
  EXPECT_TRUE(Run([](Txn& t) { return sets::IsMember(t, "s", "b"); }).value());
  EXPECT_FALSE(Run([](Txn& t) { return sets::IsMember(t, "s", "z"); }).value());
  EXPECT_FALSE(Run([](Txn& t) { return sets::IsMember(t, "nokey", "a"); }).value());
  EXPECT_EQ(Run([](Txn& t) {
              return sets::MIsMember(t, "s", {"a", "z", "c"});
            }).value(),
            (std::vector<bool>{true, false, true}));
  EXPECT_EQ(Run([](Txn& t) {
              return sets::MIsMember(t, "nokey", {"a", "b"});
            }).value(),
            (std::vector<bool>{false, false}));
  EXPECT_EQ(Run([](Txn& t) { return sets::Rem(t, "s", {"a", "z", "a"}); }).value(), 1);
  EXPECT_EQ(Run([](Txn& t) { return sets::Rem(t, "s", {"z"}); }).value(), 0);
  EXPECT_EQ(Run([](Txn& t) { return sets::Rem(t, "nokey", {"a"}); }).value(), 0);
  EXPECT_EQ(Run([](Txn& t) { return sets::Rem(t, "s", {"b", "c", "d"}); }).value(), 2);
  EXPECT_EQ(TypeOf("s"), KeyType::kNone);
  EXPECT_EQ(store().DbSize(0), 0);
  EXPECT_EQ(events_, (Strings{"sadd:s", "srem:s", "srem:s", "del:s"}));
}

TEST_F(SetsTest, MembersComeInRedisOrder) {
  // All integers and few: Redis's intset, ascending numeric order.
  SAdd("ints", {"10", "-3", "2", "1", "100"});
  EXPECT_EQ(Members("ints"), (Strings{"-3", "1", "2", "10", "100"}));
  // Anything else: byte order here (Redis's hash order is unspecified).
  SAdd("mixed", {"b", "10", "a", "2"});
  EXPECT_EQ(Members("mixed"), (Strings{"10", "2", "a", "b"}));
  // "+1", "01" and " 1" are not integers for Redis.
  SAdd("almost", {"01", "2"});
  EXPECT_EQ(Members("almost"), (Strings{"01", "2"}));
  SAddN("many", "", 600);  // over set-max-intset-entries
  Strings many = Members("many");
  ASSERT_EQ(many.size(), 600u);
  EXPECT_EQ(many[0], "0");
  EXPECT_EQ(many[1], "1");
  EXPECT_EQ(many[2], "10");
  EXPECT_EQ(Members("nokey"), Strings{});
}

TEST_F(SetsTest, PopRemovesWhatItReturnsAndDeletesTheEmptiedSet) {
  WatchEvents();
  SAdd("s", {"a", "b", "c"});
  std::set<std::string> popped;
  for (int i = 0; i < 3; ++i) {
    auto m = Run([](Txn& t) { return sets::Pop(t, "s"); });
    ASSERT_TRUE(m.ok());
    popped.insert(*m);
  }
  EXPECT_EQ(popped, (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(TypeOf("s"), KeyType::kNone);
  EXPECT_TRUE(Run([](Txn& t) { return sets::Pop(t, "s"); }).status().IsNotFound());
  EXPECT_EQ(events_, (Strings{"sadd:s", "spop:s", "spop:s", "spop:s", "del:s"}));
}

TEST_F(SetsTest, PopWithCountCoversEveryRedisCase) {
  Strings content;
  for (int i = 1; i <= 20; ++i) content.push_back(std::to_string(i));
  auto fill = [&] { SAdd("s", Views(content.begin(), content.end())); };
  auto pop = [&](uint64_t n) { return Run([&](Txn& t) { return sets::PopCount(t, "s", n); }); };

  fill();
  EXPECT_TRUE(pop(0)->empty());
  EXPECT_EQ(Card("s"), 20);
  for (uint64_t n : {uint64_t{2}, uint64_t{18}}) {  // few popped; few left (rewritten)
    SCOPED_TRACE(n);
    auto out = pop(n);
    ASSERT_TRUE(out.ok());
    ASSERT_EQ(out->size(), n);
    Strings left = Members("s");
    EXPECT_EQ(left.size(), 20 - n);
    Strings all = *out;
    all.insert(all.end(), left.begin(), left.end());
    EXPECT_EQ(Sorted(all), Sorted(content));
    ASSERT_EQ(Run([](Txn& t) -> Result<int64_t> { return keys::Del(t, {"s"}); }).value(), 1);
    fill();
  }
  auto everything = pop(30);
  ASSERT_TRUE(everything.ok());
  Strings numeric = content;  // the whole set, in Redis's intset (numeric) order
  std::sort(numeric.begin(), numeric.end(),
            [](const std::string& a, const std::string& b) { return std::stoi(a) < std::stoi(b); });
  EXPECT_EQ(*everything, numeric);
  EXPECT_EQ(TypeOf("s"), KeyType::kNone);
  EXPECT_TRUE(pop(3).status().IsNotFound());

  // After the rewrite of case "few left", compaction leaves only the live members.
  fill();
  ASSERT_EQ(pop(18)->size(), 18u);
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "s"), 2);
}

TEST_F(SetsTest, RandMembersFollowRedisCases) {
  SAdd("s", {"a", "b", "c", "d", "e"});
  auto rm = [&](std::string_view key, int64_t count) {
    return Run([&](Txn& t) { return sets::RandMembersWithCount(t, key, count); });
  };
  EXPECT_TRUE(rm("s", 0)->order.empty());
  EXPECT_TRUE(rm("nokey", 3)->order.empty());
  EXPECT_TRUE(rm("nokey", -3)->order.empty());
  EXPECT_TRUE(Run([](Txn& t) { return sets::RandMember(t, "nokey"); }).status().IsNotFound());
  auto all = rm("s", 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->members, (Strings{"a", "b", "c", "d", "e"}));
  for (int64_t count : {1, 3, 4}) {
    auto some = rm("s", count);
    ASSERT_TRUE(some.ok());
    std::set<std::string> distinct;
    for (uint32_t i : some->order) distinct.insert(some->members[i]);
    EXPECT_EQ(distinct.size(), static_cast<size_t>(count));
  }
  auto repeated = rm("s", -100);
  ASSERT_TRUE(repeated.ok());
  EXPECT_EQ(repeated->order.size(), 100u);
  auto huge = rm("s", -static_cast<int64_t>(sets::kMaxRandomCount) - 1);
  EXPECT_EQ(huge.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Card("s"), 5);
}

// Redis's set.tcl histogram checks (chi-square, df = 9, threshold 40).
TEST_F(SetsTest, RandMembersOfASmallSetAreUniform) {
  SAdd("s", {"1", "5", "10", "50", "125", "MARY", "PATRICIA", "LINDA", "BARBARA", "ELIZABETH"});
  auto r = Run([](Txn& t) { return sets::RandMembersWithCount(t, "s", -1000); });
  ASSERT_TRUE(r.ok());
  std::map<std::string, int> counts;
  for (uint32_t i : r->order) counts[r->members[i]]++;
  EXPECT_LT(ChiSquare(counts, 10, 1000), 40);
  for (int64_t size : {8, 2}) {
    counts.clear();
    int draws = 0;
    for (int it = 0; it < 1000 / size; ++it) {
      auto some = Run([&](Txn& t) { return sets::RandMembersWithCount(t, "s", size); });
      ASSERT_TRUE(some.ok());
      for (uint32_t i : some->order) counts[some->members[i]]++, draws++;
    }
    EXPECT_LT(ChiSquare(counts, 10, draws), 40) << "size " << size;
  }
}

TEST_F(SetsTest, RandMembersOfABigSetAreMembersAndSpread) {
  constexpr int kMembers = 10'000;
  static_assert(kMembers > static_cast<int>(sampling::kExactLimit));
  SAddN("big", "m:", kMembers);
  std::map<std::string, int> ranges;
  constexpr int kDraws = 2000;
  auto r = Run([](Txn& t) { return sets::RandMembersWithCount(t, "big", -kDraws); });
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->order.size(), static_cast<size_t>(kDraws));
  for (uint32_t i : r->order) {
    const std::string& m = r->members[i];
    ASSERT_EQ(m.rfind("m:", 0), 0u) << m;
    int n = std::stoi(m.substr(2));
    ASSERT_GE(n, 0);
    ASSERT_LT(n, kMembers);
    ranges[std::to_string(n * 10 / kMembers)]++;
  }
  // Members of different lengths ("m:1" .. "m:9999") are sampled approximately: each
  // tenth of the set still gets a share (no tenth is starved or dominant).
  for (const auto& [range, n] : ranges) {
    EXPECT_GT(n, kDraws / 10 / 4) << range;
    EXPECT_LT(n, kDraws / 10 * 4) << range;
  }
  EXPECT_EQ(ranges.size(), 10u);
  // SPOP on the big set removes exactly what it returns.
  auto popped = Run([](Txn& t) { return sets::PopCount(t, "big", 3); });
  ASSERT_TRUE(popped.ok());
  ASSERT_EQ(std::set<std::string>(popped->begin(), popped->end()).size(), 3u);
  EXPECT_EQ(Card("big"), kMembers - 3);
  for (const auto& m : *popped) {
    EXPECT_FALSE(Run([&](Txn& t) { return sets::IsMember(t, "big", m); }).value()) << m;
  }
}

// Ranges cut by a first pick, then 1000 members added inside one range (the total stays
// within a quarter, so the ranges are kept): the picks that land in the overfull range
// split it, and the new members still get their fair share of picks.
TEST_F(SetsTest, RandomPicksStayFairAfterInsertsConcentratedInOneRange) {
  SAddN("s", "m", 5000);
  ASSERT_TRUE(Run([](Txn& t) { return sets::RandMember(t, "s"); }).ok());  // cuts the ranges
  SAddN("s", "m2500x", 1000);  // all sort between "m2500" and "m2501"
  ASSERT_EQ(Card("s"), 6000);
  constexpr int kDraws = 3000;
  int fresh = 0;
  for (int i = 0; i < kDraws; ++i) {
    auto m = Run([](Txn& t) { return sets::RandMember(t, "s"); });
    ASSERT_TRUE(m.ok());
    if (m->rfind("m2500x", 0) == 0) fresh++;
  }
  // Expected 500 (1/6); the binomial standard deviation is about 20.
  EXPECT_GT(fresh, 380);
  EXPECT_LT(fresh, 620);
}

TEST_F(SetsTest, MoveFollowsRedisRules) {
  WatchEvents();
  SAdd("src", {"a", "b"});
  SAdd("dst", {"b"});
  Put("str", "x");
  auto move = [&](std::string_view s, std::string_view d, std::string_view m) {
    return Run([&](Txn& t) { return sets::Move(t, s, d, m); });
  };
  events_.clear();
  // An absent source answers 0 before any type check.
  EXPECT_FALSE(move("nokey", "str", "a").value());
  EXPECT_TRUE(
      IsError(move("str", "dst", "a").status(), Status::Code::kWrongType, std::string(kWrongType)));
  EXPECT_TRUE(
      IsError(move("src", "str", "a").status(), Status::Code::kWrongType, std::string(kWrongType)));
  EXPECT_EQ(Members("src"), (Strings{"a", "b"}));
  EXPECT_FALSE(move("src", "dst", "zz").value());
  EXPECT_TRUE(move("src", "src", "a").value());  // same key: is it a member?
  EXPECT_FALSE(move("src", "src", "zz").value());
  EXPECT_TRUE(events_.empty());
  EXPECT_TRUE(move("src", "dst", "b").value());  // already in dst: only removed from src
  EXPECT_EQ(events_, (Strings{"srem:src"}));
  events_.clear();
  EXPECT_TRUE(move("src", "new", "a").value());  // empties src, creates new
  EXPECT_EQ(events_, (Strings{"srem:src", "del:src", "sadd:new"}));
  EXPECT_EQ(TypeOf("src"), KeyType::kNone);
  EXPECT_EQ(Members("new"), Strings{"a"});
  EXPECT_EQ(Members("dst"), Strings{"b"});
}

TEST_F(SetsTest, InterUnionDiff) {
  SAdd("a", {"1", "2", "3", "4", "x"});
  SAdd("b", {"2", "3", "x", "y"});
  SAdd("c", {"3", "x", "z"});
  EXPECT_EQ(Combine(SetOp::kInter, {"a", "b", "c"}), (Strings{"3", "x"}));
  EXPECT_EQ(Combine(SetOp::kInter, {"a", "a"}), Members("a"));
  EXPECT_EQ(Combine(SetOp::kInter, {"a", "nokey"}), Strings{});
  EXPECT_EQ(Combine(SetOp::kUnion, {"a", "nokey", "c"}), (Strings{"1", "2", "3", "4", "x", "z"}));
  EXPECT_EQ(Combine(SetOp::kUnion, {"nokey"}), Strings{});
  EXPECT_EQ(Combine(SetOp::kDiff, {"a", "b", "c"}), (Strings{"1", "4"}));
  EXPECT_EQ(Combine(SetOp::kDiff, {"a", "nokey"}), Members("a"));
  EXPECT_EQ(Combine(SetOp::kDiff, {"nokey", "a"}), Strings{});
  EXPECT_EQ(Combine(SetOp::kDiff, {"a", "b", "a"}), Strings{});
  // All-integer results come in numeric order, like Redis's intsets.
  SAdd("n1", {"10", "9", "100"});
  SAdd("n2", {"8"});
  EXPECT_EQ(Combine(SetOp::kUnion, {"n1", "n2"}), (Strings{"8", "9", "10", "100"}));
  // A wrong type anywhere is an error, even after an absent key.
  Put("str", "v");
  for (SetOp op : {SetOp::kInter, SetOp::kUnion, SetOp::kDiff}) {
    auto r = Run([&](Txn& t) { return sets::Combine(t, op, {"nokey", "a", "str"}); });
    EXPECT_TRUE(IsError(r.status(), Status::Code::kWrongType, std::string(kWrongType)));
  }
}

TEST_F(SetsTest, InterAndDiffOfSmallAgainstBigUseLookupsWithTheSameResult) {
  SAddN("big", "m", 5000);
  SAdd("small", {"m1", "m4999", "nope", "m2500"});
  EXPECT_EQ(Combine(SetOp::kInter, {"big", "small"}), (Strings{"m1", "m2500", "m4999"}));
  EXPECT_EQ(Combine(SetOp::kDiff, {"small", "big"}), Strings{"nope"});
  EXPECT_EQ(Combine(SetOp::kDiff, {"big", "small"}).size(), 4997u);
  EXPECT_EQ(Run([](Txn& t) { return sets::InterCard(t, {"big", "small"}, 0); }).value(), 3);
  EXPECT_EQ(Run([](Txn& t) { return sets::InterCard(t, {"small", "big"}, 2); }).value(), 2);
  EXPECT_EQ(Run([](Txn& t) { return sets::InterCard(t, {"small", "big"}, 10); }).value(), 3);
  EXPECT_EQ(Run([](Txn& t) { return sets::InterCard(t, {"small", "nokey"}, 1); }).value(), 0);
}

TEST_F(SetsTest, StoreFormsReplaceTheDestination) {
  WatchEvents();
  SAdd("a", {"1", "2", "3"});
  SAdd("b", {"2", "3", "4"});
  Put("dst", "a string with a ttl");
  ASSERT_TRUE(Run([&](Txn& t) { return keys::ExpireAt(t, "dst", t.now_ms() + 5000, {}); }).value());
  events_.clear();
  EXPECT_EQ(Store(SetOp::kInter, "dst", {"a", "b"}), 2);
  EXPECT_EQ(Members("dst"), (Strings{"2", "3"}));
  EXPECT_EQ(Do([](Txn& t) { return keys::Ttl(t, "dst", 1); }), -1);  // the TTL went too
  EXPECT_EQ(Store(SetOp::kUnion, "dst", {"a", "b"}), 4);
  EXPECT_EQ(Store(SetOp::kDiff, "dst", {"a", "b"}), 1);
  EXPECT_EQ(Members("dst"), Strings{"1"});
  // The destination may be an input.
  EXPECT_EQ(Store(SetOp::kUnion, "a", {"a", "b"}), 4);
  EXPECT_EQ(Members("a"), (Strings{"1", "2", "3", "4"}));
  // An empty result deletes the destination ("del" only if it existed).
  EXPECT_EQ(Store(SetOp::kInter, "dst", {"a", "nokey"}), 0);
  EXPECT_EQ(TypeOf("dst"), KeyType::kNone);
  EXPECT_EQ(Store(SetOp::kDiff, "dst", {"b", "a"}), 0);
  EXPECT_EQ(events_, (Strings{"sinterstore:dst", "sunionstore:dst", "sdiffstore:dst",
                              "sunionstore:a", "del:dst"}));
  // A wrong-type input stores nothing.
  Put("str", "v");
  SAdd("keep", {"k"});
  auto r = Run([](Txn& t) { return sets::CombineStore(t, SetOp::kUnion, "keep", {"a", "str"}); });
  EXPECT_TRUE(IsError(r.status(), Status::Code::kWrongType, std::string(kWrongType)));
  EXPECT_EQ(Members("keep"), Strings{"k"});
  // Overwritten elements are reclaimed.
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "a"), 4);
  EXPECT_EQ(store().CountElementRecordsForTest(0, "dst"), 0);
}

TEST_F(SetsTest, EveryCommandReportsWrongTypeAndChangesNothing) {
  Put("s", "value");
  auto wrong = [](const Status& st) {
    return IsError(st, Status::Code::kWrongType, std::string(kWrongType));
  };
  EXPECT_TRUE(wrong(Run([](Txn& t) { return sets::Add(t, "s", {"m"}); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return sets::Rem(t, "s", {"m"}); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return sets::IsMember(t, "s", "m"); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return sets::MIsMember(t, "s", {"m"}); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return sets::Card(t, "s"); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return sets::Members(t, "s"); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return sets::Pop(t, "s"); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return sets::PopCount(t, "s", 0); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return sets::RandMember(t, "s"); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return sets::RandMembersWithCount(t, "s", 0); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return sets::InterCard(t, {"s"}, 0); }).status()));
  EXPECT_TRUE(wrong(Run([](Txn& t) { return sets::Scan(t, "s", 0, "", 10); }).status()));
  EXPECT_EQ(Get("s"), "value");
  EXPECT_EQ(store().DbSize(0), 1);
}

// Draining a set by SPOP used to make each pick step over the tombstones of every earlier
// pop (quadratic). The removals are counted and the live members rewritten under a new
// version once removals outnumber them (store/tombstones.h).
TEST_F(SetsTest, DrainingBySpopKeepsTombstonesBoundedAndPopsEachMemberOnce) {
  constexpr int kMembers = 5000;
  SAddN("s", "m", kMembers);
  const uint64_t first_version =
      Run([](Txn& t) { return t.GetTyped("s", KeyType::kSet); }).value().version;
  std::set<std::string> popped;
  bool rewritten = false;
  for (int i = 0; i < kMembers - 10; ++i) {
    auto m = Run([](Txn& t) { return sets::Pop(t, "s"); });
    ASSERT_TRUE(m.ok()) << m.status().message();
    ASSERT_TRUE(popped.insert(*m).second) << *m << " popped twice";
    Meta meta = Run([](Txn& t) { return t.GetTyped("s", KeyType::kSet); }).value();
    ASSERT_EQ(meta.count, static_cast<uint64_t>(kMembers - i - 1));
    ASSERT_LE(tombstones::Removed(meta), std::max(tombstones::kMinRemoved, meta.count)) << i;
    rewritten = rewritten || meta.version != first_version;
  }
  EXPECT_TRUE(rewritten);
  Strings left = Members("s");
  ASSERT_EQ(left.size(), 10u);
  for (const auto& m : left) {
    EXPECT_EQ(popped.count(m), 0u) << m;
    EXPECT_EQ(m[0], 'm');
  }
  // The versions left behind are garbage: after compaction only the live members remain.
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "s"), 10);
}

TEST_F(SetsTest, RemovalsBySremAndPopWithCountAreCountedAndForgottenByRename) {
  SAddN("s", "m", 3000);
  Strings gone;
  for (int i = 0; i < 1100; ++i) gone.push_back("m" + std::to_string(i));
  EXPECT_EQ(Run([&](Txn& t) { return sets::Rem(t, "s", Views(gone.begin(), gone.end())); }).value(),
            1100);
  Meta meta = Run([](Txn& t) { return t.GetTyped("s", KeyType::kSet); }).value();
  EXPECT_EQ(tombstones::Removed(meta), 1100u);  // not more than the 1900 live: no rewrite
  EXPECT_EQ(Run([](Txn& t) { return sets::PopCount(t, "s", 10); }).value().size(), 10u);
  meta = Run([](Txn& t) { return t.GetTyped("s", KeyType::kSet); }).value();
  EXPECT_EQ(tombstones::Removed(meta), 1110u);
  ASSERT_TRUE(Run([](Txn& t) { return keys::Rename(t, "s", "t"); }).ok());
  meta = Run([](Txn& t) { return t.GetTyped("t", KeyType::kSet); }).value();
  EXPECT_EQ(tombstones::Removed(meta), 0u);
  EXPECT_EQ(meta.count, 1890u);
  EXPECT_EQ(Card("t"), 1890);
  // Past the live count, SREM rewrites: every member kept, none of the removed.
  gone.clear();
  for (int i = 1100; i < 2200; ++i) gone.push_back("m" + std::to_string(i));
  auto removed = Run([&](Txn& t) { return sets::Rem(t, "t", Views(gone.begin(), gone.end())); });
  ASSERT_TRUE(removed.ok());
  meta = Run([](Txn& t) { return t.GetTyped("t", KeyType::kSet); }).value();
  EXPECT_EQ(meta.count, 1890u - static_cast<uint64_t>(*removed));
  EXPECT_EQ(tombstones::Removed(meta), 0u);
  Strings left = Members("t");
  EXPECT_EQ(left.size(), meta.count);
  for (const auto& m : left) EXPECT_GE(std::stoi(m.substr(1)), 2200) << m;
}

TEST_F(SetsTest, ExpiredSetIsGoneAndItsElementsAreReclaimed) {
  SAddN("s", "x", 2000);
  ASSERT_TRUE(Run([&](Txn& t) { return keys::ExpireAt(t, "s", t.now_ms() + 1000, {}); }).value());
  EXPECT_EQ(SAdd("s", {"extra"}), 1);
  EXPECT_EQ(Do([](Txn& t) { return keys::Ttl(t, "s", 1); }), 1000);
  clock_.Advance(1001);
  EXPECT_EQ(Card("s"), 0);
  EXPECT_FALSE(Run([](Txn& t) { return sets::IsMember(t, "s", "x1"); }).value());
  EXPECT_EQ(SAdd("s", {"fresh"}), 1);
  EXPECT_EQ(Members("s"), Strings{"fresh"});
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "s"), 1);
}

TEST_F(SetsTest, ScanOfAnIntsetIsOnePageAndOfABigSetPagesThroughChanges) {
  SAdd("ints", {"3", "1", "2"});
  auto page = Run([](Txn& t) { return sets::Scan(t, "ints", 0, "", 1); });
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->next_cursor, 0u);
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_EQ(page->items[0].first, "1");

  // Redis's "SCAN regression test for issue #4906": remove most members mid-scan; the
  // members that stay are all reported.
  SAdd("set", {"x"});
  SAddN("set", "", 800);
  std::set<std::string> found;
  uint64_t cursor = 0;
  int iteration = 0;
  do {
    auto p = Run([&](Txn& t) { return sets::Scan(t, "set", cursor, "", 10); });
    ASSERT_TRUE(p.ok());
    for (const auto& item : p->items) found.insert(item.first);
    cursor = p->next_cursor;
    if (++iteration == 3) {
      Strings gone;
      for (int i = 100; i < 800; ++i) gone.push_back(std::to_string(i));
      ASSERT_EQ(
          Run([&](Txn& t) { return sets::Rem(t, "set", Views(gone.begin(), gone.end())); }).value(),
          700);
    }
  } while (cursor != 0 && iteration < 1000);
  EXPECT_EQ(cursor, 0u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(found.count(std::to_string(i)), 1u) << i;
  auto matched = Run([](Txn& t) { return sets::Scan(t, "set", 0, "*9", 1000); });
  ASSERT_TRUE(matched.ok());
  EXPECT_EQ(matched->items.size(), 10u);  // 9, 19, ..., 99
}

}  // namespace
}  // namespace redge::store::testing
