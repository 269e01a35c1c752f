// Tests for store/glob: Redis's stringmatchlen rules, its quirks, and bounded running time
// on patterns that make a naive backtracking matcher exponential.
#include "store/glob.h"

#include <gtest/gtest.h>

#include <array>
#include <bitset>
#include <chrono>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace redge::store {
namespace {

using namespace std::string_literals;

struct Case {
  std::string pattern;
  std::string text;
  bool match;
};

void ExpectCases(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.text), c.match)
        << "pattern '" << c.pattern << "' text '" << c.text << "'";
  }
}

TEST(GlobTest, Literals) {
  ExpectCases({
      {"hello", "hello", true},
      {"hello", "hell", false},
      {"hell", "hello", false},
      {"hello", "Hello", false},  // case-sensitive
      {"", "", true},
      {"", "a", false},
      {"a", "", false},
      {"a]b", "a]b", true},  // ']' outside a set is an ordinary byte
      {"^-", "^-", true},
  });
}

TEST(GlobTest, Star) {
  ExpectCases({
      {"*", "anything", true},
      {"*", "x", true},
      {"h*o", "hello", true},
      {"h*o", "ho", true},
      {"h*o", "hellx", false},
      {"h*", "h", true},
      {"*o", "hello", true},
      {"*o", "hellO", false},
      {"a*b*c", "abc", true},
      {"a*b*c", "aXXbYYc", true},
      {"a*b*c", "acb", false},
      {"a*b*c", "abcab", false},
      {"a*b*c", "abcabc", true},  // the last star must take the longer split
      {"a**", "a", true},
      {"***", "abc", true},
      {"*a*", "bab", true},
      {"*a*", "bbb", false},
      {"user:*:name", "user:42:name", true},
      {"user:*:name", "user:42:email", false},
  });
}

// Redis's matcher needs a text byte to enter its loop, so an empty text matches only the
// empty pattern, even "*". (KEYS and SCAN special-case a bare "*" before matching.)
TEST(GlobTest, EmptyTextMatchesOnlyEmptyPattern) {
  ExpectCases({
      {"", "", true},
      {"*", "", false},
      {"**", "", false},
      {"?", "", false},
      {"[a]", "", false},
      {"[^a]", "", false},
      {"\\", "", false},
  });
}

TEST(GlobTest, QuestionMark) {
  ExpectCases({
      {"?", "a", true},
      {"?", "ab", false},
      {"??", "a", false},
      {"h?llo", "hello", true},
      {"h?llo", "hallo", true},
      {"h?llo", "hllo", false},
      {"*?", "a", true},
      {"?*", "a", true},
      {"?*?", "a", false},
      {"?*?", "ab", true},
  });
}

TEST(GlobTest, BracketSets) {
  ExpectCases({
      {"h[ae]llo", "hello", true},
      {"h[ae]llo", "hallo", true},
      {"h[ae]llo", "hillo", false},
      {"h[ae]llo", "hllo", false},
      {"[abc]", "c", true},
      {"[abc]", "ab", false},  // a set matches exactly one byte
      {"[]", "]", false},      // empty set: the first ']' closes it
      {"[]a]", "a]", false},   // ...so "[]" matches nothing and "a]" is never reached
      {"[*]", "*", true},      // specials are literal inside a set
      {"[*]", "x", false},
      {"[?]", "?", true},
      {"[?]", "x", false},
  });
}

TEST(GlobTest, Ranges) {
  ExpectCases({
      {"[a-c]", "a", true},
      {"[a-c]", "b", true},
      {"[a-c]", "c", true},
      {"[a-c]", "d", false},
      {"[a-c]", "-", false},
      {"[c-a]", "b", true},  // reversed ranges are accepted
      {"[c-a]", "d", false},
      {"[0-9][0-9]", "42", true},
      {"[0-9][0-9]", "4x", false},
      {"[a-cx-z]", "y", true},
      {"[a-cx-z]", "m", false},
      {"[-a]", "-", true},  // '-' first is a literal
      {"[a-]x", "-", false},
      // The range test looks at the next two bytes only, so in "[a-]" the ']' is the end
      // of the range ']'..'a' and the set is then unterminated.
      {"[a-]", "a", true},
      {"[a-]", "_", true},  // ']' < '_' < 'a'
      {"[a-]", "-", false},
      {"[a-]", "b", false},
  });
}

TEST(GlobTest, Negation) {
  ExpectCases({
      {"[^e]llo", "allo", true},
      {"h[^e]llo", "hello", false},
      {"h[^e]llo", "hallo", true},
      {"[^a-c]", "b", false},
      {"[^a-c]", "z", true},
      {"[^]", "x", true},  // negated empty set matches any byte
      {"[^]", "]", true},
      {"[^]", "", false},
      {"a[^^]", "a^", false},  // only the first '^' negates
      {"a[^^]", "ab", true},
      {"[a^]", "^", true},  // '^' not first is a literal
  });
}

