// Random elements of a collection (SRANDMEMBER, SPOP, HRANDFIELD; usable for ZRANDMEMBER):
// shared by the type modules, which own the metadata and the reply semantics.
//
// The store keeps elements ordered by sub-key with no rank index (the agreed layout:
// sub = member bytes), so "the i-th element" costs a walk of i elements. Sampling is
// uniform in both regimes:
//
//  - One pass: collections of at most kExactLimit elements, and requests so large that a
//    pass is cheaper than picks (count * kPickCost >= size). Distinct picks use selection
//    sampling (Knuth's algorithm S), picks with repetition draw `count` independent
//    uniform indexes; both are served in one ordered pass. O(size) element steps.
//  - Range picks, for bigger collections: the collection's sub-key space is cut into
//    ranges of about kRange elements by a one-time pass (cached per collection version in
//    memory, at most 64 MB in all, least recently used first out). A pick chooses a range
//    uniformly, reads it (at most kRangeCap + 1 elements), and draws u uniformly in
//    [0, kRangeCap): it returns the u-th element of the range if there is one, else tries
//    again. Every element then has probability 1 / (ranges * kRangeCap) per try: exactly
//    uniform whatever the ranges hold, as long as none holds more than kRangeCap. A range
//    found fuller than that is split on the spot and the pick starts over; the ranges are
//    rebuilt when the collection has grown by a quarter or shrunk by half since they were
//    cut (so tries succeed about half the time or better). Cost per pick: about two range
//    reads, O(kRangeCap) element steps; the first pick on a collection (and each rebuild)
//    is one pass, O(size) (about 0.2 s per million members).
//    The one case that is not exactly uniform: a range that grew past kRangeCap (more than
//    kRange inserts inside one range while the total stayed within a quarter) gives its
//    elements a slightly lower chance until a pick visits and splits it.
//
// Thread-safety: call only inside Store::Exec / Store::Run (the Txn's thread). The random
// generator is per thread; the range cache is shared and locked.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"
#include "store/txn.h"

namespace redge::store::sampling {

// Collections up to this size are sampled with one pass.
inline constexpr uint64_t kExactLimit = 1024;
// Elements per range when ranges are cut, and the most a range may hold.
inline constexpr uint64_t kRange = 16;
inline constexpr uint64_t kRangeCap = 2 * kRange;
// One range pick costs about this many element steps of an ordered pass.
inline constexpr uint64_t kPickCost = 2 * kRangeCap;

struct Element {
  std::string sub;  // without the namespace prefix
  std::string value;
};

// A sample with repetition: `order` lists indexes into `elements` in reply order.
struct Sample {
  std::vector<Element> elements;
  std::vector<uint32_t> order;
};

// The elements considered are those of (key, version) whose sub starts with `ns` ("" for
// hashes and sets; sorted sets pass their member namespace). `size` is how many there are
// (Meta::count); it must be exact and non-zero.
struct Source {
  std::string_view key;
  uint64_t version = 0;
  uint64_t size = 0;
  std::string_view ns;
};

// One element.
Result<Element> One(Txn& txn, const Source& src);
// min(count, size) distinct elements in random order.
Result<std::vector<Element>> Distinct(Txn& txn, const Source& src, uint64_t count);
// `count` elements drawn independently (repetition allowed), in random order.
Result<Sample> WithRepetition(Txn& txn, const Source& src, uint64_t count);

// The per-thread generator the sampling uses (also for shuffling replies).
std::mt19937_64& Rng();

}  // namespace redge::store::sampling
