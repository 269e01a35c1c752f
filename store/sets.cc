#include "store/sets.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <unordered_set>

#include "base/numbers.h"
#include "store/glob.h"
#include "store/object.h"
#include "store/sampling.h"
#include "store/tombstones.h"

namespace redge::store::sets {
namespace {

// A point lookup costs about this many steps of an ordered pass: SINTER/SDIFF test
// candidates against a set by lookups while that is cheaper than reading the set.
constexpr uint64_t kLookupCost = 16;

// Redis's case 3 of SPOP with a count: when few members remain, rewrite them instead of
// deleting the popped ones.
constexpr uint64_t kPopRewriteFactor = 5;

Result<Meta> LookupWriteOrCreate(Txn& txn, std::string_view key) {
  auto found = txn.GetTyped(key, KeyType::kSet);
  if (found.ok() || !found.status().IsNotFound()) return found;
  Meta meta;
  meta.type = KeyType::kSet;
  meta.version = txn.NewVersion();
  return meta;
}

Result<bool> HasMember(Txn& txn, std::string_view key, const Meta& meta, std::string_view member) {
  auto v = txn.GetElement(key, meta.version, member);
  if (v.ok()) return true;
  if (v.status().IsNotFound()) return false;
  return v.status();
}

// Every member in byte order.
Result<std::vector<std::string>> ReadAll(Txn& txn, std::string_view key, const Meta& meta) {
  std::vector<std::string> out;
  out.reserve(std::min<uint64_t>(meta.count, 1 << 16));
  Status s =
      txn.ScanElements(key, meta.version, "", [&](std::string_view member, std::string_view) {
        out.emplace_back(member);
        return true;
      });
  if (!s.ok()) return s;
  return out;
}

// Removes `member` (known to be present) from the set, deleting the key when it empties.
// Returns the remaining count.
Result<uint64_t> RemoveKnownMember(Txn& txn, std::string_view key, Meta* meta,
                                   std::string_view member) {
  txn.DeleteElement(key, meta->version, member);
  if (--meta->count == 0) {
    txn.DeleteKey(key);
    return 0;
  }
  Status s = tombstones::NoteRemoved(txn, key, meta, 1);
  if (!s.ok()) return s;
  txn.PutMeta(key, *meta);
  return meta->count;
}

// The inputs of SINTER/SUNION/SDIFF: the metadata of each key (nullopt if absent), or
// WRONGTYPE if any key holds another type.
Result<std::vector<std::optional<Meta>>> LookupInputs(Txn& txn,
                                                      const std::vector<std::string>& keys) {
  std::vector<std::optional<Meta>> metas;
  metas.reserve(keys.size());
  for (const auto& key : keys) {
    auto m = txn.GetTyped(key, KeyType::kSet);
    if (m.ok()) {
      metas.emplace_back(std::move(*m));
    } else if (m.status().IsNotFound()) {
      metas.emplace_back(std::nullopt);
    } else {
      return m.status();
    }
  }
  return metas;
}

// Keeps the members of `*result` (byte order) that are (keep_present) or are not
// (!keep_present) members of the set `key`, by lookups or by one pass, whichever is cheaper.
Status Filter(Txn& txn, std::vector<std::string>* result, std::string_view key, const Meta& meta,
              bool keep_present) {
  if (result->size() * kLookupCost < meta.count) {
    std::vector<std::string> kept;
    for (auto& m : *result) {
      auto has = HasMember(txn, key, meta, m);
      if (!has.ok()) return has.status();
      if (*has == keep_present) kept.push_back(std::move(m));
    }
    *result = std::move(kept);
    return Status::OK();
  }
  auto other = ReadAll(txn, key, meta);
  if (!other.ok()) return other.status();
  std::vector<std::string> kept;
  if (keep_present) {
    std::set_intersection(result->begin(), result->end(), other->begin(), other->end(),
                          std::back_inserter(kept));
  } else {
    std::set_difference(result->begin(), result->end(), other->begin(), other->end(),
                        std::back_inserter(kept));
  }
  *result = std::move(kept);
  return Status::OK();
}

// The result of `op` in byte order.
Result<std::vector<std::string>> Compute(Txn& txn, SetOp op, const std::vector<std::string>& keys) {
  auto metas = LookupInputs(txn, keys);
  if (!metas.ok()) return metas.status();
  std::vector<std::string> result;
  if (op == SetOp::kUnion) {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!(*metas)[i]) continue;
      auto members = ReadAll(txn, keys[i], *(*metas)[i]);
      if (!members.ok()) return members.status();
      std::vector<std::string> merged;
      merged.reserve(result.size() + members->size());
      std::set_union(std::make_move_iterator(result.begin()), std::make_move_iterator(result.end()),
                     std::make_move_iterator(members->begin()),
                     std::make_move_iterator(members->end()), std::back_inserter(merged));
      result = std::move(merged);
    }
    return result;
  }
  if (op == SetOp::kInter) {
    for (const auto& m : *metas) {
      if (!m) return result;  // an absent key is an empty set
    }
    std::vector<size_t> by_size(keys.size());
    std::iota(by_size.begin(), by_size.end(), 0);
    std::stable_sort(by_size.begin(), by_size.end(),
                     [&](size_t a, size_t b) { return (*metas)[a]->count < (*metas)[b]->count; });
    size_t first = by_size[0];
    auto members = ReadAll(txn, keys[first], *(*metas)[first]);
    if (!members.ok()) return members.status();
    result = std::move(*members);
    for (size_t j = 1; j < by_size.size() && !result.empty(); ++j) {
      size_t i = by_size[j];
      if (keys[i] == keys[first]) continue;
      Status s = Filter(txn, &result, keys[i], *(*metas)[i], true);
      if (!s.ok()) return s;
    }
    return result;
  }
  // kDiff.
  if (!(*metas)[0]) return result;
  for (size_t i = 1; i < keys.size(); ++i) {
    if (keys[i] == keys[0]) return result;  // A - A - ... is empty
  }
  auto members = ReadAll(txn, keys[0], *(*metas)[0]);
  if (!members.ok()) return members.status();
  result = std::move(*members);
  for (size_t i = 1; i < keys.size() && !result.empty(); ++i) {
    if (!(*metas)[i]) continue;
    Status s = Filter(txn, &result, keys[i], *(*metas)[i], false);
    if (!s.ok()) return s;
  }
  return result;
}

