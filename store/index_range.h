// Redis's rules for a pair of element indexes (LRANGE, LTRIM, ZRANGE, ZREMRANGEBYRANK):
// negative indexes count from the end, the start is clamped to 0 and the stop to the last
// element. One definition for every type that takes them.
//
// Thread-safety: a pure function.
#pragma once

#include <cstdint>

namespace redge::store {

// Normalises [*start, *stop] for a collection of `size` elements; false if it is empty.
inline bool NormalizeIndexRange(int64_t size, int64_t* start, int64_t* stop) {
  if (*start < 0) *start += size;
  if (*stop < 0) *stop += size;
  if (*start < 0) *start = 0;
  if (*start > *stop || *start >= size) return false;
  if (*stop >= size) *stop = size - 1;
  return true;
}

}  // namespace redge::store
