// Helpers shared by the sorted-set unit tests (zsets_test.cc, zset_ranges_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/status.h"
#include "store/txn.h"
#include "store/zsets.h"
#include "tests/unit/store_fixture.h"

namespace redge::store::testing {

using Entries = std::vector<zsets::Entry>;

inline ::testing::AssertionResult IsWrongType(const Status& s) {
  return IsError(s, Status::Code::kWrongType,
                 "WRONGTYPE Operation against a key holding the wrong kind of value");
}

class ZSetTest : public StoreTest {
 protected:
  // ZADD key score member ... with no flags; returns the number added.
  int64_t ZAdd(std::string_view key, const std::vector<std::pair<double, std::string>>& pairs,
               zsets::AddFlags flags = {}) {
    std::vector<std::pair<double, std::string_view>> views;
    for (const auto& [score, member] : pairs) views.emplace_back(score, member);
    auto r = Run([&](Txn& t) { return zsets::Add(t, key, flags, views); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->added : -1;
  }
  // ZRANGE key 0 -1 WITHSCORES.
  Entries All(std::string_view key) {
    auto r = Run([&](Txn& t) { return zsets::RangeByRank(t, key, 0, -1, false); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : Entries{};
  }
  std::vector<std::string> Members(const Entries& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.member);
    return out;
  }
  std::vector<std::string> AllMembers(std::string_view key) { return Members(All(key)); }
  bool Exists(std::string_view key) {
    return Do([&](Txn& t) { return t.GetMeta(key).ok(); });
  }
  zsets::ScoreRange Score(std::string_view min, std::string_view max) {
    zsets::ScoreRange r;
    EXPECT_TRUE(zsets::ParseScoreRange(min, max, &r)) << min << " " << max;
    return r;
  }
  zsets::LexRange Lex(std::string_view min, std::string_view max) {
    zsets::LexRange r;
    EXPECT_TRUE(zsets::ParseLexRange(min, max, &r)) << min << " " << max;
    return r;
  }
};

}  // namespace redge::store::testing
