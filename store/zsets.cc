// Sorted sets: layout helpers, index walks, ZADD, ZREM, point reads, pops, stored results
// and DUMP support. Ranks (and the rank blocks) live in zset_ranks.cc, ranges by score and
// lex in zset_ranges.cc, set operations, random members and ZSCAN in zset_setops.cc.
#include "store/zsets.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <unordered_set>

#include "store/encoding.h"
#include "store/meta_extras.h"
#include "store/object.h"
#include "store/zset_internal.h"

namespace redge::store::zsets {

namespace internal {

std::atomic<uint64_t> g_index_visits{0};

namespace {

constexpr uint64_t kSignBit = uint64_t{1} << 63;

uint64_t ScoreKeyBits(double score) {
  if (score == 0) score = 0.0;  // -0.0 and +0.0 are one score
  uint64_t bits = std::bit_cast<uint64_t>(score);
  return (bits & kSignBit) ? ~bits : (bits | kSignBit);
}

std::string ScoreValue(double score) {
  if (score == 0) score = 0.0;
  std::string v;
  encoding::PutFixed64LE(&v, std::bit_cast<uint64_t>(score));
  return v;
}

// Splits an index sub-key; false if it is not one.
bool ParseIndexSub(std::string_view sub, std::string_view* member, double* score) {
  if (sub.size() < kIndexHeader || sub[0] != kIndexNs) return false;
  *score = DecodeScore(sub.data() + 1);
  *member = sub.substr(kIndexHeader);
  return true;
}

// Hints longer than this are cut (a prefix of a lower bound is still one) or dropped.
constexpr size_t kMaxHint = 256;

}  // namespace

// The hints are one record of the metadata's extras (store/meta_extras.h), payload
// [low length:4 LE][low][high].
Hints ReadHints(const Meta& meta) {
  Hints h;
  auto v = extras::Get(meta.value, extras::kZSetHints);
  if (!v || v->size() < 4) return h;
  uint32_t low_len = 0;
  memcpy(&low_len, v->data(), sizeof(low_len));
  if (4 + static_cast<size_t>(low_len) > v->size()) return h;
  h.low.assign(v->substr(4, low_len));
  h.high.assign(v->substr(4 + low_len));
  return h;
}

void WriteHints(Meta* meta, const Hints& hints) {
  if (hints.low.empty() && hints.high.empty()) {
    extras::Erase(&meta->value, extras::kZSetHints);
    return;
  }
  std::string v;
  const auto low_len = static_cast<uint32_t>(hints.low.size());
  v.append(reinterpret_cast<const char*>(&low_len), sizeof(low_len));
  v.append(hints.low);
  v.append(hints.high);
  extras::Put(&meta->value, extras::kZSetHints, v);
}

void NoteInsert(Meta* meta, std::string_view sub) {
  if (meta->value.empty()) return;
  Hints h = ReadHints(*meta);
  if (h.low.empty() && h.high.empty()) return;
  bool changed = false;
  if (!h.low.empty() && sub < h.low) {
    h.low.assign(sub.substr(0, kMaxHint));
    changed = true;
  }
  if (!h.high.empty() && sub > h.high) {
    h.high.assign(sub.size() <= kMaxHint ? sub : std::string_view());
    changed = true;
  }
  if (changed) WriteHints(meta, h);
}

Status NoteRemoval(Txn& txn, std::string_view key, Meta* meta, const std::vector<Entry>& removed) {
  if (removed.empty() || removed.size() >= meta->count) return Status::OK();  // key goes
  std::unordered_set<std::string> gone;
  for (const auto& e : removed) gone.insert(IndexSub(e.score, e.member));
  Hints h = ReadHints(*meta);
  Status s = WalkUp(txn, key, *meta, std::string(1, kIndexNs),
                    [&](std::string_view, double, std::string_view sub) {
                      if (gone.count(std::string(sub))) return true;
                      h.low.assign(sub.substr(0, kMaxHint));
                      return false;
                    });
  if (!s.ok()) return s;
  s = WalkDown(txn, key, *meta, "", [&](std::string_view, double, std::string_view sub) {
    if (gone.count(std::string(sub))) return true;
    h.high.assign(sub.size() <= kMaxHint ? sub : std::string_view());
    return false;
  });
  if (!s.ok()) return s;
  WriteHints(meta, h);
  return Status::OK();
}

Status WalkUp(Txn& txn, std::string_view key, const Meta& meta, std::string_view from_sub,
              const IndexFn& fn) {
  // Nothing live sorts below the low hint: start there rather than step over tombstones.
  std::string low;
  if (!meta.value.empty()) {
    low = ReadHints(meta).low;
    if (low > from_sub) from_sub = low;
  }
  return txn.ScanElements(key, meta.version, from_sub, [&](std::string_view sub, std::string_view) {
    std::string_view member;
    double score;
    if (!ParseIndexSub(sub, &member, &score)) return false;
    g_index_visits.fetch_add(1, std::memory_order_relaxed);
    return fn(member, score, sub);
  });
}

Status WalkDown(Txn& txn, std::string_view key, const Meta& meta, std::string_view last_sub,
                const IndexFn& fn) {
  std::string high;
  if (!meta.value.empty()) {
    high = ReadHints(meta).high;
    if (!high.empty() && (last_sub.empty() || high < last_sub)) last_sub = high;
  }
  return txn.ScanElementsReverse(key, meta.version, last_sub,
                                 [&](std::string_view sub, std::string_view) {
                                   std::string_view member;
                                   double score;
                                   if (!ParseIndexSub(sub, &member, &score)) return false;
                                   g_index_visits.fetch_add(1, std::memory_order_relaxed);
                                   return fn(member, score, sub);
                                 });
}

std::string IndexSubAbove(double score) {
  std::string sub(1, kIndexNs);
  // +inf encodes below every NaN pattern, so the increment never wraps.
  encoding::PutFixed64BE(&sub, ScoreKeyBits(score) + 1);
  return sub;
}

Result<double> ReadScore(Txn& txn, std::string_view key, const Meta& meta,
                         std::string_view member) {
  auto v = txn.GetElement(key, meta.version, MemberSub(member));
  if (!v.ok()) return v.status();
  if (v->size() != 8) return Status::Corruption("bad sorted set score record");
  return std::bit_cast<double>(encoding::DecodeFixed64LE(v->data()));
}

Status PutEntry(Txn& txn, std::string_view key, const Meta& meta, std::string_view member,
                double score, RankBlockUpdate* blocks) {
  txn.PutElement(key, meta.version, MemberSub(member), ScoreValue(score));
  const std::string sub = IndexSub(score, member);
  txn.PutElement(key, meta.version, sub, "");
  return blocks->Note(txn, key, meta, sub, +1);
}

Status MoveEntry(Txn& txn, std::string_view key, const Meta& meta, std::string_view member,
                 double from, double to, RankBlockUpdate* blocks) {
  const std::string old_sub = IndexSub(from, member);
  txn.DeleteElement(key, meta.version, old_sub);
  Status s = blocks->Note(txn, key, meta, old_sub, -1);
  if (!s.ok()) return s;
  return PutEntry(txn, key, meta, member, to, blocks);
}

Status DeleteEntries(Txn& txn, std::string_view key, Meta* meta, const std::vector<Entry>& doomed) {
  // When everything goes, so does the key: its blocks need no upkeep.
  const bool all = doomed.size() >= meta->count;
  RankBlockUpdate blocks(all ? Meta() : *meta);
  for (const auto& e : doomed) {
    txn.DeleteElement(key, meta->version, MemberSub(e.member));
    const std::string sub = IndexSub(e.score, e.member);
    txn.DeleteElement(key, meta->version, sub);
    Status s = blocks.Note(txn, key, *meta, sub, -1);
    if (!s.ok()) return s;
  }
  meta->count -= std::min<uint64_t>(doomed.size(), meta->count);
  return blocks.Apply(txn, key, meta);
}

void FinishRemoval(Txn& txn, std::string_view key, const Meta& meta, std::string_view event) {
  if (meta.count == 0) {
    txn.DeleteKey(key);
    txn.Notify(key, event);
    txn.Notify(key, "del");
  } else {
    txn.PutMeta(key, meta);
    txn.Notify(key, event);
  }
}

}  // namespace internal

using namespace internal;  // NOLINT: this file is the module's implementation

// --- Layout helpers ------------------------------------------------------------------------

std::string EncodeScore(double score) {
  std::string out;
  encoding::PutFixed64BE(&out, ScoreKeyBits(score));
  return out;
}

double DecodeScore(const char* p) {
  uint64_t bits = encoding::DecodeFixed64BE(p);
  bits = (bits & kSignBit) ? (bits & ~kSignBit) : ~bits;
  return std::bit_cast<double>(bits);
}

std::string MemberSub(std::string_view member) {
  std::string sub;
  sub.reserve(1 + member.size());
  sub.push_back(kMemberNs);
  sub.append(member);
  return sub;
}

std::string IndexSub(double score, std::string_view member) {
  std::string sub;
  sub.reserve(kIndexHeader + member.size());
  sub.push_back(kIndexNs);
  encoding::PutFixed64BE(&sub, ScoreKeyBits(score));
  sub.append(member);
  return sub;
}

std::string ListpackScoreText(double score) {
  if (std::isinf(score)) return score > 0 ? "inf" : "-inf";
  if (score == 0) return "0";
  // Redis's d2string: integers whose value a long long holds safely print as integers.
  constexpr double kHalf = static_cast<double>(INT64_MAX / 2);
  if (score >= -kHalf && score <= kHalf) {
    auto ll = static_cast<long long>(score);
    if (static_cast<double>(ll) == score) return std::to_string(ll);
  }
  char buf[64];
  int n = snprintf(buf, sizeof(buf), "%.17g", score);
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

uint64_t IndexEntriesVisited() { return g_index_visits.load(std::memory_order_relaxed); }
uint64_t RankBlocksVisited() { return g_block_visits.load(std::memory_order_relaxed); }

// --- DUMP and RESTORE ---------------------------------------------------------------------

bool DumpsRecord(std::string_view sub) { return sub.empty() || sub[0] != kBlockNs; }

void PrepareDumpMeta(Meta* meta) { DropRankBlocks(meta); }

bool ValidDumpRecords(const std::vector<std::pair<std::string_view, std::string_view>>& records,
                      uint64_t count) {
  if (records.size() != 2 * count) return false;
  std::unordered_set<std::string_view> index;
  for (const auto& [sub, value] : records) {
    if (sub.size() >= kIndexHeader && sub[0] == kIndexNs && value.empty()) {
      if (!index.insert(sub).second) return false;
    }
  }
  if (index.size() != count) return false;
  for (const auto& [sub, value] : records) {
    if (sub.empty() || sub[0] == kIndexNs) continue;
    if (sub[0] != kMemberNs || value.size() != 8) return false;
    const double score = std::bit_cast<double>(encoding::DecodeFixed64LE(value.data()));
    // Each index record matches one member record: a repeated member finds its gone.
    if (std::isnan(score) || index.erase(IndexSub(score, sub.substr(1))) != 1) return false;
  }
  return index.empty();
}

Status FinishRestore(Txn& txn, std::string_view key, Meta* meta) {
  DropRankBlocks(meta);
  return MaybeBuildRankBlocks(txn, key, meta);
}

// --- ZADD ----------------------------------------------------------------------------------

Result<AddResult> Add(Txn& txn, std::string_view key, const AddFlags& flags,
                      const std::vector<std::pair<double, std::string_view>>& pairs) {
  if (flags.nx && flags.xx) {
    return Status::InvalidArgument("XX and NX options at the same time are not compatible");
  }
  if ((flags.gt && flags.nx) || (flags.lt && flags.nx) || (flags.gt && flags.lt)) {
    return Status::InvalidArgument("GT, LT, and/or NX options at the same time are not compatible");
  }
  if (flags.incr && pairs.size() > 1) {
    return Status::InvalidArgument("INCR option supports a single increment-element pair");
  }
  const Status nan_error = Status::InvalidArgument("resulting score is not a number (NaN)");
  for (const auto& p : pairs) {
    if (std::isnan(p.first)) return nan_error;
  }
  AddResult res;
  auto found = Lookup(txn, key);
  Meta meta;
  const bool existed = found.ok();
  if (existed) {
    meta = std::move(*found);
  } else if (found.status().IsNotFound()) {
    if (flags.xx) return res;  // XX never creates the key
    meta.type = KeyType::kZSet;
    meta.version = txn.NewVersion();
  } else {
    return found.status();
  }
  RankBlockUpdate blocks(meta);
  for (const auto& [input, member] : pairs) {
    std::optional<double> current;
    // A brand-new version holds nothing but what this loop wrote.
    if (existed || res.added > 0) {
      auto cur = ReadScore(txn, key, meta, member);
      if (cur.ok()) {
        current = *cur;
      } else if (!cur.status().IsNotFound()) {
        return cur.status();
      }
    }
    if (current) {
      if (flags.nx) continue;
      double score = input;
      if (flags.incr) {
        score += *current;
        if (std::isnan(score)) return nan_error;  // INCR has one pair: nothing written yet
      }
      if ((flags.lt && score >= *current) || (flags.gt && score <= *current)) continue;
      res.processed = true;
      res.score = score;
      if (score != *current) {
        Status s = MoveEntry(txn, key, meta, member, *current, score, &blocks);
        if (!s.ok()) return s;
        NoteInsert(&meta, IndexSub(score, member));
        res.updated++;
      }
    } else if (!flags.xx) {
      Status s = PutEntry(txn, key, meta, member, input, &blocks);
      if (!s.ok()) return s;
      NoteInsert(&meta, IndexSub(input, member));
      meta.count++;
      object::NoteZSetInsert(txn, &meta, member);
      res.added++;
      res.processed = true;
      res.score = input;
    }
  }
  if (res.added > 0 || res.updated > 0) {
    Status s = blocks.Apply(txn, key, &meta);
    if (s.ok()) s = MaybeBuildRankBlocks(txn, key, &meta);
    if (!s.ok()) return s;
    txn.PutMeta(key, meta);
    txn.Notify(key, flags.incr ? "zincr" : "zadd");
  }
  return res;
}

// --- Reads ----------------------------------------------------------------------------------

Result<int64_t> Card(Txn& txn, std::string_view key) {
  auto found = Lookup(txn, key);
  if (found.ok()) return static_cast<int64_t>(found->count);
  if (found.status().IsNotFound()) return int64_t{0};
  return found.status();
}

Result<std::optional<double>> Score(Txn& txn, std::string_view key, std::string_view member) {
  auto found = Lookup(txn, key);
  if (!found.ok()) {
    if (found.status().IsNotFound()) return std::optional<double>();
    return found.status();
  }
  auto score = ReadScore(txn, key, *found, member);
  if (score.ok()) return std::optional<double>(*score);
  if (score.status().IsNotFound()) return std::optional<double>();
  return score.status();
}

Result<std::vector<std::optional<double>>> MScore(Txn& txn, std::string_view key,
                                                  const std::vector<std::string_view>& members) {
  std::vector<std::optional<double>> out(members.size());
  auto found = Lookup(txn, key);
  if (!found.ok()) {
    if (found.status().IsNotFound()) return out;
    return found.status();
  }
  for (size_t i = 0; i < members.size(); ++i) {
    auto score = ReadScore(txn, key, *found, members[i]);
    if (score.ok()) {
      out[i] = *score;
    } else if (!score.status().IsNotFound()) {
      return score.status();
    }
  }
  return out;
}

// --- Removal --------------------------------------------------------------------------------

Result<int64_t> Rem(Txn& txn, std::string_view key, const std::vector<std::string_view>& members) {
  auto found = Lookup(txn, key);
  if (!found.ok()) return found.status().IsNotFound() ? Result<int64_t>(0) : found.status();
  Meta meta = std::move(*found);
  std::vector<Entry> doomed;
  std::unordered_set<std::string_view> seen;
  for (std::string_view member : members) {
    if (!seen.insert(member).second) continue;
    auto score = ReadScore(txn, key, meta, member);
    if (!score.ok()) {
      if (score.status().IsNotFound()) continue;
      return score.status();
    }
    doomed.push_back(Entry{std::string(member), *score});
  }
  if (doomed.empty()) return int64_t{0};
  Status s = NoteRemoval(txn, key, &meta, doomed);
  if (s.ok()) s = DeleteEntries(txn, key, &meta, doomed);
  if (!s.ok()) return s;
  FinishRemoval(txn, key, meta, "zrem");
  return static_cast<int64_t>(doomed.size());
}

Result<std::vector<Entry>> Pop(Txn& txn, std::string_view key, bool max, int64_t count) {
  auto found = Lookup(txn, key);
  if (!found.ok()) return found.status();
  Meta meta = std::move(*found);
  std::vector<Entry> out;
  if (count <= 0) return out;
  const uint64_t want = std::min<uint64_t>(static_cast<uint64_t>(count), meta.count);
  out.reserve(std::min<uint64_t>(want, 1 << 16));
  auto take = [&](std::string_view member, double score, std::string_view) {
    out.push_back(Entry{std::string(member), score});
    return out.size() < want;
  };
  Status s = max ? WalkDown(txn, key, meta, "", take)
                 : WalkUp(txn, key, meta, std::string(1, kIndexNs), take);
  if (!s.ok()) return s;
  if (out.size() != want) return Status::Corruption("sorted set index entries missing");
  if (!out.empty() && out.size() < meta.count) {
    // Everything on the popped side of the last popped entry is gone.
    Hints h = ReadHints(meta);
    std::string edge = IndexSub(out.back().score, out.back().member);
    if (max) {
      h.high = edge.size() <= kMaxHint ? edge : std::string();
    } else {
      edge.push_back('\0');  // the smallest sub-key above it
      h.low = edge.substr(0, kMaxHint);
    }
    WriteHints(&meta, h);
  }
  s = DeleteEntries(txn, key, &meta, out);
  if (!s.ok()) return s;
  FinishRemoval(txn, key, meta, max ? "zpopmax" : "zpopmin");
  return out;
}

Result<MPopResult> MPop(Txn& txn, const std::vector<std::string>& keys, bool max, int64_t count) {
  for (const auto& key : keys) {
    auto found = txn.GetMeta(key);
    if (!found.ok()) {
      if (found.status().IsNotFound()) continue;
      return found.status();
    }
    if (found->type != KeyType::kZSet) return Status::WrongType();
    auto popped = Pop(txn, key, max, count);
    if (!popped.ok()) return popped.status();
    return MPopResult{key, std::move(*popped)};
  }
  return Status::NotFound();
}

// --- Stored results -------------------------------------------------------------------------

Result<int64_t> StoreEntries(Txn& txn, std::string_view dst, const std::vector<Entry>& entries,
                             std::string_view event) {
  auto old = txn.GetMeta(dst);
  if (!old.ok() && !old.status().IsNotFound()) return old.status();
  if (entries.empty()) {
    if (old.ok()) {
      txn.DeleteKey(dst);
      txn.Notify(dst, "del");
    }
    return int64_t{0};
  }
  Meta meta;
  meta.type = KeyType::kZSet;
  meta.version = txn.NewVersion();
  meta.count = entries.size();
  size_t longest = 0;
  RankBlockUpdate no_blocks{Meta()};  // a new version has no rank blocks yet
  for (const auto& e : entries) {
    Status s = PutEntry(txn, dst, meta, e.member, e.score, &no_blocks);
    if (!s.ok()) return s;
    longest = std::max(longest, e.member.size());
  }
  Status built = MaybeBuildRankBlocks(txn, dst, &meta);
  if (!built.ok()) return built;
  // A new object, as Redis builds one for ZUNIONSTORE/ZRANGESTORE/...: compact iff it fits.
  object::SetNewZSetEncoding(txn, &meta, meta.count, longest);
  txn.PutMeta(dst, meta);  // replaces any old value and its TTL; old elements are garbage
  txn.Notify(dst, event);
  return static_cast<int64_t>(entries.size());
}

}  // namespace redge::store::zsets
