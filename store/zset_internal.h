// Internals shared by the sorted-set files of store/ (zsets.cc, zset_ranges.cc,
// zset_setops.cc): walks of the score index and element writes. Not for other modules.
//
// Thread-safety: as zsets.h (inside Store::Exec only).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"
#include "store/txn.h"
#include "store/zsets.h"

namespace redge::store::zsets::internal {

inline constexpr char kMemberNs = 'm';
inline constexpr char kIndexNs = 's';
// 's' + 8 score bytes.
inline constexpr size_t kIndexHeader = 9;

extern std::atomic<uint64_t> g_index_visits;

// Called for each index entry: return false to stop.
using IndexFn = std::function<bool(std::string_view member, double score, std::string_view sub)>;

// Visits the score index in ascending order from the first entry whose sub-key is >=
// `from_sub` (an index sub-key, or "s" for the very first entry).
Status WalkUp(Txn& txn, std::string_view key, const Meta& meta, std::string_view from_sub,
              const IndexFn& fn);
// Visits it in descending order from the last entry whose sub-key is <= `last_sub` ("" =
// from the very last entry).
Status WalkDown(Txn& txn, std::string_view key, const Meta& meta, std::string_view last_sub,
                const IndexFn& fn);

// The index sub-key just above every entry of score `score` ('s' + the next encoding):
// entries with score <= `score` are exactly those below it.
std::string IndexSubAbove(double score);

// The entry at 0-based ascending `rank` onwards: visits `n` entries starting at `rank`,
// walking from whichever end is closer (results are handed to `fn` in ascending order).
Status WalkRanks(Txn& txn, std::string_view key, const Meta& meta, uint64_t rank, uint64_t n,
                 const std::function<void(std::string_view member, double score)>& fn);

// Seek hints kept in the sorted set's metadata (Meta::value), so that walks from either
// end do not step over the tombstones of popped entries (a sorted set used as a queue
// deletes at its low end; RocksDB keeps the deletions until compaction): `low` sorts at
// or below every live index entry, `high` at or above every one; "" = unknown.
struct Hints {
  std::string low, high;
};
Hints ReadHints(const Meta& meta);
void WriteHints(Meta* meta, const Hints& hints);
// Widens the hints of `meta` to cover a new index entry `sub`.
void NoteInsert(Meta* meta, std::string_view sub);
// Before `removed` (index sub-keys) are deleted: moves the hints onto the lowest and
// highest entries that stay (two short walks).
Status NoteRemoval(Txn& txn, std::string_view key, Meta* meta, const std::vector<Entry>& removed);

// The member's score, NotFound if absent.
Result<double> ReadScore(Txn& txn, std::string_view key, const Meta& meta, std::string_view member);
// Writes both records of (member, score) (the caller removed any old index entry).
void PutEntry(Txn& txn, std::string_view key, uint64_t version, std::string_view member,
              double score);
// Removes both records of (member, score).
void DeleteEntry(Txn& txn, std::string_view key, uint64_t version, std::string_view member,
                 double score);

// Ends a write that removed elements: deletes the key if `meta.count` reached 0 (then the
// "del" event follows `event`), else writes `meta`. Raises `event`.
void FinishRemoval(Txn& txn, std::string_view key, const Meta& meta, std::string_view event);

// The sorted set at `key`: NotFound, WrongType or its metadata.
inline Result<Meta> Lookup(Txn& txn, std::string_view key) {
  return txn.GetTyped(key, KeyType::kZSet);
}

}  // namespace redge::store::zsets::internal