TEST(GlobTest, Escapes) {
  ExpectCases({
      {"\\*", "*", true},
      {"\\*", "a", false},
      {"\\*", "", false},
      {"h\\?llo", "h?llo", true},
      {"h\\?llo", "hello", false},
      {"\\[a]", "[a]", true},
      {"\\[a]", "a", false},
      {"\\a", "a", true},  // escaping an ordinary byte is harmless
      {"\\\\", "\\", true},
      {"a\\", "a\\", true},  // a trailing backslash is a literal backslash
      {"\\", "\\", true},
      {"[\\]]", "]", true},  // escapes work inside sets
      {"[\\]]", "\\", false},
      {"[\\-]", "-", true},
      {"[a\\-z]", "-", true},  // escaped '-' is not a range
      {"[a\\-z]", "b", false},
      {"[\\^a]", "^", true},  // escaped '^' does not negate
      {"[\\^a]", "b", false},
      {"*\\*", "abc*", true},
      {"*\\*", "abc", false},
  });
}

// An unterminated '[' takes the rest of the pattern as the set (Redis behavior).
TEST(GlobTest, UnterminatedBracket) {
  ExpectCases({
      {"[abc", "b", true},
      {"[abc", "d", false},
      {"[abc", "bc", false},  // the set still matches one byte and ends the pattern
      {"x[ab", "xa", true},
      {"[a-z", "m", true},
      {"[^a", "b", true},
      {"[^a", "a", false},
      {"[", "[", false},  // an empty unterminated set matches nothing
      {"x[", "x[", false},
      {"[^", "q", true},  // a negated empty unterminated set matches any byte
      {"[\\", "\\", true},
  });
}

TEST(GlobTest, BinarySafe) {
  const std::string nul_text = "a\0b"s;
  EXPECT_TRUE(GlobMatch("a\0b"s, nul_text));
  EXPECT_TRUE(GlobMatch("a?b", nul_text));
  EXPECT_TRUE(GlobMatch("a*", nul_text));
  EXPECT_FALSE(GlobMatch("a\0c"s, nul_text));
  EXPECT_TRUE(GlobMatch("[\0]"s, "\0"s));
  // Ranges compare unsigned bytes, as the header specifies byte-wise matching. (Redis's C
  // compares plain char, which is signed on x86, so it would reject these; a byte-wise
  // reading is the one that does not depend on the platform.)
  EXPECT_TRUE(GlobMatch("[\x01-\xff]", "\x80"));
  EXPECT_TRUE(GlobMatch("[a-\xff]", "b"));
  EXPECT_FALSE(GlobMatch("[\x80-\xff]", "a"));
}

