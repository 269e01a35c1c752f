// Sorted sets: ZUNION/ZINTER/ZDIFF (and their STORE forms, ZINTERCARD), ZRANDMEMBER and
// ZSCAN. Set inputs are read directly from the set layout (sub-key = member, score 1).
#include <algorithm>
#include <bit>
#include <cmath>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "base/numbers.h"
#include "store/encoding.h"
#include "store/glob.h"
#include "store/zset_internal.h"
#include "store/zsets.h"

namespace redge::store::zsets {

using namespace internal;  // NOLINT: this file is part of the module's implementation

namespace {

// One input of a set operation: a sorted set, a set, or nothing (absent key).
struct Input {
  std::string key;
  KeyType type = KeyType::kNone;
  Meta meta;
  double weight = 1;
  uint64_t size() const { return type == KeyType::kNone ? 0 : meta.count; }
};

Result<std::vector<Input>> ReadInputs(Txn& txn, const std::vector<std::string>& keys,
                                      const std::vector<double>& weights) {
  std::vector<Input> inputs(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    inputs[i].key = keys[i];
    if (!weights.empty()) inputs[i].weight = weights[i];
    auto found = txn.GetMeta(keys[i]);
    if (!found.ok()) {
      if (found.status().IsNotFound()) continue;
      return found.status();
    }
    if (found->type != KeyType::kZSet && found->type != KeyType::kSet) return Status::WrongType();
    inputs[i].type = found->type;
    inputs[i].meta = std::move(*found);
  }
  return inputs;
}

// Visits every (member, score) of `in`, in no particular order.
Status ForEach(Txn& txn, const Input& in,
               const std::function<bool(std::string_view member, double score)>& fn) {
  if (in.type == KeyType::kSet) {
    return txn.ScanElements(in.key, in.meta.version, "",
                            [&](std::string_view sub, std::string_view) { return fn(sub, 1.0); });
  }
  if (in.type != KeyType::kZSet) return Status::OK();
  return WalkUp(
      txn, in.key, in.meta, std::string(1, kIndexNs),
      [&](std::string_view member, double score, std::string_view) { return fn(member, score); });
}

// The score of `member` in `in`, nullopt if absent.
Result<std::optional<double>> Find(Txn& txn, const Input& in, std::string_view member) {
  if (in.type == KeyType::kSet) {
    auto v = txn.GetElement(in.key, in.meta.version, member);
    if (v.ok()) return std::optional<double>(1.0);
    if (v.status().IsNotFound()) return std::optional<double>();
    return v.status();
  }
  if (in.type != KeyType::kZSet) return std::optional<double>();
  auto s = ReadScore(txn, in.key, in.meta, member);
  if (s.ok()) return std::optional<double>(*s);
  if (s.status().IsNotFound()) return std::optional<double>();
  return s.status();
}

// Redis's zunionInterAggregate (a sum of +inf and -inf is 0).
void AggregateInto(double* target, double value, Aggregate aggregate) {
  switch (aggregate) {
    case Aggregate::kSum:
      *target += value;
      if (std::isnan(*target)) *target = 0.0;
      break;
    case Aggregate::kMin:
      *target = value < *target ? value : *target;
      break;
    case Aggregate::kMax:
      *target = value > *target ? value : *target;
      break;
  }
}

bool EntryLess(const Entry& a, const Entry& b) {
  if (a.score != b.score) return a.score < b.score;
  return a.member < b.member;
}

// Redis orders union and intersection inputs by size (smallest first).
void SortBySize(std::vector<Input>* inputs) {
  std::stable_sort(inputs->begin(), inputs->end(),
                   [](const Input& a, const Input& b) { return a.size() < b.size(); });
}

// Members of the intersection of `inputs` (sorted by size), with their aggregated
// scores, until `fn` returns false.
Status Intersect(Txn& txn, const std::vector<Input>& inputs, Aggregate aggregate,
                 const std::function<bool(std::string_view member, double score)>& fn) {
  if (inputs.empty() || inputs[0].size() == 0) return Status::OK();
  Status inner;
  Status s = ForEach(txn, inputs[0], [&](std::string_view member, double score0) {
    double score = inputs[0].weight * score0;
    if (std::isnan(score)) score = 0;
    for (size_t j = 1; j < inputs.size(); ++j) {
      auto v = Find(txn, inputs[j], member);
      if (!v.ok()) {
        inner = v.status();
        return false;
      }
      if (!v->has_value()) return true;  // not in every input
      AggregateInto(&score, **v * inputs[j].weight, aggregate);
    }
    return fn(member, score);
  });
  return inner.ok() ? s : inner;
}

}  // namespace

Status CheckSetOpInputs(Txn& txn, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    auto found = txn.GetMeta(key);
    if (!found.ok()) {
      if (found.status().IsNotFound()) continue;
      return found.status();
    }
    if (found->type != KeyType::kZSet && found->type != KeyType::kSet) return Status::WrongType();
  }
  return Status::OK();
}

