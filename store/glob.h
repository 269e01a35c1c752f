// Redis glob matching (the rules of Redis's stringmatchlen):
//   *       any sequence, including empty
//   ?       any single byte
//   [abc]   one of the listed bytes; [a-z] a range (reversed ranges are accepted);
//   [^abc]  none of them; inside brackets \x is a literal x
//   \x      the literal byte x
// Matching is byte-wise and case-sensitive. A pattern with an unterminated '[' treats
// the rest as the set, as Redis does.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

namespace redge::store {

bool GlobMatch(std::string_view pattern, std::string_view text);

// True when `pattern` has no special characters, so it matches exactly one string.
bool GlobIsLiteral(std::string_view pattern);

}  // namespace redge::store
