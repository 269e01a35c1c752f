// Redis glob matching without recursion.
//
// Every pattern token except '*' consumes exactly one byte of text ('?', a literal, an
// escape, a bracket set). With fixed-width tokens, a backtracking matcher only ever needs
// to revisit the most recent '*': if the pattern after that star cannot be placed at some
// text position, no earlier star can help by swallowing more, because doing so only moves
// the same tail further right (this is the argument behind Redis's skipLongerMatches).
// So the matcher below keeps one resume point and runs in O(pattern * text) time in the
// worst case, where a naive recursive matcher is exponential on "a*a*a*a*...b".
//
// Redis's stringmatchlen has a few observable quirks that KEYS/SCAN/PSUBSCRIBE users
// see, and this file reproduces them on purpose:
//  - An empty text matches only an empty pattern: stringmatchlen's main loop needs both
//    a pattern byte and a text byte, so "*" does not match "". (Redis's KEYS and SCAN
//    short-circuit a bare "*" before calling the matcher; callers must do the same.)
//  - Bracket parsing: "[a-]" is the range 'a'..']' (the range test only looks at the
//    next two pattern bytes), and an unterminated '[' takes the rest of the pattern as
//    the set.
//  - Redis gives up (no match) once a match has to go through more than 1000 nested
//    '*' groups; see kMaxStarNesting.
#include "store/glob.h"

#include <cstddef>
#include <utility>

namespace redge::store {
namespace {

// Redis's stringmatchlen recurses once per '*' group and returns "no match" when the
// depth exceeds 1000 (its guard against stack exhaustion). We do not recurse, but we
// keep the same limit so KEYS/PSUBSCRIBE answers agree with Redis for such patterns.
constexpr size_t kMaxStarNesting = 1000;

// Parses the bracket set that starts at pattern[open] == '[' and reports whether the
// byte `c` belongs to it. Returns the index just past the set. The extent of the set
// depends only on the pattern, never on `c`, which the caller relies on.
size_t MatchBracket(std::string_view pattern, size_t open, unsigned char c, bool* matched) {
  const size_t n = pattern.size();
  size_t i = open + 1;
  const bool negate = i < n && pattern[i] == '^';
  if (negate) ++i;
  bool hit = false;
  while (true) {
    if (i == n) {
      // Unterminated set: everything after '[' was the set. Redis then ends the pattern
      // here, so the caller resumes at the end of the pattern.
      break;
    }
    const auto b = static_cast<unsigned char>(pattern[i]);
    if (b == '\\' && n - i >= 2) {
      // Escaped byte inside the set is taken literally (this is how "]" or "-" are
      // included).
      ++i;
      if (static_cast<unsigned char>(pattern[i]) == c) hit = true;
      ++i;
    } else if (b == ']') {
      ++i;  // closing bracket consumed
      break;
    } else if (n - i >= 3 && pattern[i + 1] == '-') {
      // A range. Only two bytes of lookahead are checked, so the end byte may be ']'
      // ("[a-]" is the range ']'..'a' once reversed), exactly as Redis parses it.
      // Compared as unsigned bytes: matching is byte-wise.
      auto lo = b;
      auto hi = static_cast<unsigned char>(pattern[i + 2]);
      if (lo > hi) std::swap(lo, hi);  // reversed ranges are accepted
      if (c >= lo && c <= hi) hit = true;
      i += 3;
    } else {
      if (b == c) hit = true;
      ++i;
    }
  }
  *matched = negate ? !hit : hit;
  return i;
}

// Tries to match one non-'*' token at pattern[p] against the byte `c`. Returns the index
// just past the token, or npos if it does not match.
size_t MatchToken(std::string_view pattern, size_t p, unsigned char c) {
  const size_t n = pattern.size();
  switch (pattern[p]) {
    case '?':
      return p + 1;
    case '[': {
      bool matched = false;
      const size_t next = MatchBracket(pattern, p, c, &matched);
      return matched ? next : std::string_view::npos;
    }
    case '\\':
      // "\x" is a literal x; a lone trailing backslash is a literal backslash.
      if (n - p >= 2) ++p;
      [[fallthrough]];
    default:
      return static_cast<unsigned char>(pattern[p]) == c ? p + 1 : std::string_view::npos;
  }
}

// Skips a run of '*' starting at p.
size_t SkipStars(std::string_view pattern, size_t p) {
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p;
}

// True when a match would have to pass through more '*' groups than Redis's recursion
// limit allows. A star group that ends the pattern is answered without recursing in
// Redis, so it does not count against the limit.
bool ExceedsStarNesting(std::string_view pattern) {
  size_t groups = 0;
  size_t p = 0;
  const size_t n = pattern.size();
  while (p < n) {
    if (pattern[p] == '*') {
      p = SkipStars(pattern, p);
      if (p == n) return false;  // trailing star: matches without nesting deeper
      if (++groups > kMaxStarNesting) return true;
      continue;
    }
    // Step over one token so that "\*" and "[*]" are not counted as stars.
    if (pattern[p] == '[') {
      bool ignored = false;
      p = MatchBracket(pattern, p, 0, &ignored);
    } else if (pattern[p] == '\\' && n - p >= 2) {
      p += 2;
    } else {
      ++p;
    }
  }
  return false;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  if (text.empty()) return pattern.empty();
  if (ExceedsStarNesting(pattern)) return false;

  constexpr size_t kNone = std::string_view::npos;
  const size_t n = pattern.size();
  size_t p = 0;
  size_t t = 0;
  // Resume point of the most recent star: pattern index after the star run, and the
  // text index the tail is currently being tried at.
  size_t star_p = kNone;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < n && pattern[p] == '*') {
      p = SkipStars(pattern, p);
      if (p == n) return true;  // a trailing star swallows the rest of the text
      star_p = p;
      star_t = t;
      continue;
    }
    if (p < n) {
      const size_t next = MatchToken(pattern, p, static_cast<unsigned char>(text[t]));
      if (next != kNone) {
        p = next;
        ++t;
        continue;
      }
    }
    // Mismatch (or pattern exhausted with text left): let the last star take one more
    // byte and retry the tail from there.
    if (star_p == kNone) return false;
    p = star_p;
    t = ++star_t;
  }
  // Text consumed: only stars may remain.
  return SkipStars(pattern, p) == n;
}

bool GlobIsLiteral(std::string_view pattern) {
  // A backslash makes the pattern non-literal even though "\x" matches one string: the
  // caller would have to unescape it before using it as a key.
  return pattern.find_first_of("*?[\\") == std::string_view::npos;
}

}  // namespace redge::store
