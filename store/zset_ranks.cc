// Sorted-set ranks: ZRANK, ZRANGE by index, ZREMRANGEBYRANK, and the rank blocks of big
// sets (counted runs of the score index, so ranks are found without walking the index
// from an end; see zset_internal.h for the layout and costs).
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "store/encoding.h"
#include "store/index_range.h"
#include "store/meta_extras.h"
#include "store/zset_internal.h"

namespace redge::store::zsets::internal {

std::atomic<uint64_t> g_block_visits{0};

namespace {

// A block record: its sub-key ('r' + the block's end, the index sub-key just past its last
// entry; the last block's end is kLastBlockEnd, above every index sub-key) and its entry
// count. A block holds the entries from the previous block's end (the first block: from
// the start of the index) up to its own end, excluded. Keyed by its end, the block holding
// an entry is the first record above it: one forward seek, which RocksDB answers at the
// newest version of the record however often it was rewritten (a backward seek steps over
// those versions).
struct Block {
  std::string sub;
  uint64_t count = 0;
  std::string_view End() const { return std::string_view(sub).substr(1); }
};

constexpr std::string_view kLastBlockEnd = "t";  // 's' + 1: above every index sub-key

std::string BlockSub(std::string_view end) {
  std::string sub(1, kBlockNs);
  sub.append(end);
  return sub;
}

std::string CountValue(uint64_t n) {
  std::string v;
  encoding::PutFixed64LE(&v, n);
  return v;
}

bool ParseBlock(std::string_view sub, std::string_view value, Block* out) {
  if (sub.size() < 2 || sub[0] != kBlockNs || value.size() != 8) return false;
  out->sub.assign(sub);
  out->count = encoding::DecodeFixed64LE(value.data());
  return true;
}

Status Missing() { return Status::Corruption("sorted set rank block missing"); }

// The first block whose record sorts at or above `from`, nullopt past the last block.
Result<std::optional<Block>> FirstFrom(Txn& txn, std::string_view key, const Meta& meta,
                                       std::string_view from) {
  std::optional<Block> found;
  Status s =
      txn.ScanElements(key, meta.version, from, [&](std::string_view sub, std::string_view value) {
        g_block_visits.fetch_add(1, std::memory_order_relaxed);
        Block b;
        if (ParseBlock(sub, value, &b)) found = std::move(b);
        return false;
      });
  if (!s.ok()) return s;
  return found;
}

// The block holding index sub-key `index_sub`: the first whose end is above it.
Result<Block> Containing(Txn& txn, std::string_view key, const Meta& meta,
                         std::string_view index_sub) {
  std::string from = BlockSub(index_sub);
  from.push_back('\0');  // the smallest sub-key above it
  auto b = FirstFrom(txn, key, meta, from);
  if (!b.ok()) return b.status();
  if (!*b) return Missing();  // the last block's end is above every entry
  return std::move(**b);
}

// The block after `b`, nullopt if `b` is the last.
Result<std::optional<Block>> Next(Txn& txn, std::string_view key, const Meta& meta,
                                  const Block& b) {
  std::string from = b.sub;
  from.push_back('\0');
  return FirstFrom(txn, key, meta, from);
}

// Where block `b`'s entries start: the previous block's end, or the start of the index.
Result<std::string> StartOf(Txn& txn, std::string_view key, const Meta& meta, const Block& b) {
  std::string start(1, kIndexNs);
  Status s = txn.ScanElementsReverse(key, meta.version, b.sub,
                                     [&](std::string_view sub, std::string_view) {
                                       g_block_visits.fetch_add(1, std::memory_order_relaxed);
                                       if (sub == b.sub) return true;  // itself
                                       if (sub.size() >= 2 && sub[0] == kBlockNs) {
                                         start.assign(sub.substr(1));
                                       }
                                       return false;
                                     });
  if (!s.ok()) return s;
  return start;
}

void Write(Txn& txn, std::string_view key, const Meta& meta, const Block& b) {
  txn.PutElement(key, meta.version, b.sub, CountValue(b.count));
}

// Cuts an over-full block (b.count > kRankBlockMax, already its new count) into runs of
// kRankBlockFill entries, the last one (which keeps b's end) taking the remainder.
Status Split(Txn& txn, std::string_view key, const Meta& meta, Block b) {
  auto start = StartOf(txn, key, meta, b);
  if (!start.ok()) return start.status();
  const uint64_t pieces = b.count / kRankBlockFill;
  std::vector<std::string> cuts;  // the first entry of each piece after the first
  uint64_t seen = 0;
  Status s = WalkUp(txn, key, meta, *start, [&](std::string_view, double, std::string_view sub) {
    if (seen > 0 && seen % kRankBlockFill == 0) cuts.emplace_back(sub);
    seen++;
    return cuts.size() < pieces - 1;
  });
  if (!s.ok()) return s;
  if (cuts.size() != pieces - 1) return Missing();
  for (const auto& cut : cuts) Write(txn, key, meta, Block{BlockSub(cut), kRankBlockFill});
  b.count -= kRankBlockFill * cuts.size();
  Write(txn, key, meta, b);
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
  uint64_t count = 0;
  uint64_t total = 0;
  s = WalkUp(txn, key, *meta, std::string(1, kIndexNs),
             [&](std::string_view, double, std::string_view sub) {
               if (count == kRankBlockFill) {  // this entry starts the next block
                 Write(txn, key, *meta, Block{BlockSub(sub), count});
                 count = 0;
               }
               count++;
               total++;
               return true;
             });
  if (!s.ok()) return s;
  if (total != meta->count) return Status::Corruption("sorted set index and count disagree");
  Write(txn, key, *meta, Block{BlockSub(kLastBlockEnd), count});
  extras::Put(&meta->value, extras::kZSetRankBlocks, CountValue(meta->count));
  return Status::OK();
}

Status MaybeBuildRankBlocks(Txn& txn, std::string_view key, Meta* meta) {
  if (meta->count < kRankBlocksFrom || HasRankBlocks(*meta)) return Status::OK();
  return BuildRankBlocks(txn, key, meta);
}

RankBlockUpdate::RankBlockUpdate(const Meta& meta) : active_(HasRankBlocks(meta)) {}

Status RankBlockUpdate::Note(Txn& txn, std::string_view key, const Meta& meta, std::string_view sub,
                             int delta) {
  if (!active_) return Status::OK();
  // Block ends change only in Apply, so the block found now is the one Apply updates.
  auto b = Containing(txn, key, meta, sub);
  if (!b.ok()) return b.status();
  auto [it, fresh] = touched_.try_emplace(b->sub, Pending{b->count, 0});
  it->second.delta += delta;
  return Status::OK();
}

Status RankBlockUpdate::Apply(Txn& txn, std::string_view key, Meta* meta_out) {
  if (!active_) {
    // A marker that was stale (the set changed under a binary without blocks) must not
    // come back to life with this command's count: drop it, so the set is walked until
    // an insert rebuilds the blocks.
    DropRankBlocks(meta_out);
    return Status::OK();
  }
  extras::Put(&meta_out->value, extras::kZSetRankBlocks, CountValue(meta_out->count));
  const Meta& meta = *meta_out;
  const std::string last = BlockSub(kLastBlockEnd);
  // Pass 1: new counts, splits of over-full blocks, removal of empty ones (but the last).
  for (const auto& [sub, p] : touched_) {
    const int64_t count = static_cast<int64_t>(p.stored) + p.delta;
    if (count < 0) return Status::Corruption("sorted set rank block count below zero");
    Block b{sub, static_cast<uint64_t>(count)};
    if (b.count > kRankBlockMax) {
      Status s = Split(txn, key, meta, std::move(b));
      if (!s.ok()) return s;
    } else if (b.count == 0 && sub != last) {
      // The next block covers its range from now on.
      txn.DeleteElement(key, meta.version, sub);
    } else {
      Write(txn, key, meta, b);
    }
  }
  // Pass 2: a block left small is folded into the next one while both fit in one fill, so
  // removals never leave a long chain of near-empty blocks for ranks to add up.
  for (const auto& [sub, p] : touched_) {
    // Only a block pass 1 left small can merge (a split leaves full blocks).
    const int64_t written = static_cast<int64_t>(p.stored) + p.delta;
    if (written >= static_cast<int64_t>(kRankBlockMergeBelow) || sub == last) continue;
    auto v = txn.GetElement(key, meta.version, sub);
    if (!v.ok()) {
      if (v.status().IsNotFound()) continue;  // deleted above
      return v.status();
    }
    Block b;
    if (!ParseBlock(sub, *v, &b)) return Missing();
    auto next = Next(txn, key, meta, b);
    if (!next.ok()) return next.status();
    if (!*next || b.count + (*next)->count > kRankBlockFill) continue;
    (*next)->count += b.count;
    txn.DeleteElement(key, meta.version, sub);
    Write(txn, key, meta, **next);
  }
  touched_.clear();
  return Status::OK();
}

// Visits the blocks in order with where each starts, until `fn` returns false.
template <typename Fn>
Status ForEachBlock(Txn& txn, std::string_view key, const Meta& meta, Fn&& fn) {
  std::string start(1, kIndexNs);
  bool done = false;
  Status s = txn.ScanElements(key, meta.version, std::string(1, kBlockNs),
                              [&](std::string_view sub, std::string_view value) {
                                g_block_visits.fetch_add(1, std::memory_order_relaxed);
                                Block b;
                                if (!ParseBlock(sub, value, &b)) return false;
                                if (!fn(b, std::string_view(start))) {
                                  done = true;
                                  return false;
                                }
                                start.assign(b.End());
                                return true;
                              });
  if (!s.ok()) return s;
  return done ? Status::OK() : Missing();
}

Result<uint64_t> CountBelow(Txn& txn, std::string_view key, const Meta& meta,
                            std::string_view index_sub) {
  uint64_t before = 0;
  std::string from;
  Status s = ForEachBlock(txn, key, meta, [&](const Block& b, std::string_view start) {
    if (b.End() > index_sub) {  // the block holding index_sub's position
      from.assign(start);
      return false;
    }
    before += b.count;
    return true;
  });
  if (!s.ok()) return s;
  uint64_t within = 0;
  s = WalkUp(txn, key, meta, from, [&](std::string_view, double, std::string_view sub) {
    if (sub >= index_sub) return false;
    within++;
    return true;
  });
  if (!s.ok()) return s;
  return before + within;
}

Result<RankStart> SeekRank(Txn& txn, std::string_view key, const Meta& meta, uint64_t rank) {
  uint64_t before = 0;
  RankStart out;
  Status s = ForEachBlock(txn, key, meta, [&](const Block& b, std::string_view start) {
    if (before + b.count > rank) {
      out = RankStart{std::string(start), rank - before};
      return false;
    }
    before += b.count;
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

Status WalkRanks(Txn& txn, std::string_view key, const Meta& meta, uint64_t rank, uint64_t n,
                 const std::function<void(std::string_view member, double score)>& fn) {
  if (n == 0 || rank >= meta.count) return Status::OK();
  n = std::min<uint64_t>(n, meta.count - rank);
  const uint64_t after = meta.count - rank - n;  // entries above the wanted run
  if (std::min(rank, after) > kRankBlockMax && HasRankBlocks(meta)) {
    auto start = SeekRank(txn, key, meta, rank);
    if (!start.ok()) return start.status();
    uint64_t skip = start->skip;
    uint64_t taken = 0;
    return WalkUp(txn, key, meta, start->from,
                  [&](std::string_view member, double score, std::string_view) {
                    if (skip > 0) {
                      skip--;
                      return true;
                    }
                    fn(member, score);
                    return ++taken < n;
                  });
  }
  uint64_t seen = 0;
  if (rank <= after) {
    return WalkUp(txn, key, meta, std::string(1, kIndexNs),
                  [&](std::string_view member, double score, std::string_view) {
                    if (seen++ < rank) return true;
                    fn(member, score);
                    return seen < rank + n;
                  });
  }
  std::vector<Entry> run;
  run.reserve(std::min<uint64_t>(n, 1 << 16));
  Status s =
      WalkDown(txn, key, meta, "", [&](std::string_view member, double score, std::string_view) {
        if (seen++ < after) return true;
        run.push_back(Entry{std::string(member), score});
        return seen < after + n;
      });
  if (!s.ok()) return s;
  for (auto it = run.rbegin(); it != run.rend(); ++it) fn(it->member, it->score);
  return Status::OK();
}

}  // namespace redge::store::zsets::internal

namespace redge::store::zsets {

using namespace internal;  // NOLINT: this file is part of the module's implementation

namespace {

// The ascending rank of the index entry `target`. Walks alternately up from the lowest
// entry and down from the highest, in runs that double in length, so the cost is about
// twice the distance to the nearer end (and each run is one iterator, so O(log n) seeks).
// A set with rank blocks walks only the first 96 entries (a rank near an end) and then
// counts its blocks instead.
constexpr uint64_t kRankWalkBeforeBlocks = 64;  // two runs of 16, then two of 32

Result<uint64_t> RankOfSub(Txn& txn, std::string_view key, const Meta& meta,
                           const std::string& target) {
  const bool blocks = HasRankBlocks(meta);
  std::string up_from(1, kIndexNs);
  uint64_t up_seen = 0;
  std::string down_from;  // "" = from the top
  bool skip_down_from = false;
  uint64_t down_seen = 0;
  std::optional<uint64_t> rank;
  uint64_t run = 16;
  while (!rank && up_seen + down_seen < meta.count) {
    if (blocks && up_seen + down_seen >= kRankWalkBeforeBlocks) {
      return CountBelow(txn, key, meta, target);
    }
    uint64_t steps = 0;
    bool more = false;
    Status s = WalkUp(txn, key, meta, up_from, [&](std::string_view, double, std::string_view sub) {
      if (sub == target) {
        rank = up_seen;
        return false;
      }
      up_seen++;
      if (++steps == run) {
        up_from.assign(sub);
        up_from.push_back('\0');  // the smallest sub-key above `sub`
        more = true;
        return false;
      }
      return true;
    });
    if (!s.ok()) return s;
    if (rank || !more) break;
    steps = 0;
    more = false;
    bool first = true;
    s = WalkDown(txn, key, meta, down_from, [&](std::string_view, double, std::string_view sub) {
      if (first && skip_down_from && sub == down_from) {
        first = false;
        return true;
      }
      first = false;
      if (sub == target) {
        rank = meta.count - 1 - down_seen;
        return false;
      }
      down_seen++;
      if (++steps == run) {
        down_from.assign(sub);
        skip_down_from = true;
        more = true;
        return false;
      }
      return true;
    });
    if (!s.ok()) return s;
    if (rank || !more) break;
    run *= 2;
  }
  if (!rank) return Status::Corruption("sorted set index entry missing");
  return *rank;
}

}  // namespace

Result<std::optional<int64_t>> Rank(Txn& txn, std::string_view key, std::string_view member,
                                    bool reverse) {
  auto found = Lookup(txn, key);
  if (!found.ok()) {
    if (found.status().IsNotFound()) return std::optional<int64_t>();
    return found.status();
  }
  auto score = ReadScore(txn, key, *found, member);
  if (!score.ok()) {
    if (score.status().IsNotFound()) return std::optional<int64_t>();
    return score.status();
  }
  auto rank = RankOfSub(txn, key, *found, IndexSub(*score, member));
  if (!rank.ok()) return rank.status();
  uint64_t r = reverse ? found->count - 1 - *rank : *rank;
  return std::optional<int64_t>(static_cast<int64_t>(r));
}

Result<std::vector<Entry>> RangeByRank(Txn& txn, std::string_view key, int64_t start, int64_t stop,
                                       bool reverse) {
  std::vector<Entry> out;
  auto found = Lookup(txn, key);
  if (!found.ok()) {
    if (found.status().IsNotFound()) return out;
    return found.status();
  }
  const int64_t size = static_cast<int64_t>(found->count);
  if (!NormalizeIndexRange(size, &start, &stop)) return out;
  // Reverse indexes count from the top: ascending ranks [size-1-stop, size-1-start].
  uint64_t first = reverse ? static_cast<uint64_t>(size - 1 - stop) : static_cast<uint64_t>(start);
  uint64_t n = static_cast<uint64_t>(stop - start + 1);
  out.reserve(std::min<uint64_t>(n, 1 << 16));
  Status s = WalkRanks(txn, key, *found, first, n, [&](std::string_view member, double score) {
    out.push_back(Entry{std::string(member), score});
  });
  if (!s.ok()) return s;
  if (reverse) std::reverse(out.begin(), out.end());
  return out;
}

Result<int64_t> RemRangeByRank(Txn& txn, std::string_view key, int64_t start, int64_t stop) {
  auto found = Lookup(txn, key);
  if (!found.ok()) return found.status().IsNotFound() ? Result<int64_t>(0) : found.status();
  Meta meta = std::move(*found);
  if (!NormalizeIndexRange(static_cast<int64_t>(meta.count), &start, &stop)) return int64_t{0};
  std::vector<Entry> doomed;
  Status s = WalkRanks(txn, key, meta, static_cast<uint64_t>(start),
                       static_cast<uint64_t>(stop - start + 1),
                       [&](std::string_view member, double score) {
                         doomed.push_back(Entry{std::string(member), score});
                       });
  if (!s.ok()) return s;
  s = NoteRemoval(txn, key, &meta, doomed);
  if (s.ok()) s = DeleteEntries(txn, key, &meta, doomed);
  if (!s.ok()) return s;
  if (!doomed.empty()) FinishRemoval(txn, key, meta, "zremrangebyrank");
  return static_cast<int64_t>(doomed.size());
}

}  // namespace redge::store::zsets
