// Rank blocks of big sorted sets: counted runs of the score index, so ranks are found
// without walking the index from an end (see zset_internal.h for the layout and costs).
#include <cstring>
#include <optional>
#include <string>

#include "store/encoding.h"
#include "store/meta_extras.h"
#include "store/zset_internal.h"

namespace redge::store::zsets::internal {

std::atomic<uint64_t> g_block_visits{0};

namespace {

// A block record: its sub-key ('r' + the block's first index sub-key, or 'r' alone for the
// first block, which starts below every entry) and its entry count.
struct Block {
  std::string sub;
  uint64_t count = 0;
  // Where a walk of this block's entries starts.
  std::string Start() const { return sub.size() == 1 ? std::string(1, kIndexNs) : sub.substr(1); }
};

std::string CountValue(uint64_t n) {
  std::string v;
  encoding::PutFixed64LE(&v, n);
  return v;
}

bool ParseBlock(std::string_view sub, std::string_view value, Block* out) {
  if (sub.empty() || sub[0] != kBlockNs || value.size() != 8) return false;
  out->sub.assign(sub);
  out->count = encoding::DecodeFixed64LE(value.data());
  return true;
}

Status Missing() { return Status::Corruption("sorted set rank block missing"); }

// The block holding index sub-key `index_sub` (the last block starting at or below it).
Result<Block> Containing(Txn& txn, std::string_view key, const Meta& meta,
                         std::string_view index_sub) {
  std::string probe(1, kBlockNs);
  probe.append(index_sub);
  std::optional<Block> found;
  Status s = txn.ScanElementsReverse(key, meta.version, probe,
                                     [&](std::string_view sub, std::string_view value) {
                                       g_block_visits.fetch_add(1, std::memory_order_relaxed);
                                       Block b;
                                       if (ParseBlock(sub, value, &b)) found = std::move(b);
                                       return false;
                                     });
  if (!s.ok()) return s;
  if (!found) return Missing();
  return *found;
}

// The block after `b`, nullopt if `b` is the last.
Result<std::optional<Block>> Next(Txn& txn, std::string_view key, const Meta& meta,
                                  const Block& b) {
  std::string from = b.sub;
  from.push_back('\0');  // the smallest sub-key above it
  std::optional<Block> found;
  Status s =
      txn.ScanElements(key, meta.version, from, [&](std::string_view sub, std::string_view value) {
        g_block_visits.fetch_add(1, std::memory_order_relaxed);
        Block next;
        if (ParseBlock(sub, value, &next)) found = std::move(next);
        return false;
      });
  if (!s.ok()) return s;
  return found;
}

void Write(Txn& txn, std::string_view key, const Meta& meta, const Block& b) {
  txn.PutElement(key, meta.version, b.sub, CountValue(b.count));
}

// Splits an over-full block in two halves: the second starts at its middle entry.
Status Split(Txn& txn, std::string_view key, const Meta& meta, Block b) {
  const uint64_t keep = b.count / 2;
  uint64_t seen = 0;
  std::string middle;
  Status s = WalkUp(txn, key, meta, b.Start(), [&](std::string_view, double, std::string_view sub) {
    if (seen++ < keep) return true;
    middle.assign(sub);
    return false;
  });
  if (!s.ok()) return s;
  if (middle.empty()) return Missing();
  Block second{std::string(1, kBlockNs) + middle, b.count - keep};
  b.count = keep;
  Write(txn, key, meta, b);
  Write(txn, key, meta, second);
  return Status::OK();
}

}  // namespace

bool HasRankBlocks(const Meta& meta) {
  if (meta.value.empty()) return false;
  auto v = extras::Get(meta.value, extras::kZSetRankBlocks);
  // The payload is the count the blocks were last kept for: a binary that does not know
  // blocks changes the count without them, and its sets fall back to walks.
  return v && v->size() == 8 && encoding::DecodeFixed64LE(v->data()) == meta.count;
}

void StampRankBlocks(Meta* meta) {
  if (meta->value.empty() || !extras::Get(meta->value, extras::kZSetRankBlocks)) return;
  extras::Put(&meta->value, extras::kZSetRankBlocks, CountValue(meta->count));
}

void DropRankBlocks(Meta* meta) {
  if (!meta->value.empty()) extras::Erase(&meta->value, extras::kZSetRankBlocks);
}

Status BuildRankBlocks(Txn& txn, std::string_view key, Meta* meta) {
  // Blocks left by an older build are stale: clear them first (there are few).
  std::vector<std::string> old;
  Status s = txn.ScanElements(key, meta->version, std::string(1, kBlockNs),
                              [&](std::string_view sub, std::string_view) {
                                if (sub.empty() || sub[0] != kBlockNs) return false;
                                old.emplace_back(sub);
                                return true;
                              });
  if (!s.ok()) return s;
  for (const auto& sub : old) txn.DeleteElement(key, meta->version, sub);
  Block current{std::string(1, kBlockNs), 0};
  uint64_t total = 0;
  s = WalkUp(txn, key, *meta, std::string(1, kIndexNs),
             [&](std::string_view, double, std::string_view sub) {
               if (current.count == kRankBlockFill) {
                 Write(txn, key, *meta, current);
                 current = Block{std::string(1, kBlockNs) + std::string(sub), 0};
               }
               current.count++;
               total++;
               return true;
             });
  if (!s.ok()) return s;
  if (total != meta->count) return Status::Corruption("sorted set index and count disagree");
  Write(txn, key, *meta, current);
  extras::Put(&meta->value, extras::kZSetRankBlocks, CountValue(meta->count));
  return Status::OK();
}

Status MaybeBuildRankBlocks(Txn& txn, std::string_view key, Meta* meta) {
  if (meta->count < kRankBlocksFrom || HasRankBlocks(*meta)) return Status::OK();
  return BuildRankBlocks(txn, key, meta);
}

Status NoteIndexPut(Txn& txn, std::string_view key, const Meta& meta, std::string_view sub) {
  auto b = Containing(txn, key, meta, sub);
  if (!b.ok()) return b.status();
  b->count++;
  if (b->count > kRankBlockMax) return Split(txn, key, meta, std::move(*b));
  Write(txn, key, meta, *b);
  return Status::OK();
}

Status NoteIndexDelete(Txn& txn, std::string_view key, const Meta& meta, std::string_view sub) {
  auto b = Containing(txn, key, meta, sub);
  if (!b.ok()) return b.status();
  if (b->count == 0) return Missing();
  b->count--;
  if (b->count < kRankBlockMergeBelow) {
    // Fold the next block in while the two fit in one fill, so deletions never leave
    // a long chain of near-empty blocks for ranks to add up.
    auto next = Next(txn, key, meta, *b);
    if (!next.ok()) return next.status();
    if (*next && b->count + (*next)->count <= kRankBlockFill) {
      b->count += (*next)->count;
      txn.DeleteElement(key, meta.version, (*next)->sub);
    }
  }
  if (b->count == 0 && b->sub.size() > 1) {
    // An empty block other than the first holds no entries: its predecessor covers its
    // range from now on.
    txn.DeleteElement(key, meta.version, b->sub);
    return Status::OK();
  }
  Write(txn, key, meta, *b);
  return Status::OK();
}

Result<uint64_t> CountBelow(Txn& txn, std::string_view key, const Meta& meta,
                            std::string_view index_sub) {
  auto b = Containing(txn, key, meta, index_sub);
  if (!b.ok()) return b.status();
  uint64_t before = 0;
  bool reached = false;
  Status s = txn.ScanElements(key, meta.version, std::string(1, kBlockNs),
                              [&](std::string_view sub, std::string_view value) {
                                g_block_visits.fetch_add(1, std::memory_order_relaxed);
                                Block x;
                                if (!ParseBlock(sub, value, &x)) return false;
                                if (x.sub == b->sub) {
                                  reached = true;
                                  return false;
                                }
                                before += x.count;
                                return true;
                              });
  if (!s.ok()) return s;
  if (!reached) return Missing();
  uint64_t within = 0;
  s = WalkUp(txn, key, meta, b->Start(), [&](std::string_view, double, std::string_view sub) {
    if (sub >= index_sub) return false;
    within++;
    return true;
  });
  if (!s.ok()) return s;
  return before + within;
}

Result<RankStart> SeekRank(Txn& txn, std::string_view key, const Meta& meta, uint64_t rank) {
  uint64_t before = 0;
  std::optional<RankStart> start;
  Status s = txn.ScanElements(key, meta.version, std::string(1, kBlockNs),
                              [&](std::string_view sub, std::string_view value) {
                                g_block_visits.fetch_add(1, std::memory_order_relaxed);
                                Block x;
                                if (!ParseBlock(sub, value, &x)) return false;
                                if (before + x.count > rank) {
                                  start = RankStart{x.Start(), rank - before};
                                  return false;
                                }
                                before += x.count;
                                return true;
                              });
  if (!s.ok()) return s;
  if (!start) return Missing();
  return *start;
}

}  // namespace redge::store::zsets::internal