bool WouldBeIntset(const std::vector<std::string>& members, std::vector<int64_t>* values) {
  if (members.size() > kIntsetMaxEntries) return false;
  values->resize(members.size());
  for (size_t i = 0; i < members.size(); ++i) {
    if (!base::ParseInt64(members[i], &(*values)[i])) return false;
  }
  return true;
}

sampling::Source SourceOf(std::string_view key, const Meta& meta) {
  return sampling::Source{key, meta.version, meta.count, ""};
}

}  // namespace

void SortLikeRedis(std::vector<std::string>* members) {
  std::vector<int64_t> values;
  if (!WouldBeIntset(*members, &values)) return;
  std::vector<size_t> idx(members->size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<std::string> sorted;
  sorted.reserve(members->size());
  for (size_t i : idx) sorted.push_back(std::move((*members)[i]));
  *members = std::move(sorted);
}

Result<int64_t> Add(Txn& txn, std::string_view key, const std::vector<std::string_view>& members) {
  auto meta = LookupWriteOrCreate(txn, key);
  if (!meta.ok()) return meta.status();
  int64_t added = 0;
  for (std::string_view m : members) {
    if (meta->count > 0) {
      auto has = HasMember(txn, key, *meta, m);
      if (!has.ok()) return has.status();
      if (*has) continue;
    }
    txn.PutElement(key, meta->version, m, "");
    meta->count++;
    object::NoteSetAdd(txn, &*meta, m);
    added++;
  }
  if (added == 0) return added;
  txn.PutMeta(key, *meta);
  txn.Notify(key, "sadd");
  return added;
}

Result<int64_t> Rem(Txn& txn, std::string_view key, const std::vector<std::string_view>& members) {
  auto meta = txn.GetTyped(key, KeyType::kSet);
  if (!meta.ok()) return meta.status().IsNotFound() ? Result<int64_t>(0) : meta.status();
  int64_t removed = 0;
  for (std::string_view m : members) {
    auto has = HasMember(txn, key, *meta, m);
    if (!has.ok()) return has.status();
    if (!*has) continue;
    txn.DeleteElement(key, meta->version, m);
    removed++;
    if (--meta->count == 0) break;
  }
  if (removed == 0) return removed;
  if (meta->count == 0) {
    txn.DeleteKey(key);
  } else {
    Status s = tombstones::NoteRemoved(txn, key, &*meta, static_cast<uint64_t>(removed));
    if (!s.ok()) return s;
    txn.PutMeta(key, *meta);
  }
  txn.Notify(key, "srem");
  if (meta->count == 0) txn.Notify(key, "del");
  return removed;
}

Result<bool> IsMember(Txn& txn, std::string_view key, std::string_view member) {
  auto meta = txn.GetTyped(key, KeyType::kSet);
  if (!meta.ok()) return meta.status().IsNotFound() ? Result<bool>(false) : meta.status();
  return HasMember(txn, key, *meta, member);
}

Result<std::vector<bool>> MIsMember(Txn& txn, std::string_view key,
                                    const std::vector<std::string_view>& members) {
  std::vector<bool> out(members.size(), false);
  auto meta = txn.GetTyped(key, KeyType::kSet);
  if (!meta.ok()) {
    if (meta.status().IsNotFound()) return out;
    return meta.status();
  }
  for (size_t i = 0; i < members.size(); ++i) {
    auto has = HasMember(txn, key, *meta, members[i]);
    if (!has.ok()) return has.status();
    out[i] = *has;
  }
  return out;
}

Result<int64_t> Card(Txn& txn, std::string_view key) {
  auto meta = txn.GetTyped(key, KeyType::kSet);
  if (meta.ok()) return static_cast<int64_t>(meta->count);
  if (meta.status().IsNotFound()) return int64_t{0};
  return meta.status();
}

Result<std::vector<std::string>> Members(Txn& txn, std::string_view key) {
  auto meta = txn.GetTyped(key, KeyType::kSet);
  if (!meta.ok()) {
    if (meta.status().IsNotFound()) return std::vector<std::string>();
    return meta.status();
  }
  auto all = ReadAll(txn, key, *meta);
  if (all.ok()) SortLikeRedis(&*all);
  return all;
}

Result<std::string> Pop(Txn& txn, std::string_view key) {
  auto meta = txn.GetTyped(key, KeyType::kSet);
  if (!meta.ok()) return meta.status();
  auto e = sampling::One(txn, SourceOf(key, *meta));
  if (!e.ok()) return e.status();
  auto left = RemoveKnownMember(txn, key, &*meta, e->sub);
  if (!left.ok()) return left.status();
  txn.Notify(key, "spop");
  if (*left == 0) txn.Notify(key, "del");
  return std::move(e->sub);
}

Result<std::vector<std::string>> PopCount(Txn& txn, std::string_view key, uint64_t count) {
  auto meta = txn.GetTyped(key, KeyType::kSet);
  if (!meta.ok()) return meta.status();
  std::vector<std::string> out;
  if (count == 0) return out;
  if (count >= meta->count) {
    auto all = ReadAll(txn, key, *meta);
    if (!all.ok()) return all.status();
    out = std::move(*all);
    SortLikeRedis(&out);
    txn.DeleteKey(key);
    txn.Notify(key, "spop");
    txn.Notify(key, "del");
    return out;
  }
  auto picked = sampling::Distinct(txn, SourceOf(key, *meta), count);
  if (!picked.ok()) return picked.status();
  out.reserve(picked->size());
  for (auto& e : *picked) out.push_back(std::move(e.sub));
  uint64_t remaining = meta->count - out.size();
  if (remaining * kPopRewriteFactor <= out.size()) {
    // Few members stay: write them under a new version (the old elements become garbage
    // for the compaction filter) instead of deleting each popped one.
    auto all = ReadAll(txn, key, *meta);
    if (!all.ok()) return all.status();
    std::unordered_set<std::string_view> popped(out.begin(), out.end());
    meta->version = txn.NewVersion();
    meta->count = 0;
    tombstones::ForgetAfterCopy(&*meta);
    bool all_integers = true;
    for (const auto& m : *all) {
      if (popped.count(m)) continue;
      txn.PutElement(key, meta->version, m, "");
      meta->count++;
      int64_t v;
      all_integers = all_integers && base::ParseInt64(m, &v);
    }
    // Redis builds a new set of the remaining members here (its encoding starts afresh).
    object::SetNewSetEncoding(txn, &*meta, meta->count, all_integers);
  } else {
    for (const auto& m : out) txn.DeleteElement(key, meta->version, m);
    meta->count = remaining;
    Status s = tombstones::NoteRemoved(txn, key, &*meta, out.size());
    if (!s.ok()) return s;
  }
  txn.PutMeta(key, *meta);
  txn.Notify(key, "spop");
  return out;
}

Result<std::string> RandMember(Txn& txn, std::string_view key) {
  auto meta = txn.GetTyped(key, KeyType::kSet);
  if (!meta.ok()) return meta.status();
  auto e = sampling::One(txn, SourceOf(key, *meta));
  if (!e.ok()) return e.status();
  return std::move(e->sub);
}

Result<RandomMembers> RandMembersWithCount(Txn& txn, std::string_view key, int64_t count) {
  RandomMembers out;
  auto meta = txn.GetTyped(key, KeyType::kSet);
  if (!meta.ok()) {
    if (meta.status().IsNotFound()) return out;
    return meta.status();
  }
  if (count == 0) return out;
  const sampling::Source src = SourceOf(key, *meta);
  if (count < 0) {
    uint64_t n = static_cast<uint64_t>(-count);
    if (n > kMaxRandomCount) {
      return Status::InvalidArgument("value is out of range, redge returns at most " +
                                     std::to_string(kMaxRandomCount) + " random elements per call");
    }
    auto sample = sampling::WithRepetition(txn, src, n);
    if (!sample.ok()) return sample.status();
    for (auto& e : sample->elements) out.members.push_back(std::move(e.sub));
    out.order = std::move(sample->order);
    return out;
  }
  if (static_cast<uint64_t>(count) >= meta->count) {
    auto all = ReadAll(txn, key, *meta);
    if (!all.ok()) return all.status();
    out.members = std::move(*all);
    SortLikeRedis(&out.members);
  } else {
    auto picked = sampling::Distinct(txn, src, static_cast<uint64_t>(count));
    if (!picked.ok()) return picked.status();
    for (auto& e : *picked) out.members.push_back(std::move(e.sub));
  }
  out.order.resize(out.members.size());
  std::iota(out.order.begin(), out.order.end(), 0);
  return out;
}

Result<bool> Move(Txn& txn, std::string_view source, std::string_view destination,
                  std::string_view member) {
  auto src = txn.GetTyped(source, KeyType::kSet);
  if (!src.ok()) return src.status().IsNotFound() ? Result<bool>(false) : src.status();
  auto dst = txn.GetTyped(destination, KeyType::kSet);
  if (!dst.ok() && !dst.status().IsNotFound()) return dst.status();
  if (source == destination) return HasMember(txn, source, *src, member);
  auto has = HasMember(txn, source, *src, member);
  if (!has.ok() || !*has) return has;
  auto left = RemoveKnownMember(txn, source, &*src, member);
  if (!left.ok()) return left.status();
  txn.Notify(source, "srem");
  if (*left == 0) txn.Notify(source, "del");
  Meta dmeta;
  if (dst.ok()) {
    dmeta = std::move(*dst);
    auto present = HasMember(txn, destination, dmeta, member);
    if (!present.ok()) return present.status();
    if (*present) return true;
  } else {
    dmeta.type = KeyType::kSet;
    dmeta.version = txn.NewVersion();
  }
  txn.PutElement(destination, dmeta.version, member, "");
  dmeta.count++;
  object::NoteSetAdd(txn, &dmeta, member);
  txn.PutMeta(destination, dmeta);
  txn.Notify(destination, "sadd");
  return true;
}

Result<std::vector<std::string>> Combine(Txn& txn, SetOp op, const std::vector<std::string>& keys) {
  auto r = Compute(txn, op, keys);
  if (r.ok()) SortLikeRedis(&*r);
  return r;
}

Result<int64_t> InterCard(Txn& txn, const std::vector<std::string>& keys, uint64_t limit) {
  if (limit == 0) {
    auto r = Compute(txn, SetOp::kInter, keys);
    if (!r.ok()) return r.status();
    return static_cast<int64_t>(r->size());
  }
  // With a limit, walk the smallest set and test each member against the others by
  // lookups (Redis's algorithm), stopping at the limit.
  auto metas = LookupInputs(txn, keys);
  if (!metas.ok()) return metas.status();
  size_t first = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!(*metas)[i]) return int64_t{0};
    if ((*metas)[i]->count < (*metas)[first]->count) first = i;
  }
  uint64_t found = 0;
  Status inner;
  Status s = txn.ScanElements(keys[first], (*metas)[first]->version, "",
                              [&](std::string_view member, std::string_view) {
                                for (size_t i = 0; i < keys.size(); ++i) {
                                  if (keys[i] == keys[first]) continue;
                                  auto has = HasMember(txn, keys[i], *(*metas)[i], member);
                                  if (!has.ok()) {
                                    inner = has.status();
                                    return false;
                                  }
                                  if (!*has) return true;
                                }
                                return ++found < limit;
                              });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  return static_cast<int64_t>(found);
}

