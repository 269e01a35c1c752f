// Internals shared by the sorted-set files of store/ (zsets.cc, zset_ranks.cc,
// zset_ranges.cc, zset_setops.cc): walks of the score index and element writes. Not for other
// modules.
//
// Thread-safety: as zsets.h (inside Store::Exec only).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
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
class RankBlockUpdate;
// Writes both records of (member, score) (the caller removed any old index entry) and
// counts the index entry in `blocks`.
Status PutEntry(Txn& txn, std::string_view key, const Meta& meta, std::string_view member,
                double score, RankBlockUpdate* blocks);
// Moves `member`'s index entry from score `from` to `to` (ZADD of an existing member).
Status MoveEntry(Txn& txn, std::string_view key, const Meta& meta, std::string_view member,
                 double from, double to, RankBlockUpdate* blocks);
// Removes the records of every entry of `doomed` (each present once), lowers meta->count and
// keeps the rank blocks; the caller then calls FinishRemoval.
Status DeleteEntries(Txn& txn, std::string_view key, Meta* meta, const std::vector<Entry>& doomed);

// --- Rank blocks (zset_ranks.cc) ----------------------------------------------------------
//
// A sorted set of kRankBlocksFrom members or more also keeps rank blocks: the score index
// cut into consecutive runs, each a record
//   'r' + the run's end (the index sub-key just past its last entry)  -> its entry count
// (8 bytes LE; the last run's end is "t", above every index sub-key). Keyed by their ends,
// the run holding an entry is the first record above it: one forward seek. A rank is the counts of
// the runs before an entry's run plus a walk inside its run, so ZRANK, ZRANGE by index,
// ZREMRANGEBYRANK and ZCOUNT cost O(n / kRankBlockFill + kRankBlockMax) instead of a walk
// of up to n/2 entries. Runs split above kRankBlockMax entries and merge below
// kRankBlockMergeBelow; a command writes each run it touched once, so an insert or delete
// adds one seek and (per command) one write (plus an amortised O(1) split or merge). Smaller sets
// are walked from the nearer end, as cheap. The metadata extra kZSetRankBlocks marks a set whose
// runs are kept, with the count they were kept for: a set changed by a binary that does not know
// runs reads as unmarked and is walked until its next insert rebuilds them.
inline constexpr char kBlockNs = 'r';
inline constexpr uint64_t kRankBlocksFrom = 1024;
inline constexpr uint64_t kRankBlockFill = 512;
inline constexpr uint64_t kRankBlockMax = 1024;
inline constexpr uint64_t kRankBlockMergeBelow = 128;

extern std::atomic<uint64_t> g_block_visits;

// Whether `meta`'s rank blocks are kept and current.
bool HasRankBlocks(const Meta& meta);
// Forgets the rank blocks (their records become garbage of a rebuild or the version).
void DropRankBlocks(Meta* meta);
// Writes the rank blocks of the whole set (an O(n) walk) and marks meta.
Status BuildRankBlocks(Txn& txn, std::string_view key, Meta* meta);
// Builds the rank blocks if the set has none and has grown to kRankBlocksFrom members.
Status MaybeBuildRankBlocks(Txn& txn, std::string_view key, Meta* meta);
// The rank-block changes of one command: index entries added and removed are counted
// against their blocks, and each touched block is written once by Apply (a command that
// adds or removes thousands of entries would otherwise write a block record per entry,
// versions RocksDB keeps until its next flush and every walk of the blocks steps over).
// Not thread-safe; lives for one command inside Store::Exec.
class RankBlockUpdate {
 public:
  // Inactive (every call a no-op) unless `meta`'s rank blocks are kept.
  explicit RankBlockUpdate(const Meta& meta);
  // Index entry `sub` was added (+1) or removed (-1).
  Status Note(Txn& txn, std::string_view key, const Meta& meta, std::string_view sub, int delta);
  // Writes the touched blocks (new counts, splits of over-full blocks, merges of small
  // ones) and marks *meta's blocks as kept for meta->count; an inactive update drops a
  // stale marker instead. REQUIRES: every index write of the command is done and
  // meta->count is the set's new count.
  Status Apply(Txn& txn, std::string_view key, Meta* meta);

 private:
  struct Pending {
    uint64_t stored = 0;  // the block's count before this command
    int64_t delta = 0;
  };
  bool active_;
  std::map<std::string, Pending> touched_;  // by block sub-key: the blocks' order
};
// The number of index entries below `index_sub` (any sub-key, present or not).
// REQUIRES: HasRankBlocks(meta).
Result<uint64_t> CountBelow(Txn& txn, std::string_view key, const Meta& meta,
                            std::string_view index_sub);
// Where the entry of ascending rank `rank` is found: a walk up from `from` that steps over
// `skip` entries. REQUIRES: HasRankBlocks(meta), rank < meta.count.
struct RankStart {
  std::string from;
  uint64_t skip = 0;
};
Result<RankStart> SeekRank(Txn& txn, std::string_view key, const Meta& meta, uint64_t rank);

// Ends a write that removed elements: deletes the key if `meta.count` reached 0 (then the
// "del" event follows `event`), else writes `meta`. Raises `event`.
void FinishRemoval(Txn& txn, std::string_view key, const Meta& meta, std::string_view event);

// The sorted set at `key`: NotFound, WrongType or its metadata.
inline Result<Meta> Lookup(Txn& txn, std::string_view key) {
  return txn.GetTyped(key, KeyType::kZSet);
}

}  // namespace redge::store::zsets::internal