Result<std::vector<Entry>> Combine(Txn& txn, SetOp op, const std::vector<std::string>& keys,
                                   const std::vector<double>& weights, Aggregate aggregate) {
  auto read = ReadInputs(txn, keys, weights);
  if (!read.ok()) return read.status();
  std::vector<Input>& inputs = *read;
  std::vector<Entry> out;
  Status s;
  if (op == SetOp::kInter) {
    SortBySize(&inputs);
    s = Intersect(txn, inputs, aggregate, [&](std::string_view member, double score) {
      out.push_back(Entry{std::string(member), score});
      return true;
    });
  } else if (op == SetOp::kUnion) {
    SortBySize(&inputs);
    std::unordered_map<std::string, double> acc;
    for (const auto& in : inputs) {
      s = ForEach(txn, in, [&](std::string_view member, double score) {
        score *= in.weight;
        if (std::isnan(score)) score = 0;
        auto [it, inserted] = acc.try_emplace(std::string(member), score);
        if (!inserted) AggregateInto(&it->second, score, aggregate);
        return true;
      });
      if (!s.ok()) return s;
    }
    out.reserve(acc.size());
    for (auto& [member, score] : acc) out.push_back(Entry{member, score});
  } else {
    // Members of the first input that no other input has, with their own scores.
    if (inputs.empty() || inputs[0].size() == 0) return out;
    Status inner;
    s = ForEach(txn, inputs[0], [&](std::string_view member, double score) {
      for (size_t j = 1; j < inputs.size(); ++j) {
        auto v = Find(txn, inputs[j], member);
        if (!v.ok()) {
          inner = v.status();
          return false;
        }
        if (v->has_value()) return true;
      }
      out.push_back(Entry{std::string(member), score});
      return true;
    });
    if (!inner.ok()) return inner;
  }
  if (!s.ok()) return s;
  std::sort(out.begin(), out.end(), EntryLess);
  return out;
}

Result<int64_t> InterCard(Txn& txn, const std::vector<std::string>& keys, int64_t limit) {
  auto read = ReadInputs(txn, keys, {});
  if (!read.ok()) return read.status();
  SortBySize(&*read);
  int64_t n = 0;
  Status s = Intersect(txn, *read, Aggregate::kSum, [&](std::string_view, double) {
    n++;
    return limit == 0 || n < limit;
  });
  if (!s.ok()) return s;
  return n;
}

// --- ZRANDMEMBER --------------------------------------------------------------------------

namespace {

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

// The entries at ascending `ranks` (sorted, may repeat). A few ranks of a set with rank
// blocks are found one by one through the blocks; otherwise one walk of the index up to
// the highest of them.
Result<std::vector<Entry>> EntriesAtRanks(Txn& txn, std::string_view key, const Meta& meta,
                                          const std::vector<uint64_t>& ranks) {
  std::vector<Entry> out;
  out.reserve(ranks.size());
  if (ranks.empty()) return out;
  if (HasRankBlocks(meta) && ranks.size() * kRankBlockMax < meta.count) {
    for (uint64_t rank : ranks) {
      if (!out.empty() && rank == ranks[out.size() - 1]) {
        out.push_back(out.back());  // a repeated draw
        continue;
      }
      const size_t before = out.size();
      Status s = WalkRanks(txn, key, meta, rank, 1, [&](std::string_view member, double score) {
        out.push_back(Entry{std::string(member), score});
      });
      if (!s.ok()) return s;
      if (out.size() != before + 1) return Status::Corruption("sorted set index entries missing");
    }
    return out;
  }
  size_t next = 0;
  uint64_t rank = 0;
  Status s = WalkUp(txn, key, meta, std::string(1, kIndexNs),
                    [&](std::string_view member, double score, std::string_view) {
                      while (next < ranks.size() && ranks[next] == rank) {
                        out.push_back(Entry{std::string(member), score});
                        next++;
                      }
                      rank++;
                      return next < ranks.size();
                    });
  if (!s.ok()) return s;
  if (out.size() != ranks.size()) return Status::Corruption("sorted set index entries missing");
  return out;
}

}  // namespace

Result<Entry> RandomMember(Txn& txn, std::string_view key) {
  auto found = Lookup(txn, key);
  if (!found.ok()) return found.status();
  std::uniform_int_distribution<uint64_t> pick(0, found->count - 1);
  auto entries = EntriesAtRanks(txn, key, *found, {pick(Rng())});
  if (!entries.ok()) return entries.status();
  return std::move(entries->front());
}