// Redis's tests/unit/keyspace.tcl "Regression for pattern matching long nested loops".
TEST(GlobTest, PathologicalPatternsFinishFast) {
  const auto start = std::chrono::steady_clock::now();

  EXPECT_FALSE(GlobMatch("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", std::string(40, 'a')));

  std::string many_stars;
  for (int i = 0; i < 500; ++i) many_stars += "a*";
  EXPECT_FALSE(GlobMatch(many_stars + "b", std::string(20000, 'a')));
  EXPECT_TRUE(GlobMatch(many_stars + "b", std::string(20000, 'a') + "b"));
  EXPECT_TRUE(GlobMatch(many_stars, std::string(20000, 'a')));

  std::string question_stars;
  for (int i = 0; i < 300; ++i) question_stars += "*?";
  EXPECT_FALSE(GlobMatch(question_stars + "x", std::string(20000, 'a')));

  // Exponential backtracking would not finish these in the lifetime of the test; a
  // polynomial matcher needs milliseconds, so the bound is loose for sanitizer builds.
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

// Redis stops recursing after 1000 nested '*' groups and answers "no match"; the Redis
// test "Regression for pattern matching very long nested loops" expects exactly that.
TEST(GlobTest, StarNestingLimitLikeRedis) {
  auto repeat = [](std::string_view unit, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += unit;
    return out;
  };
  EXPECT_FALSE(GlobMatch(repeat("*?", 50000), std::string(50000, 'a')));
  EXPECT_TRUE(GlobMatch(repeat("*a", 1000), std::string(1000, 'a')));
  EXPECT_FALSE(GlobMatch(repeat("*a", 1001), std::string(1001, 'a')));
  // A trailing star group is answered without going deeper, so it does not count.
  EXPECT_TRUE(GlobMatch(repeat("*a", 1000) + "*", std::string(1000, 'a')));
  // Escaped stars and stars inside sets are literals, not groups.
  EXPECT_TRUE(GlobMatch(repeat("\\*", 2000), std::string(2000, '*')));
  EXPECT_TRUE(GlobMatch(repeat("[*]", 2000), std::string(2000, '*')));
}

TEST(GlobTest, IsLiteral) {
  EXPECT_TRUE(GlobIsLiteral("abc"));
  EXPECT_TRUE(GlobIsLiteral(""));
  EXPECT_TRUE(GlobIsLiteral("a]b^c-d"));
  EXPECT_FALSE(GlobIsLiteral("a*"));
  EXPECT_FALSE(GlobIsLiteral("a?"));
  EXPECT_FALSE(GlobIsLiteral("a[b]"));
  EXPECT_FALSE(GlobIsLiteral("a[b"));
  EXPECT_FALSE(GlobIsLiteral("a\\b"));  // needs unescaping before use as a key
}

// A deliberately naive reference: split the pattern into tokens first (each a set of
// accepted bytes, or a star), then match by plain exhaustive recursion. It shares no code
// or strategy with the implementation, so agreement on many random inputs checks the
// single-resume-point backtracking and the bracket parser against the definition.
class ReferenceGlob {
 public:
  explicit ReferenceGlob(std::string_view pattern) {
    size_t i = 0;
    while (i < pattern.size()) {
      Token tok;
      const char c = pattern[i];
      if (c == '*') {
        tok.star = true;
        ++i;
      } else if (c == '?') {
        tok.bytes.set();
        ++i;
      } else if (c == '\\') {
        if (i + 1 < pattern.size()) ++i;
        tok.bytes.set(static_cast<unsigned char>(pattern[i]));
        ++i;
      } else if (c == '[') {
        i = ParseSet(pattern, i + 1, &tok.bytes);
      } else {
        tok.bytes.set(static_cast<unsigned char>(c));
        ++i;
      }
      tokens_.push_back(tok);
    }
  }

  bool Match(std::string_view text) const {
    if (text.empty()) return tokens_.empty();  // Redis's empty-text rule
    return MatchFrom(0, text);
  }

 private:
  struct Token {
    bool star = false;
    std::bitset<256> bytes;
  };

  // Set grammar as Redis reads it: optional '^'; then items until ']' or the end of the
  // pattern; an item is "\x", "a-b" (whenever a '-' follows and one more byte exists), or
  // a single byte.
  static size_t ParseSet(std::string_view p, size_t i, std::bitset<256>* out) {
    bool negate = false;
    if (i < p.size() && p[i] == '^') {
      negate = true;
      ++i;
    }
    std::bitset<256> set;
    for (;;) {
      if (i >= p.size()) break;
      if (p[i] == '\\' && i + 1 < p.size()) {
        set.set(static_cast<unsigned char>(p[i + 1]));
        i += 2;
      } else if (p[i] == ']') {
        ++i;
        break;
      } else if (i + 2 < p.size() && p[i + 1] == '-') {
        int a = static_cast<unsigned char>(p[i]);
        int b = static_cast<unsigned char>(p[i + 2]);
        for (int x = std::min(a, b); x <= std::max(a, b); ++x) set.set(x);
        i += 3;
      } else {
        set.set(static_cast<unsigned char>(p[i]));
        ++i;
      }
    }
    *out = negate ? ~set : set;
    return i;
  }

  bool MatchFrom(size_t k, std::string_view text) const {
    if (k == tokens_.size()) return text.empty();
    if (tokens_[k].star) {
      for (size_t skip = 0; skip <= text.size(); ++skip) {
        if (MatchFrom(k + 1, text.substr(skip))) return true;
      }
      return false;
    }
    if (text.empty()) return false;
    return tokens_[k].bytes.test(static_cast<unsigned char>(text[0])) &&
           MatchFrom(k + 1, text.substr(1));
  }

  std::vector<Token> tokens_;
};

TEST(GlobTest, AgreesWithNaiveReferenceOnRandomInputs) {
  // Small alphabets make matches and every bracket corner case frequent.
  constexpr std::string_view kPatternBytes = "ab-*?[]^\\";
  constexpr std::string_view kTextBytes = "ab-]^\\[";
  std::mt19937 rng(12345);  // fixed seed: a failure is reproducible
  std::uniform_int_distribution<size_t> pattern_len(0, 9);
  std::uniform_int_distribution<size_t> text_len(0, 7);
  std::uniform_int_distribution<size_t> pick_pattern(0, kPatternBytes.size() - 1);
  std::uniform_int_distribution<size_t> pick_text(0, kTextBytes.size() - 1);
  int matches = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    std::string pattern(pattern_len(rng), ' ');
    for (auto& ch : pattern) ch = kPatternBytes[pick_pattern(rng)];
    std::string text(text_len(rng), ' ');
    for (auto& ch : text) ch = kTextBytes[pick_text(rng)];
    const bool want = ReferenceGlob(pattern).Match(text);
    ASSERT_EQ(GlobMatch(pattern, text), want)
        << "pattern '" << pattern << "' text '" << text << "'";
    matches += want ? 1 : 0;
  }
  // Guard against a generator that only ever produces non-matches.
  EXPECT_GT(matches, 1000);
}

}  // namespace
}  // namespace redge::store