Result<int64_t> CombineStore(Txn& txn, SetOp op, std::string_view destination,
                             const std::vector<std::string>& keys) {
  auto result = Compute(txn, op, keys);
  if (!result.ok()) return result.status();
  auto old = txn.GetMeta(destination);
  bool existed = old.ok();
  if (!existed && !old.status().IsNotFound()) return old.status();
  if (existed) txn.DeleteKey(destination);
  if (result->empty()) {
    if (existed) txn.Notify(destination, "del");
    return int64_t{0};
  }
  Meta meta;
  meta.type = KeyType::kSet;
  meta.version = txn.NewVersion();
  bool all_integers = true;
  for (const auto& m : *result) {
    txn.PutElement(destination, meta.version, m, "");
    int64_t v;
    all_integers = all_integers && base::ParseInt64(m, &v);
  }
  meta.count = result->size();
  object::SetNewSetEncoding(txn, &meta, meta.count, all_integers);
  txn.PutMeta(destination, meta);
  const char* event =
      op == SetOp::kInter ? "sinterstore" : (op == SetOp::kUnion ? "sunionstore" : "sdiffstore");
  txn.Notify(destination, event);
  return static_cast<int64_t>(meta.count);
}

Result<ElementScanPage> Scan(Txn& txn, std::string_view key, uint64_t cursor,
                             std::string_view pattern, uint64_t count) {
  auto meta = txn.GetTyped(key, KeyType::kSet);
  if (!meta.ok()) {
    if (meta.status().IsNotFound()) return ElementScanPage();
    return meta.status();
  }
  if (meta->count <= kIntsetMaxEntries) {
    // Read until a member that is not an integer shows up (then the set pages like a big
    // one).
    std::vector<std::string> all;
    bool intset = true;
    Status s =
        txn.ScanElements(key, meta->version, "", [&](std::string_view member, std::string_view) {
          int64_t v;
          if (!base::ParseInt64(member, &v)) {
            intset = false;
            return false;
          }
          all.emplace_back(member);
          return true;
        });
    if (!s.ok()) return s;
    if (intset) {
      SortLikeRedis(&all);
      ElementScanPage page;
      bool match_all = pattern.empty() || pattern == "*";
      for (auto& m : all) {
        if (match_all || GlobMatch(pattern, m)) page.items.emplace_back(std::move(m), "");
      }
      return page;
    }
  }
  return ScanElementPage(txn, key, meta->version, "", cursor, pattern, count);
}

}  // namespace redge::store::sets
