// Extras of hash, set and sorted-set metadata (Meta::value): a few small records a type
// module keeps next to the count, each under a one-byte tag, so several coexist (the
// sorted set's seek hints and the sticky "converted" encoding marker of every collection).
//
// Format: empty, or [kVersion1] followed by records [tag:1][length:4 LE][payload]. Tags
// this code does not know are kept as they are, so an older binary that rewrites the
// record does not lose a newer binary's extras.
//
// Legacy: records written before this format held only the sorted set's seek hints as
// ['h'][low length:4 LE][low][high] (no version byte). They decode as a single record of
// tag kZSetHints whose payload is everything after the 'h'; the next write stores the new
// format.
//
// Thread-safety: pure functions over strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace redge::store::extras {

inline constexpr char kVersion1 = '\x01';

// Tags (part of the on-disk format: never reuse one for another meaning).
// Sorted sets: seek hints (store/zset_internal.h); payload [low length:4 LE][low][high].
inline constexpr char kZSetHints = 'h';
// Hashes, sets, sorted sets: the collection passed one of Redis's compact-encoding limits
// at some write (store/object.h), so OBJECT ENCODING reports hashtable/skiplist for good,
// as Redis never converts back. Payload: empty.
inline constexpr char kConverted = 'c';
// Hashes, sets: elements removed under the current version, whose tombstones ordered
// passes still step over (store/tombstones.h). Payload: [count:8 LE].
inline constexpr char kRemoved = 'r';

// Sorted sets: rank blocks are kept (store/zset_internal.h). Payload: [count:8 LE], the
// member count they were last kept for. ('b' marked an earlier, start-keyed layout of the
// blocks that no release wrote; it is ignored, and such a set rebuilds its blocks.)
inline constexpr char kZSetRankBlocks = 'k';

// The payload of `tag`, or nullopt when absent (or when `raw` is malformed).
std::optional<std::string_view> Get(std::string_view raw, char tag);
// Sets (adds or replaces) the record of `tag` in `*raw`, keeping every other record.
void Put(std::string* raw, char tag, std::string_view payload);
// Removes the record of `tag`; an extras string left without records becomes empty.
void Erase(std::string* raw, char tag);

}  // namespace redge::store::extras
