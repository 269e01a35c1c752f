// Unit tests for the range functions of store/zsets.h (score and lex ranges, counts,
// ZREMRANGEBY*), and the proof that bounded queries on a big sorted set touch only what
// they return: zsets::IndexEntriesVisited() counts every index entry any walk looked at.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "store/zsets.h"
#include "tests/unit/zset_test_util.h"

namespace redge::store::testing {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
using V = std::vector<std::string>;

TEST(ZSetRangeParseTest, ScoreRangesAsRedisParsesThem) {
  zsets::ScoreRange r;
  ASSERT_TRUE(zsets::ParseScoreRange("(1.5", "+inf", &r));
  EXPECT_TRUE(r.minex);
  EXPECT_FALSE(r.maxex);
  EXPECT_EQ(r.min, 1.5);
  EXPECT_EQ(r.max, kInf);
  // strtod rules: -inf, hex, leading spaces and an empty string are numbers.
  ASSERT_TRUE(zsets::ParseScoreRange("-inf", "0x10", &r));
  EXPECT_EQ(r.max, 16);
  ASSERT_TRUE(zsets::ParseScoreRange(" 1", "(", &r));
  EXPECT_EQ(r.min, 1);
  EXPECT_EQ(r.max, 0);
  EXPECT_TRUE(r.maxex);
  EXPECT_FALSE(zsets::ParseScoreRange("nan", "1", &r));
  EXPECT_FALSE(zsets::ParseScoreRange("1", "(nan", &r));
  EXPECT_FALSE(zsets::ParseScoreRange("1x", "2", &r));
  EXPECT_FALSE(zsets::ParseScoreRange("[1", "2", &r));
}

TEST(ZSetRangeParseTest, LexRangesAsRedisParsesThem) {
  zsets::LexRange r;
  ASSERT_TRUE(zsets::ParseLexRange("-", "+", &r));
  EXPECT_FALSE(r.Empty());
  ASSERT_TRUE(zsets::ParseLexRange("[a", "(b", &r));
  EXPECT_TRUE(r.GteMin("a"));
  EXPECT_FALSE(r.LteMax("b"));
  EXPECT_TRUE(r.LteMax("a\xff"));
  for (auto [min, max] : std::vector<std::pair<const char*, const char*>>{
           {"a", "+"}, {"-", "b"}, {"", "+"}, {"+x", "+"}, {"-", "--"}}) {
    EXPECT_FALSE(zsets::ParseLexRange(min, max, &r)) << min << " " << max;
  }
  // Always-empty ranges.
  ASSERT_TRUE(zsets::ParseLexRange("+", "-", &r));
  EXPECT_TRUE(r.Empty());
  ASSERT_TRUE(zsets::ParseLexRange("-", "-", &r));
  EXPECT_TRUE(r.Empty());
  ASSERT_TRUE(zsets::ParseLexRange("(a", "[a", &r));
  EXPECT_TRUE(r.Empty());
  ASSERT_TRUE(zsets::ParseLexRange("[a", "[a", &r));
  EXPECT_FALSE(r.Empty());
}

class ZSetRangeTest : public ZSetTest {
 protected:
  void SetUp() override {
    ZSetTest::SetUp();
    ZAdd("z", {{-kInf, "ninf"}, {1, "a"}, {2, "b"}, {2, "c"}, {3, "d"}, {kInf, "pinf"}});
  }
  V ByScore(std::string_view min, std::string_view max, bool rev = false, zsets::Limit limit = {}) {
    auto range = Score(min, max);
    return Members(
        Run([&](Txn& t) { return zsets::RangeByScore(t, "z", range, rev, limit); }).value());
  }
  V ByLex(std::string_view key, std::string_view min, std::string_view max, bool rev = false,
          zsets::Limit limit = {}) {
    auto range = Lex(min, max);
    return Members(
        Run([&](Txn& t) { return zsets::RangeByLex(t, key, range, rev, limit); }).value());
  }
};

TEST_F(ZSetRangeTest, ScoreRanges) {
  EXPECT_EQ(ByScore("-inf", "+inf"), (V{"ninf", "a", "b", "c", "d", "pinf"}));
  EXPECT_EQ(ByScore("2", "2"), (V{"b", "c"}));
  EXPECT_EQ(ByScore("(1", "(3"), (V{"b", "c"}));
  EXPECT_EQ(ByScore("(2", "3"), (V{"d"}));
  EXPECT_EQ(ByScore("(2", "(2"), V{});
  EXPECT_EQ(ByScore("3", "1"), V{});
  EXPECT_EQ(ByScore("(-inf", "(inf"), (V{"a", "b", "c", "d"}));
  // The store takes (min, max) whatever the direction; reverse walks down from max.
  EXPECT_EQ(ByScore("1", "3", true), (V{"d", "c", "b", "a"}));
  EXPECT_EQ(ByScore("(1", "(3", true), (V{"c", "b"}));
  EXPECT_EQ(ByScore("-inf", "+inf", true), (V{"pinf", "d", "c", "b", "a", "ninf"}));
  EXPECT_EQ(ByScore("1", "3", false, {1, 2}), (V{"b", "c"}));
  EXPECT_EQ(ByScore("1", "3", false, {3, -1}), (V{"d"}));
  EXPECT_EQ(ByScore("1", "3", false, {0, 0}), V{});
  EXPECT_EQ(ByScore("1", "3", false, {-1, 5}), V{});
  EXPECT_EQ(ByScore("1", "3", false, {10, 5}), V{});
  EXPECT_EQ(ByScore("1", "3", true, {1, 2}), (V{"c", "b"}));
  auto count = [&](std::string_view min, std::string_view max) {
    auto range = Score(min, max);
    return Run([&](Txn& t) { return zsets::Count(t, "z", range); }).value();
  };
  EXPECT_EQ(count("-inf", "+inf"), 6);
  EXPECT_EQ(count("(1", "3"), 3);
  EXPECT_EQ(count("5", "1"), 0);
  // An entry whose member is "" and whose score is the bound is handled at both ends.
  ZAdd("z", {{2, ""}});
  EXPECT_EQ(ByScore("(2", "3"), (V{"d"}));
  EXPECT_EQ(ByScore("(2", "(3", true), V{});
  EXPECT_EQ(ByScore("2", "(3", true), (V{"c", "b", ""}));
  EXPECT_EQ(ByScore("(2", "(3", true, {1, -1}), V{});
}

TEST_F(ZSetRangeTest, LexRangesOnOneScore) {
  ZAdd("l", {{0, "a"}, {0, "b"}, {0, "c"}, {0, "d"}, {0, "e"}});
  EXPECT_EQ(ByLex("l", "-", "+"), (V{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(ByLex("l", "[b", "(d"), (V{"b", "c"}));
  EXPECT_EQ(ByLex("l", "(b", "[d"), (V{"c", "d"}));
  EXPECT_EQ(ByLex("l", "[bb", "+"), (V{"c", "d", "e"}));
  EXPECT_EQ(ByLex("l", "(e", "+"), V{});
  EXPECT_EQ(ByLex("l", "+", "-"), V{});
  EXPECT_EQ(ByLex("l", "-", "+", true), (V{"e", "d", "c", "b", "a"}));
  EXPECT_EQ(ByLex("l", "[b", "(d", true), (V{"c", "b"}));
  EXPECT_EQ(ByLex("l", "(b", "[d", true), (V{"d", "c"}));
  EXPECT_EQ(ByLex("l", "-", "+", false, {1, 2}), (V{"b", "c"}));
  EXPECT_EQ(ByLex("l", "-", "+", true, {1, 2}), (V{"d", "c"}));
  auto range = Lex("[b", "[d");
  EXPECT_EQ(Run([&](Txn& t) { return zsets::LexCount(t, "l", range); }).value(), 3);
  EXPECT_EQ(Run([&](Txn& t) { return zsets::RemRangeByLex(t, "l", range); }).value(), 3);
  EXPECT_EQ(AllMembers("l"), (V{"a", "e"}));
  range = Lex("-", "+");
  EXPECT_EQ(Run([&](Txn& t) { return zsets::RemRangeByLex(t, "l", range); }).value(), 2);
  EXPECT_FALSE(Exists("l"));
}

TEST_F(ZSetRangeTest, LexRangesOnMixedScoresFollowRedisListpackWalk) {
  // Score order: b(1) a(2) d(3) c(4). Redis starts at the first element >= min in score
  // order and stops at the first element past max.
  ZAdd("m", {{1, "b"}, {2, "a"}, {3, "d"}, {4, "c"}});
  EXPECT_EQ(ByLex("m", "[b", "+"), (V{"b", "a", "d", "c"}));
  EXPECT_EQ(ByLex("m", "[b", "[c"), (V{"b", "a"}));
  EXPECT_EQ(ByLex("m", "(b", "+"), (V{"d", "c"}));
  EXPECT_EQ(ByLex("m", "[c", "+", true), (V{"c", "d"}));
  // The last element (c) is below min "[d": the whole range is empty for Redis.
  EXPECT_EQ(ByLex("m", "[d", "+"), V{});
}

TEST_F(ZSetRangeTest, RemoveByScore) {
  auto range = Score("(1", "2");
  EXPECT_EQ(Run([&](Txn& t) { return zsets::RemRangeByScore(t, "z", range); }).value(), 2);
  EXPECT_EQ(AllMembers("z"), (V{"ninf", "a", "d", "pinf"}));
  range = Score("5", "1");
  EXPECT_EQ(Run([&](Txn& t) { return zsets::RemRangeByScore(t, "z", range); }).value(), 0);
  range = Score("-inf", "+inf");
  EXPECT_EQ(Run([&](Txn& t) { return zsets::RemRangeByScore(t, "z", range); }).value(), 4);
  EXPECT_FALSE(Exists("z"));
}

// 100k members: each bounded query visits only the entries it returns (plus the one that
// ends the walk, and the two ends a lex query reads first).
TEST_F(ZSetRangeTest, BoundedQueriesOnABigSetTouchOnlyWhatTheyReturn) {
  constexpr int kMembers = 100000;
  for (int base = 0; base < kMembers; base += 10000) {
    std::vector<std::pair<double, std::string>> pairs;
    for (int i = base; i < base + 10000; ++i) {
      char name[16];
      snprintf(name, sizeof(name), "m%06d", i);
      pairs.emplace_back(i, name);
    }
    ZAdd("big", pairs);
  }
  {
    std::vector<std::pair<double, std::string>> pairs;
    for (int i = 0; i < kMembers; ++i) {
      char name[16];
      snprintf(name, sizeof(name), "k%06d", i);
      pairs.emplace_back(0, name);
    }
    ZAdd("lex", pairs);
  }
  auto visits = [](auto&& fn) {
    uint64_t before = zsets::IndexEntriesVisited();
    fn();
    return zsets::IndexEntriesVisited() - before;
  };
  Entries got;
  auto r = Score("50000", "(50010");
  EXPECT_LE(visits([&] {
              got =
                  Run([&](Txn& t) { return zsets::RangeByScore(t, "big", r, false, {}); }).value();
            }),
            11u);
  EXPECT_EQ(got.size(), 10u);
  EXPECT_EQ(got.front().member, "m050000");
  EXPECT_LE(visits([&] {
              got = Run([&](Txn& t) { return zsets::RangeByScore(t, "big", r, true, {}); }).value();
            }),
            12u);
  EXPECT_EQ(got.front().member, "m050009");
  EXPECT_LE(visits([&] {
              EXPECT_EQ(Run([&](Txn& t) { return zsets::Count(t, "big", r); }).value(), 10);
            }),
            11u);
  auto all = Score("-inf", "+inf");
  EXPECT_EQ(visits([&] {
              EXPECT_EQ(Run([&](Txn& t) { return zsets::Count(t, "big", all); }).value(), kMembers);
            }),
            0u);
  auto everything = Lex("-", "+");
  EXPECT_EQ(visits([&] {
              EXPECT_EQ(Run([&](Txn& t) { return zsets::LexCount(t, "lex", everything); }).value(),
                        kMembers);
            }),
            0u);
  EXPECT_EQ(visits([&] {
              got = Run([](Txn& t) { return zsets::RangeByRank(t, "big", 0, 9, false); }).value();
            }),
            10u);
  EXPECT_EQ(visits([&] {
              got =
                  Run([](Txn& t) { return zsets::RangeByRank(t, "big", -10, -1, false); }).value();
            }),
            10u);
  EXPECT_EQ(got.back().member, "m099999");
  EXPECT_EQ(visits([&] {
              got = Run([](Txn& t) { return zsets::RangeByRank(t, "big", 0, 4, true); }).value();
            }),
            5u);
  EXPECT_EQ(got.front().member, "m099999");
  // A rank near either end walks from that end.
  std::optional<int64_t> rank;
  EXPECT_LE(visits([&] {
              rank = Run([](Txn& t) { return zsets::Rank(t, "big", "m099990", false); }).value();
            }),
            64u);
  EXPECT_EQ(rank, 99990);
  EXPECT_LE(visits([&] {
              rank = Run([](Txn& t) { return zsets::Rank(t, "big", "m000020", true); }).value();
            }),
            64u);
  EXPECT_EQ(rank, 99979);
  auto lex = Lex("[k070000", "(k070005");
  EXPECT_LE(visits([&] {
              got =
                  Run([&](Txn& t) { return zsets::RangeByLex(t, "lex", lex, false, {}); }).value();
            }),
            2u + 6u);
  EXPECT_EQ(Members(got), (V{"k070000", "k070001", "k070002", "k070003", "k070004"}));
  EXPECT_LE(
      visits([&] {
        got = Run([&](Txn& t) { return zsets::RangeByLex(t, "lex", lex, true, {1, 2}); }).value();
      }),
      2u + 6u);
  EXPECT_EQ(Members(got), (V{"k070003", "k070002"}));
  EXPECT_EQ(
      visits([&] { got = Run([](Txn& t) { return zsets::Pop(t, "big", false, 5); }).value(); }),
      5u);
  EXPECT_EQ(got.back().member, "m000004");
  EXPECT_EQ(
      visits([&] { got = Run([](Txn& t) { return zsets::Pop(t, "big", true, 3); }).value(); }), 3u);
  EXPECT_EQ(Do([](Txn& t) { return zsets::Card(t, "big").value(); }), kMembers - 8);
}

}  // namespace
}  // namespace redge::store::testing

namespace redge::store::testing {
namespace {

// Random operations against an in-memory model (member -> score, ordered by (score,
// member)): every write path, including the seek hints that pops and removals leave in
// the metadata, must keep every live entry visible to every walk.
TEST_F(ZSetTest, RandomOperationsMatchAModel) {
  std::mt19937_64 rng(20240607);
  std::map<std::string, double> model;
  auto ordered = [&] {
    Entries out;
    for (const auto& [m, s] : model) out.push_back({m, s});
    std::sort(out.begin(), out.end(), [](const zsets::Entry& a, const zsets::Entry& b) {
      return a.score != b.score ? a.score < b.score : a.member < b.member;
    });
    return out;
  };
  auto member = [&] { return "m" + std::to_string(rng() % 60); };
  auto score = [&] { return static_cast<double>(static_cast<int>(rng() % 20) - 5); };
  for (int step = 0; step < 3000; ++step) {
    const int op = static_cast<int>(rng() % 8);
    if (op <= 2) {  // ZADD of a few members
      std::vector<std::pair<double, std::string>> pairs;
      for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n; ++i) {
        pairs.emplace_back(score(), member());
      }
      ZAdd("z", pairs);
      for (const auto& [s, m] : pairs) model[m] = s;
    } else if (op == 3) {  // ZPOPMIN / ZPOPMAX
      const bool max = rng() % 2;
      const int64_t n = 1 + static_cast<int64_t>(rng() % 3);
      auto r = Run([&](Txn& t) { return zsets::Pop(t, "z", max, n); });
      Entries want = ordered();
      if (max) std::reverse(want.begin(), want.end());
      want.resize(std::min<size_t>(want.size(), n));
      if (model.empty()) {
        ASSERT_TRUE(r.status().IsNotFound());
      } else {
        ASSERT_EQ(r.value(), want) << "step " << step;
      }
      for (const auto& e : want) model.erase(e.member);
    } else if (op == 4) {  // ZREM
      std::string m = member();
      auto r = Run([&](Txn& t) { return zsets::Rem(t, "z", {m}); });
      ASSERT_EQ(r.value(), static_cast<int64_t>(model.erase(m)));
    } else if (op == 5) {  // ZREMRANGEBYSCORE from the low end
      double max = score();
      auto range = Score("-inf", std::to_string(max));
      auto r = Run([&](Txn& t) { return zsets::RemRangeByScore(t, "z", range); });
      int64_t n = 0;
      for (auto it = model.begin(); it != model.end();) {
        if (it->second <= max) {
          it = model.erase(it);
          n++;
        } else {
          ++it;
        }
      }
      ASSERT_EQ(r.value(), n);
    } else if (op == 6) {  // ZREMRANGEBYRANK at the high end
      auto r = Run([&](Txn& t) { return zsets::RemRangeByRank(t, "z", -2, -1); });
      Entries all = ordered();
      size_t n = std::min<size_t>(2, all.size());
      for (size_t i = all.size() - n; i < all.size(); ++i) model.erase(all[i].member);
      ASSERT_EQ(r.value(), static_cast<int64_t>(n));
    } else {  // ZINCRBY
      std::string m = member();
      double by = score();
      std::vector<std::pair<double, std::string_view>> p = {{by, m}};
      zsets::AddFlags f;
      f.incr = true;
      auto r = Run([&](Txn& t) { return zsets::Add(t, "z", f, p); });
      model[m] = (model.count(m) ? model[m] : 0) + by;
      ASSERT_EQ(r->score, model[m]);
    }
    // Every walk sees exactly the model.
    Entries want = ordered();
    ASSERT_EQ(All("z"), want) << "step " << step;
    Entries rev = want;
    std::reverse(rev.begin(), rev.end());
    auto everything = Score("-inf", "+inf");
    ASSERT_EQ(
        Run([&](Txn& t) { return zsets::RangeByScore(t, "z", everything, true, {}); }).value(),
        rev);
    if (!want.empty()) {
      const auto& probe = want[rng() % want.size()];
      auto rank = Run([&](Txn& t) { return zsets::Rank(t, "z", probe.member, false); }).value();
      ASSERT_TRUE(rank.has_value());
      ASSERT_EQ(want[*rank].member, probe.member);
    }
    ASSERT_EQ(Exists("z"), !model.empty());
  }
}

}  // namespace
}  // namespace redge::store::testing
