// Unit tests for store/zsets.h: layout, ZADD with every flag, point reads, ranks, removal,
// pops, empty deletion, WRONGTYPE, stored results, set operations, ZRANDMEMBER, ZSCAN and
// compaction. Ranges by score/lex and the cost of bounded queries: zset_ranges_test.cc.
#include "store/zsets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "store/keys.h"
#include "store/strings.h"
#include "tests/unit/zset_test_util.h"

namespace redge::store::testing {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(ZSetLayoutTest, ScoreEncodingSortsNumerically) {
  std::vector<double> scores = {-kInf,
                                -1e308,
                                -2.5,
                                -1,
                                -std::numeric_limits<double>::denorm_min(),
                                -0.0,
                                0.0,
                                std::numeric_limits<double>::denorm_min(),
                                1e-300,
                                0.1,
                                1,
                                2.5,
                                1e17,
                                1e308,
                                kInf};
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> d(-1e6, 1e6);
  for (int i = 0; i < 500; ++i) scores.push_back(d(rng));
  for (double a : scores) {
    EXPECT_EQ(zsets::DecodeScore(zsets::EncodeScore(a).data()), a);
    for (double b : scores) {
      std::string ea = zsets::EncodeScore(a), eb = zsets::EncodeScore(b);
      ASSERT_EQ(a < b, ea < eb) << a << " vs " << b;
      ASSERT_EQ(a == b, ea == eb) << a << " vs " << b;
    }
  }
  // -0.0 is stored as +0.0.
  EXPECT_FALSE(std::signbit(zsets::DecodeScore(zsets::EncodeScore(-0.0).data())));
}

TEST(ZSetLayoutTest, ListpackScoreTextIsRedisD2String) {
  EXPECT_EQ(zsets::ListpackScoreText(0), "0");
  EXPECT_EQ(zsets::ListpackScoreText(-0.0), "0");
  EXPECT_EQ(zsets::ListpackScoreText(1e17), "100000000000000000");
  EXPECT_EQ(zsets::ListpackScoreText(-3), "-3");
  EXPECT_EQ(zsets::ListpackScoreText(1e20), "1e+20");
  EXPECT_EQ(zsets::ListpackScoreText(0.1), "0.10000000000000001");
  EXPECT_EQ(zsets::ListpackScoreText(kInf), "inf");
  EXPECT_EQ(zsets::ListpackScoreText(-kInf), "-inf");
}

TEST_F(ZSetTest, AddOrdersByScoreThenMemberBytes) {
  EXPECT_EQ(ZAdd("z", {{2, "b"},
                       {1, "z"},
                       {2, "a"},
                       {-kInf, "ninf"},
                       {kInf, "pinf"},
                       {0, "\xff"},
                       {-0.0, "\x01"},
                       {0, "m"}}),
            8);
  // Ties broken by unsigned bytes; -0 and +0 are one score.
  EXPECT_EQ(AllMembers("z"),
            (std::vector<std::string>{"ninf", "\x01", "m", "\xff", "z", "a", "b", "pinf"}));
  auto s = Run([](Txn& t) { return zsets::Score(t, "z", "\x01"); });
  ASSERT_TRUE(s.ok() && s->has_value());
  EXPECT_EQ(**s, 0.0);
  EXPECT_FALSE(std::signbit(**s));
  EXPECT_EQ(Do([](Txn& t) { return zsets::Card(t, "z").value(); }), 8);
}

TEST_F(ZSetTest, AddUpdatesAndCountsChanges) {
  EXPECT_EQ(ZAdd("z", {{1, "a"}, {2, "b"}}), 2);
  std::vector<std::pair<double, std::string_view>> pairs = {{5, "a"}, {2, "b"}, {3, "c"}};
  auto r = Run([&](Txn& t) { return zsets::Add(t, "z", {}, pairs); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->added, 1);
  EXPECT_EQ(r->updated, 1);  // b kept its score
  EXPECT_EQ(All("z"), (Entries{{"b", 2}, {"c", 3}, {"a", 5}}));
  // The same member twice in one call: the last score wins.
  pairs = {{9, "d"}, {0, "d"}};
  r = Run([&](Txn& t) { return zsets::Add(t, "z", {}, pairs); });
  EXPECT_EQ(r->added, 1);
  EXPECT_EQ(r->updated, 1);
  EXPECT_EQ(All("z").front(), (zsets::Entry{"d", 0}));
}

TEST_F(ZSetTest, AddConditions) {
  ZAdd("z", {{5, "a"}});
  auto add = [&](zsets::AddFlags f, double score, std::string member) {
    std::vector<std::pair<double, std::string_view>> p = {{score, member}};
    return Run([&](Txn& t) { return zsets::Add(t, "z", f, p); });
  };
  zsets::AddFlags nx{.nx = true}, xx{.xx = true}, gt{.gt = true}, lt{.lt = true};
  EXPECT_EQ(add(nx, 1, "a")->updated, 0);
  EXPECT_EQ(add(nx, 1, "b")->added, 1);
  EXPECT_EQ(add(xx, 1, "c")->added, 0);
  EXPECT_EQ(add(xx, 7, "a")->updated, 1);
  EXPECT_EQ(add(gt, 6, "a")->updated, 0);  // 6 < 7
  EXPECT_EQ(add(gt, 8, "a")->updated, 1);
  EXPECT_EQ(add(lt, 9, "a")->updated, 0);
  EXPECT_EQ(add(lt, 4, "a")->updated, 1);
  EXPECT_EQ(add(gt, 3, "new")->added, 1);  // GT/LT never stop an addition
  zsets::AddFlags xxgt{.xx = true, .gt = true};
  EXPECT_EQ(add(xxgt, 100, "a")->updated, 1);
  EXPECT_EQ(All("z"), (Entries{{"b", 1}, {"new", 3}, {"a", 100}}));
  // XX on an absent key creates nothing.
  std::vector<std::pair<double, std::string_view>> p = {{1, "m"}};
  EXPECT_EQ(Run([&](Txn& t) { return zsets::Add(t, "absent", xx, p); })->added, 0);
  EXPECT_FALSE(Exists("absent"));
}

TEST_F(ZSetTest, AddIncr) {
  auto incr = [&](zsets::AddFlags f, double by, std::string member) {
    f.incr = true;
    std::vector<std::pair<double, std::string_view>> p = {{by, member}};
    return Run([&](Txn& t) { return zsets::Add(t, "z", f, p); });
  };
  auto r = incr({}, 2.5, "a");
  EXPECT_TRUE(r->processed);
  EXPECT_EQ(r->score, 2.5);
  EXPECT_EQ(incr({}, 1, "a")->score, 3.5);
  r = incr({.nx = true}, 1, "a");
  EXPECT_FALSE(r->processed);  // the reply is nil
  r = incr({.gt = true}, -1, "a");
  EXPECT_FALSE(r->processed);
  r = incr({.lt = true}, -1, "a");
  EXPECT_TRUE(r->processed);
  EXPECT_EQ(r->score, 2.5);
  r = incr({}, 0, "a");  // unchanged but processed: the score is the reply
  EXPECT_TRUE(r->processed);
  EXPECT_EQ(r->updated, 0);
  // inf + -inf is NaN: refused, nothing changed.
  ASSERT_TRUE(incr({}, kInf, "inf").ok());
  r = incr({}, -kInf, "inf");
  EXPECT_TRUE(IsError(r.status(), Status::Code::kInvalidArgument,
                      "ERR resulting score is not a number (NaN)"));
  EXPECT_EQ(Do([](Txn& t) { return zsets::Score(t, "z", "inf").value(); }), kInf);
}

TEST_F(ZSetTest, AddRefusesIncompatibleFlags) {
  std::vector<std::pair<double, std::string_view>> one = {{1, "a"}}, two = {{1, "a"}, {2, "b"}};
  auto add = [&](zsets::AddFlags f, const auto& p) {
    return Run([&](Txn& t) { return zsets::Add(t, "z", f, p); }).status();
  };
  EXPECT_TRUE(IsError(add({.nx = true, .xx = true}, one), Status::Code::kInvalidArgument,
                      "ERR XX and NX options at the same time are not compatible"));
  for (auto f : {zsets::AddFlags{.nx = true, .gt = true}, zsets::AddFlags{.nx = true, .lt = true},
                 zsets::AddFlags{.gt = true, .lt = true}}) {
    EXPECT_TRUE(IsError(add(f, one), Status::Code::kInvalidArgument,
                        "ERR GT, LT, and/or NX options at the same time are not compatible"));
  }
  EXPECT_TRUE(IsError(add({.incr = true}, two), Status::Code::kInvalidArgument,
                      "ERR INCR option supports a single increment-element pair"));
  EXPECT_FALSE(Exists("z"));
}

TEST_F(ZSetTest, PointReadsAndRanks) {
  std::vector<std::pair<double, std::string>> pairs;
  for (int i = 0; i < 300; ++i) pairs.emplace_back(i % 7, "m" + std::to_string(i));
  ZAdd("z", pairs);
  Entries all = All("z");
  ASSERT_EQ(all.size(), 300u);
  for (size_t i = 0; i < all.size(); i += 13) {
    auto rank = Run([&](Txn& t) { return zsets::Rank(t, "z", all[i].member, false); });
    auto rev = Run([&](Txn& t) { return zsets::Rank(t, "z", all[i].member, true); });
    ASSERT_TRUE(rank.ok() && rank->has_value());
    EXPECT_EQ(**rank, static_cast<int64_t>(i));
    EXPECT_EQ(**rev, static_cast<int64_t>(299 - i));
  }
  EXPECT_FALSE(Run([](Txn& t) { return zsets::Rank(t, "z", "nope", false); })->has_value());
  EXPECT_FALSE(Run([](Txn& t) { return zsets::Rank(t, "none", "m1", false); })->has_value());
  auto ms = Run([](Txn& t) { return zsets::MScore(t, "z", {"m1", "x", "m8"}); });
  EXPECT_EQ(*ms, (std::vector<std::optional<double>>{1, std::nullopt, 1}));
  ms = Run([](Txn& t) { return zsets::MScore(t, "none", {"a", "b"}); });
  EXPECT_EQ(*ms, (std::vector<std::optional<double>>{std::nullopt, std::nullopt}));
}

TEST_F(ZSetTest, RangeByRankFollowsRedisIndexRules) {
  ZAdd("z", {{1, "a"}, {2, "b"}, {3, "c"}, {4, "d"}});
  auto range = [&](int64_t start, int64_t stop, bool rev) {
    return Members(
        Run([&](Txn& t) { return zsets::RangeByRank(t, "z", start, stop, rev); }).value());
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(range(0, -1, false), (V{"a", "b", "c", "d"}));
  EXPECT_EQ(range(1, 2, false), (V{"b", "c"}));
  EXPECT_EQ(range(-2, 100, false), (V{"c", "d"}));
  EXPECT_EQ(range(-100, 0, false), (V{"a"}));
  EXPECT_EQ(range(3, 1, false), V{});
  EXPECT_EQ(range(4, 10, false), V{});
  EXPECT_EQ(range(0, 1, true), (V{"d", "c"}));
  EXPECT_EQ(range(-1, -1, true), (V{"a"}));
  EXPECT_EQ(range(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), true),
            (V{"d", "c", "b", "a"}));
}

TEST_F(ZSetTest, RemovalDeletesEmptiedKeys) {
  ZAdd("z", {{1, "a"}, {2, "b"}, {3, "c"}});
  EXPECT_EQ(Run([](Txn& t) { return zsets::Rem(t, "z", {"a", "x", "a"}); }).value(), 1);
  EXPECT_EQ(Run([](Txn& t) { return zsets::Rem(t, "z", {"b", "c"}); }).value(), 2);
  EXPECT_FALSE(Exists("z"));
  EXPECT_EQ(Run([](Txn& t) { return zsets::Rem(t, "z", {"b"}); }).value(), 0);

  ZAdd("z", {{1, "a"}, {2, "b"}, {3, "c"}, {4, "d"}});
  EXPECT_EQ(Run([](Txn& t) { return zsets::RemRangeByRank(t, "z", 1, 2); }).value(), 2);
  EXPECT_EQ(AllMembers("z"), (std::vector<std::string>{"a", "d"}));
  EXPECT_EQ(Run([](Txn& t) { return zsets::RemRangeByRank(t, "z", 5, 9); }).value(), 0);
  EXPECT_EQ(Run([](Txn& t) { return zsets::RemRangeByRank(t, "z", 0, -1); }).value(), 2);
  EXPECT_FALSE(Exists("z"));
}

TEST_F(ZSetTest, PopsFromEitherEnd) {
  ZAdd("z", {{1, "a"}, {2, "b"}, {3, "c"}});
  EXPECT_EQ(Run([](Txn& t) { return zsets::Pop(t, "z", false, 1); }).value(), (Entries{{"a", 1}}));
  EXPECT_EQ(Run([](Txn& t) { return zsets::Pop(t, "z", true, 5); }).value(),
            (Entries{{"c", 3}, {"b", 2}}));
  EXPECT_FALSE(Exists("z"));
  EXPECT_TRUE(Run([](Txn& t) { return zsets::Pop(t, "z", false, 1); }).status().IsNotFound());

  ZAdd("b", {{1, "x"}});
  Put("s", "string");
  auto r = Run([](Txn& t) { return zsets::MPop(t, {"none", "b", "s"}, false, 3); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->key, "b");
  EXPECT_EQ(r->entries, (Entries{{"x", 1}}));
  // The first existing key decides, even when a later one is a sorted set.
  ZAdd("later", {{1, "y"}});
  EXPECT_TRUE(IsWrongType(Run([](Txn& t) {
                            return zsets::MPop(t, {"s", "later"}, true, 1);
                          }).status()));
  EXPECT_TRUE(Run([](Txn& t) {
                return zsets::MPop(t, {"n1", "n2"}, true, 1);
              })
                  .status()
                  .IsNotFound());
}

TEST_F(ZSetTest, EveryCommandRefusesOtherTypes) {
  Put("s", "v");
  ZAdd("z", {{1, "a"}});
  zsets::ScoreRange sr = Score("-inf", "+inf");
  zsets::LexRange lr = Lex("-", "+");
  std::vector<std::pair<double, std::string_view>> p = {{1, "a"}};
  std::vector<Status> errors = {
      Run([&](Txn& t) { return zsets::Add(t, "s", {}, p); }).status(),
      Run([](Txn& t) { return zsets::Card(t, "s"); }).status(),
      Run([](Txn& t) { return zsets::Score(t, "s", "a"); }).status(),
      Run([](Txn& t) { return zsets::MScore(t, "s", {"a"}); }).status(),
      Run([](Txn& t) { return zsets::Rank(t, "s", "a", false); }).status(),
      Run([](Txn& t) { return zsets::RangeByRank(t, "s", 0, -1, false); }).status(),
      Run([&](Txn& t) { return zsets::RangeByScore(t, "s", sr, false, {}); }).status(),
      Run([&](Txn& t) { return zsets::RangeByLex(t, "s", lr, false, {}); }).status(),
      Run([&](Txn& t) { return zsets::Count(t, "s", sr); }).status(),
      Run([&](Txn& t) { return zsets::LexCount(t, "s", lr); }).status(),
      Run([](Txn& t) { return zsets::Rem(t, "s", {"a"}); }).status(),
      Run([](Txn& t) { return zsets::RemRangeByRank(t, "s", 0, -1); }).status(),
      Run([&](Txn& t) { return zsets::RemRangeByScore(t, "s", sr); }).status(),
      Run([&](Txn& t) { return zsets::RemRangeByLex(t, "s", lr); }).status(),
      Run([](Txn& t) { return zsets::Pop(t, "s", false, 1); }).status(),
      Run([](Txn& t) { return zsets::RandomMember(t, "s"); }).status(),
      Run([](Txn& t) { return zsets::RandomMembers(t, "s", 3); }).status(),
      Run([](Txn& t) { return zsets::Scan(t, "s", 0, "", 10); }).status(),
      Run([](Txn& t) {
        return zsets::CheckSetOpInputs(t, {"z", "s"});
      }),
      Run([](Txn& t) {
        return zsets::Combine(t, zsets::SetOp::kUnion, {"z", "s"}, {}, zsets::Aggregate::kSum);
      }).status(),
      Run([](Txn& t) { return zsets::InterCard(t, {"s"}, 0); }).status(),
  };
  for (size_t i = 0; i < errors.size(); ++i) EXPECT_TRUE(IsWrongType(errors[i])) << "call " << i;
  EXPECT_EQ(Get("s"), "v");
  EXPECT_EQ(All("z"), (Entries{{"a", 1}}));
}

TEST_F(ZSetTest, StoreEntriesReplacesAnyValueAndDropsTtl) {
  Put("dst", "string");
  ASSERT_TRUE(Run([](Txn& t) { return keys::ExpireAt(t, "dst", t.now_ms() + 100000, {}); }).ok());
  auto n = Run([](Txn& t) {
    return zsets::StoreEntries(t, "dst", {{"a", 2}, {"b", 1}}, "zrangestore");
  });
  EXPECT_EQ(n.value(), 2);
  EXPECT_EQ(All("dst"), (Entries{{"b", 1}, {"a", 2}}));
  EXPECT_EQ(Do([](Txn& t) { return keys::Ttl(t, "dst", 1000); }), -1);
  EXPECT_EQ(Run([](Txn& t) { return zsets::StoreEntries(t, "dst", {}, "zrangestore"); }).value(),
            0);
  EXPECT_FALSE(Exists("dst"));
}

TEST_F(ZSetTest, CombineWithWeightsAggregatesAndSets) {
  ZAdd("a", {{1, "x"}, {2, "y"}, {3, "z"}});
  ZAdd("b", {{10, "y"}, {20, "z"}, {30, "w"}});
  ASSERT_TRUE(Run([](Txn& t) {
                auto meta = Meta{};
                meta.type = KeyType::kSet;
                meta.version = t.NewVersion();
                meta.count = 2;
                t.PutElement("s", meta.version, "x", "");
                t.PutElement("s", meta.version, "y", "");
                t.PutMeta("s", meta);
                return Result<int>(0);
              }).ok());
  auto combine = [&](zsets::SetOp op, std::vector<std::string> keys, std::vector<double> w,
                     zsets::Aggregate agg = zsets::Aggregate::kSum) {
    return Run([&](Txn& t) { return zsets::Combine(t, op, keys, w, agg); }).value();
  };
  using zsets::Aggregate;
  using zsets::SetOp;
  EXPECT_EQ(combine(SetOp::kUnion, {"a", "b"}, {}),
            (Entries{{"x", 1}, {"y", 12}, {"z", 23}, {"w", 30}}));
  EXPECT_EQ(combine(SetOp::kUnion, {"a", "b"}, {2, 0.5}, Aggregate::kMax),
            (Entries{{"x", 2}, {"y", 5}, {"z", 10}, {"w", 15}}));
  EXPECT_EQ(combine(SetOp::kInter, {"a", "b"}, {}, Aggregate::kMin), (Entries{{"y", 2}, {"z", 3}}));
  EXPECT_EQ(combine(SetOp::kInter, {"a", "s"}, {1, 5}), (Entries{{"x", 6}, {"y", 7}}));
  EXPECT_EQ(combine(SetOp::kDiff, {"a", "b"}, {}), (Entries{{"x", 1}}));
  EXPECT_EQ(combine(SetOp::kDiff, {"s", "b"}, {}), (Entries{{"x", 1}}));
  EXPECT_EQ(combine(SetOp::kDiff, {"a", "a"}, {}), Entries{});
  EXPECT_EQ(combine(SetOp::kInter, {"a", "none"}, {}), Entries{});
  // inf * 0 and inf + -inf are 0, as in Redis.
  ZAdd("inf", {{kInf, "x"}});
  ZAdd("ninf", {{-kInf, "x"}});
  EXPECT_EQ(combine(SetOp::kUnion, {"inf"}, {0}), (Entries{{"x", 0}}));
  EXPECT_EQ(combine(SetOp::kUnion, {"inf", "ninf"}, {}), (Entries{{"x", 0}}));
  EXPECT_EQ(Run([](Txn& t) { return zsets::InterCard(t, {"a", "b"}, 0); }).value(), 2);
  EXPECT_EQ(Run([](Txn& t) { return zsets::InterCard(t, {"a", "b"}, 1); }).value(), 1);
  EXPECT_EQ(Run([](Txn& t) { return zsets::InterCard(t, {"a", "x"}, 0); }).value(), 0);
}

TEST_F(ZSetTest, RandomMembers) {
  std::vector<std::pair<double, std::string>> pairs;
  for (int i = 0; i < 50; ++i) pairs.emplace_back(i, "m" + std::to_string(i));
  ZAdd("z", pairs);
  auto rand = [&](int64_t count) {
    return Run([&](Txn& t) { return zsets::RandomMembers(t, "z", count); }).value();
  };
  EXPECT_EQ(rand(0).size(), 0u);
  Entries all = All("z");
  std::reverse(all.begin(), all.end());
  EXPECT_EQ(rand(100), all);  // all of them, highest score first
  std::set<std::string> seen;
  for (int round = 0; round < 20; ++round) {
    Entries some = rand(10);
    ASSERT_EQ(some.size(), 10u);
    std::set<std::string> distinct;
    for (const auto& e : some) {
      EXPECT_EQ(e.score, std::stod(e.member.substr(1)));
      distinct.insert(e.member);
      seen.insert(e.member);
    }
    EXPECT_EQ(distinct.size(), 10u);
  }
  EXPECT_GT(seen.size(), 30u);  // 200 draws of 50 members: missing 20 has odds ~1e-40
  Entries many = rand(-500);
  EXPECT_EQ(many.size(), 500u);
  std::map<std::string, int> counts;
  for (const auto& e : many) counts[e.member]++;
  EXPECT_GT(counts.size(), 40u);
  EXPECT_EQ(rand(-3).size(), 3u);
  EXPECT_TRUE(Run([](Txn& t) { return zsets::RandomMember(t, "none"); }).status().IsNotFound());
  EXPECT_EQ(Run([](Txn& t) { return zsets::RandomMembers(t, "none", -5); })->size(), 0u);
}

TEST_F(ZSetTest, ScanSmallSetsAtOnceAndBigSetsByCursor) {
  ZAdd("small", {{3, "c"}, {1e17, "big"}, {0.5, "a"}});
  auto page = Run([](Txn& t) { return zsets::Scan(t, "small", 0, "", 1); }).value();
  EXPECT_EQ(page.cursor, 0u);
  EXPECT_EQ(page.items, (std::vector<std::pair<std::string, std::string>>{
                            {"a", "0.5"}, {"c", "3"}, {"big", "100000000000000000"}}));
  page = Run([](Txn& t) { return zsets::Scan(t, "small", 0, "b*", 10); }).value();
  EXPECT_EQ(page.items.size(), 1u);

  std::vector<std::pair<double, std::string>> pairs;
  for (int i = 0; i < 1000; ++i) pairs.emplace_back(i, "m" + std::to_string(i));
  ZAdd("big", pairs);
  std::map<std::string, std::string> got;
  uint64_t cursor = 0;
  int pages = 0;
  do {
    page = Run([&](Txn& t) { return zsets::Scan(t, "big", cursor, "", 100); }).value();
    for (auto& [m, s] : page.items) EXPECT_TRUE(got.emplace(m, s).second) << m;
    cursor = page.cursor;
    ASSERT_LT(++pages, 50);
  } while (cursor != 0);
  EXPECT_EQ(got.size(), 1000u);
  EXPECT_EQ(got["m7"], "7");
  EXPECT_GE(pages, 10);
  // A cursor the store never issued ends the scan.
  page = Run([](Txn& t) { return zsets::Scan(t, "big", 987654321, "", 10); }).value();
  EXPECT_EQ(page.cursor, 0u);
  EXPECT_TRUE(page.items.empty());
}

TEST_F(ZSetTest, DeletedSetsAreReclaimedByCompaction) {
  std::vector<std::pair<double, std::string>> pairs;
  for (int i = 0; i < 2000; ++i) pairs.emplace_back(i, "member-" + std::to_string(i));
  ZAdd("z", pairs);
  // Member and index records, and the 4 rank blocks of 2,000 members (512 per block).
  EXPECT_EQ(store().CountElementRecordsForTest(0, "z"), 4004);
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "z"), 4004);  // live: kept
  EXPECT_EQ(Do([](Txn& t) { return keys::Del(t, {"z"}); }), 1);
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "z"), 0);
  // A new set under the same name starts empty.
  ZAdd("z", {{1, "x"}});
  EXPECT_EQ(All("z"), (Entries{{"x", 1}}));
}

}  // namespace
}  // namespace redge::store::testing
