// ParseJson / JsonNestingDepth (edge/json_input.h): the depth of untrusted JSON is bounded
// before nlohmann builds (and later dumps, recursively) anything.
#include "edge/json_input.h"

#include <gtest/gtest.h>

#include <string>

namespace redge {
namespace {

std::string Nested(int depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); }

TEST(JsonInput, DepthCountsArraysAndObjectsOutsideStrings) {
  EXPECT_EQ(JsonNestingDepth("1", 10), 0);
  EXPECT_EQ(JsonNestingDepth("[[1],[2,[3]]]", 10), 3);
  EXPECT_EQ(JsonNestingDepth(R"({"a":{"b":[1]}})", 10), 3);
  EXPECT_EQ(JsonNestingDepth(R"(["[[[[", "{{{"])", 10), 1);
  EXPECT_EQ(JsonNestingDepth(R"(["\"[[[", "\\", [2]])", 10), 2);
  // Stops early: a million levels cost no more than the first limit + 1.
  EXPECT_GT(JsonNestingDepth(Nested(1'000'000), 128), 128);
}

TEST(JsonInput, ParseRefusesTooDeepAndAcceptsTheLimit) {
  nlohmann::json j;
  EXPECT_EQ(ParseJson(Nested(kMaxJsonInputDepth), &j), JsonError::kNone);
  EXPECT_EQ(DumpJson(j), Nested(kMaxJsonInputDepth));
  nlohmann::json untouched = 7;
  EXPECT_EQ(ParseJson(Nested(kMaxJsonInputDepth + 1), &untouched), JsonError::kTooDeep);
  EXPECT_EQ(untouched, 7);
  EXPECT_EQ(ParseJson(Nested(100'000), &untouched), JsonError::kTooDeep);
  EXPECT_EQ(ParseJson("{nope", &untouched), JsonError::kSyntax);
  EXPECT_EQ(untouched, 7);
  // Records allow the few levels redge wraps around a client's value.
  EXPECT_FALSE(ParseRecord(Nested(kMaxJsonInputDepth + 2)).is_discarded());
  EXPECT_TRUE(ParseRecord(Nested(kMaxJsonRecordDepth + 1)).is_discarded());
}

TEST(JsonInput, DumpReplacesInvalidUtf8InsteadOfThrowing) {
  nlohmann::json j = {{"s", std::string("a\xff\xfe"
                                        "b")}};
  EXPECT_EQ(DumpJson(j),
            "{\"s\":\"a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b\"}");
}

}  // namespace
}  // namespace redge
