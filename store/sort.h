// SORT and SORT_RO with Redis 7.0's semantics (sort.c), as a function over a Txn. The
// input is a list, set or sorted set (a missing key is an empty list); elements are
// weighed by themselves or by a BY pattern, and the output is the elements themselves or
// the values their GET patterns name.
//
// Patterns (Redis's lookupKeyByPattern): the first '*' is replaced by the element; a "->"
// after it (with something after the arrow) names a hash field of the key left of the
// arrow; "#" is the element itself; a pattern without '*' names nothing (GET gives nil,
// BY means "do not sort": lists and sorted sets keep their order, honouring DESC and
// LIMIT; a set is sorted ALPHA anyway when the result is STOREd, as Redis does so that
// replicas agree). A key of the wrong type reads as missing.
//
// Weights: numbers as C's strtod reads them (leading spaces, hex, inf; not nan, not out
// of range): otherwise "ERR One or more scores can't be converted into double". A missing
// BY key weighs 0. Equal weights are ordered by the elements' bytes. ALPHA compares bytes
// (Redis uses strcoll() unless it STOREs; redge runs in the C locale, where strcoll is
// strcmp).
//
// Thread-safety: call only inside Store::Exec / Store::Run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"
#include "store/txn.h"

namespace redge::store::sort {

struct Options {
  std::optional<std::string> by;  // BY pattern
  std::vector<std::string> get;   // GET patterns, in order
  int64_t limit_offset = 0;       // LIMIT offset count (count < 0: to the end)
  int64_t limit_count = -1;
  bool desc = false;
  bool alpha = false;
  std::optional<std::string> store;  // STORE destination (SORT only)
};

struct SortResult {
  // Without STORE: the reply's items (nullopt = nil). With STORE: empty.
  std::vector<std::optional<std::string>> items;
  // The number of items (stored or returned).
  int64_t count = 0;
};

// SORT key [options]. WrongType if `key` holds a string, hash or stream. With STORE the
// destination is replaced by a list of the items (nil GETs stored as ""), without TTL,
// with a "sortstore" event; an empty result deletes it instead ("del" if it existed).
Result<SortResult> Sort(Txn& txn, std::string_view key, const Options& options);

// The value a pattern names for `element` (see above), nullopt for none.
Result<std::optional<std::string>> LookupByPattern(Txn& txn, std::string_view pattern,
                                                   std::string_view element);

}  // namespace redge::store::sort