Result<std::vector<Entry>> RandomMembers(Txn& txn, std::string_view key, int64_t count) {
  std::vector<Entry> out;
  auto found = Lookup(txn, key);
  if (!found.ok()) {
    if (found.status().IsNotFound()) return out;
    return found.status();
  }
  const Meta& meta = *found;
  if (count == 0) return out;
  const uint64_t size = meta.count;
  std::uniform_int_distribution<uint64_t> pick(0, size - 1);
  if (count < 0) {
    // Independent draws, replied in the order drawn.
    const uint64_t n = 0 - static_cast<uint64_t>(count);
    std::vector<std::pair<uint64_t, size_t>> draws(n);  // (rank, position in the reply)
    for (size_t i = 0; i < n; ++i) draws[i] = {pick(Rng()), i};
    std::sort(draws.begin(), draws.end());
    std::vector<uint64_t> ranks(n);
    for (size_t i = 0; i < n; ++i) ranks[i] = draws[i].first;
    auto entries = EntriesAtRanks(txn, key, meta, ranks);
    if (!entries.ok()) return entries.status();
    out.resize(n);
    for (size_t i = 0; i < n; ++i) out[draws[i].second] = std::move((*entries)[i]);
    return out;
  }
  const uint64_t n = static_cast<uint64_t>(count);
  if (n >= size) {
    // The whole set, highest score first: Redis iterates sorted-set inputs backwards.
    std::vector<uint64_t> all(size);
    for (uint64_t i = 0; i < size; ++i) all[i] = i;
    auto entries = EntriesAtRanks(txn, key, meta, all);
    if (entries.ok()) std::reverse(entries->begin(), entries->end());
    return entries;
  }
  // Floyd's algorithm: n distinct ranks, each subset equally likely.
  std::unordered_set<uint64_t> chosen;
  for (uint64_t j = size - n; j < size; ++j) {
    uint64_t t = std::uniform_int_distribution<uint64_t>(0, j)(Rng());
    if (!chosen.insert(t).second) chosen.insert(j);
  }
  std::vector<uint64_t> ranks(chosen.begin(), chosen.end());
  std::sort(ranks.begin(), ranks.end());
  return EntriesAtRanks(txn, key, meta, ranks);
}

// --- ZSCAN -----------------------------------------------------------------------------------

namespace {

// Cursors of ZSCAN are entries of the store's cursor table holding this tag and the next
// member sub-key, so a SCAN cursor given to ZSCAN ends the scan instead of misleading it.
constexpr std::string_view kCursorTag("\0zscan\0", 7);
// Redis's zset-max-listpack-entries / zset-max-listpack-value defaults.
constexpr uint64_t kListpackEntries = 128;
constexpr size_t kListpackValue = 64;

bool Matches(std::string_view pattern, std::string_view member) {
  return pattern.empty() || pattern == "*" || GlobMatch(pattern, member);
}

}  // namespace

Result<ScanPage> Scan(Txn& txn, std::string_view key, uint64_t cursor, std::string_view pattern,
                      int64_t count) {
  ScanPage page;
  auto found = Lookup(txn, key);
  if (!found.ok()) {
    if (found.status().IsNotFound()) return page;
    return found.status();
  }
  const Meta& meta = *found;
  if (meta.count <= kListpackEntries) {
    // What Redis's listpack encoding gives: everything at once, in score order, whatever
    // the cursor.
    std::vector<Entry> all;
    bool small = true;
    Status s = WalkUp(txn, key, meta, std::string(1, kIndexNs),
                      [&](std::string_view member, double score, std::string_view) {
                        if (member.size() > kListpackValue) {
                          small = false;
                          return false;
                        }
                        all.push_back(Entry{std::string(member), score});
                        return true;
                      });
    if (!s.ok()) return s;
    if (small) {
      for (auto& e : all) {
        if (Matches(pattern, e.member)) {
          page.items.emplace_back(std::move(e.member), ListpackScoreText(e.score));
        }
      }
      return page;
    }
  }
  std::string from(1, kMemberNs);
  if (cursor != 0) {
    auto saved = txn.LookupScanCursor(cursor);
    if (!saved || saved->substr(0, kCursorTag.size()) != kCursorTag) return page;
    from = saved->substr(kCursorTag.size());
  }
  int64_t looked = 0;
  std::optional<std::string> resume;
  Status s =
      txn.ScanElements(key, meta.version, from, [&](std::string_view sub, std::string_view value) {
        if (sub.empty() || sub[0] != kMemberNs) return false;
        if (looked == count) {
          resume.emplace(sub);
          return false;
        }
        looked++;
        std::string_view member = sub.substr(1);
        if (!Matches(pattern, member) || value.size() != 8) return true;
        // Redis's hash-table encoding prints scores with "%.17Lg": the same text as replies.
        double score = std::bit_cast<double>(encoding::DecodeFixed64LE(value.data()));
        page.items.emplace_back(std::string(member), base::FormatDouble(score));
        return true;
      });
  if (!s.ok()) return s;
  if (resume) page.cursor = txn.SaveScanCursor(std::string(kCursorTag) + *resume);
  return page;
}

}  // namespace redge::store::zsets
