#include "store/hashes.h"

#include <cmath>
#include <limits>
#include <numeric>

#include "base/numbers.h"
#include "store/glob.h"
#include "store/object.h"
#include "store/sampling.h"
#include "store/tombstones.h"

namespace redge::store::hashes {
namespace {

// The hash at `key` for a write: its metadata, or a fresh empty one (not yet stored) if
// the key is absent. WrongType for other types.
Result<Meta> LookupWriteOrCreate(Txn& txn, std::string_view key) {
  auto found = txn.GetTyped(key, KeyType::kHash);
  if (found.ok() || !found.status().IsNotFound()) return found;
  Meta meta;
  meta.type = KeyType::kHash;
  meta.version = txn.NewVersion();
  return meta;
}

// The "hset" event; its values (field, value, ...) are built only for an observer that
// wants them (kombu's `unacked` hash: the Celery bridge).
void NotifySet(Txn& txn, std::string_view key,
               const std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
  if (!txn.HasObserver(key, "hset")) return txn.Notify(key, "hset");
  std::vector<std::string> values;
  values.reserve(pairs.size() * 2);
  for (const auto& [field, value] : pairs) {
    values.emplace_back(field);
    values.emplace_back(value);
  }
  txn.Notify(key, "hset", &values);
}

// Sets one field, counting it in `meta` if new. Returns whether it was new.
Result<bool> PutField(Txn& txn, std::string_view key, Meta* meta, std::string_view field,
                      std::string_view value) {
  bool is_new = true;
  if (meta->count > 0) {
    auto old = txn.GetElement(key, meta->version, field);
    if (old.ok()) {
      is_new = false;
    } else if (!old.status().IsNotFound()) {
      return old.status();
    }
  }
  txn.PutElement(key, meta->version, field, value);
  if (is_new) meta->count++;
  // Redis converts a listpack hash before storing a field or value that is too long, and
  // after an insertion that takes it past the entry limit.
  object::NoteHashField(txn, meta, field, value);
  object::NoteHashCount(txn, meta);
  return is_new;
}

Result<std::vector<FieldValue>> ReadAll(Txn& txn, std::string_view key, const Meta& meta) {
  std::vector<FieldValue> out;
  out.reserve(std::min<uint64_t>(meta.count, 1 << 16));
  Status s =
      txn.ScanElements(key, meta.version, "", [&](std::string_view field, std::string_view value) {
        out.emplace_back(field, value);
        return true;
      });
  if (!s.ok()) return s;
  return out;
}

sampling::Source SourceOf(std::string_view key, const Meta& meta) {
  return sampling::Source{key, meta.version, meta.count, ""};
}

}  // namespace

Result<int64_t> Set(Txn& txn, std::string_view key,
                    const std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
  auto meta = LookupWriteOrCreate(txn, key);
  if (!meta.ok()) return meta.status();
  int64_t created = 0;
  for (const auto& [field, value] : pairs) {
    auto added = PutField(txn, key, &*meta, field, value);
    if (!added.ok()) return added.status();
    created += *added ? 1 : 0;
  }
  txn.PutMeta(key, *meta);
  NotifySet(txn, key, pairs);
  return created;
}

Result<bool> SetNX(Txn& txn, std::string_view key, std::string_view field, std::string_view value) {
  auto meta = LookupWriteOrCreate(txn, key);
  if (!meta.ok()) return meta.status();
  if (meta->count > 0) {
    auto old = txn.GetElement(key, meta->version, field);
    if (!old.ok() && !old.status().IsNotFound()) return old.status();
    if (old.ok()) {
      // Redis checks the arguments' lengths (and converts) before it looks the field up.
      const bool was = object::IsConverted(*meta);
      object::NoteHashField(txn, &*meta, field, value);
      if (!was && object::IsConverted(*meta)) txn.PutMeta(key, *meta);
      return false;
    }
  }
  txn.PutElement(key, meta->version, field, value);
  meta->count++;
  object::NoteHashField(txn, &*meta, field, value);
  object::NoteHashCount(txn, &*meta);
  txn.PutMeta(key, *meta);
  NotifySet(txn, key, {{field, value}});
  return true;
}

Result<std::string> Get(Txn& txn, std::string_view key, std::string_view field) {
  auto meta = txn.GetTyped(key, KeyType::kHash);
  if (!meta.ok()) return meta.status();
  return txn.GetElement(key, meta->version, field);
}

Result<std::vector<std::optional<std::string>>> MGet(Txn& txn, std::string_view key,
                                                     const std::vector<std::string_view>& fields) {
  std::vector<std::optional<std::string>> out(fields.size());
  auto meta = txn.GetTyped(key, KeyType::kHash);
  if (!meta.ok()) {
    if (meta.status().IsNotFound()) return out;
    return meta.status();
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    auto v = txn.GetElement(key, meta->version, fields[i]);
    if (v.ok()) {
      out[i] = std::move(*v);
    } else if (!v.status().IsNotFound()) {
      return v.status();
    }
  }
  return out;
}

Result<int64_t> Del(Txn& txn, std::string_view key, const std::vector<std::string_view>& fields) {
  auto meta = txn.GetTyped(key, KeyType::kHash);
  if (!meta.ok()) return meta.status().IsNotFound() ? Result<int64_t>(0) : meta.status();
  int64_t deleted = 0;
  for (std::string_view field : fields) {
    auto old = txn.GetElement(key, meta->version, field);
    if (!old.ok()) {
      if (old.status().IsNotFound()) continue;
      return old.status();
    }
    txn.DeleteElement(key, meta->version, field);
    deleted++;
    if (--meta->count == 0) break;
  }
  if (deleted == 0) return deleted;
  if (meta->count == 0) {
    txn.DeleteKey(key);
  } else {
    Status s = tombstones::NoteRemoved(txn, key, &*meta, static_cast<uint64_t>(deleted));
    if (!s.ok()) return s;
    txn.PutMeta(key, *meta);
  }
  if (txn.HasObserver(key, "hdel")) {
    std::vector<std::string> deleted_fields(fields.begin(), fields.end());
    txn.Notify(key, "hdel", &deleted_fields);
  } else {
    txn.Notify(key, "hdel");
  }
  if (meta->count == 0) txn.Notify(key, "del");
  return deleted;
}

Result<int64_t> Len(Txn& txn, std::string_view key) {
  auto meta = txn.GetTyped(key, KeyType::kHash);
  if (meta.ok()) return static_cast<int64_t>(meta->count);
  if (meta.status().IsNotFound()) return int64_t{0};
  return meta.status();
}

Result<int64_t> StrLen(Txn& txn, std::string_view key, std::string_view field) {
  auto v = Get(txn, key, field);
  if (v.ok()) return static_cast<int64_t>(v->size());
  if (v.status().IsNotFound()) return int64_t{0};
  return v.status();
}

Result<bool> Exists(Txn& txn, std::string_view key, std::string_view field) {
  auto v = Get(txn, key, field);
  if (v.ok()) return true;
  if (v.status().IsNotFound()) return false;
  return v.status();
}

Result<std::vector<FieldValue>> GetAll(Txn& txn, std::string_view key) {
  auto meta = txn.GetTyped(key, KeyType::kHash);
  if (!meta.ok()) {
    if (meta.status().IsNotFound()) return std::vector<FieldValue>();
    return meta.status();
  }
  return ReadAll(txn, key, *meta);
}

Result<int64_t> IncrBy(Txn& txn, std::string_view key, std::string_view field, int64_t incr) {
  auto meta = LookupWriteOrCreate(txn, key);
  if (!meta.ok()) return meta.status();
  int64_t value = 0;
  if (meta->count > 0) {
    auto old = txn.GetElement(key, meta->version, field);
    if (old.ok()) {
      if (!base::ParseInt64(*old, &value)) {
        return Status::InvalidArgument("hash value is not an integer");
      }
    } else if (!old.status().IsNotFound()) {
      return old.status();
    }
  }
  if ((incr < 0 && value < 0 && incr < std::numeric_limits<int64_t>::min() - value) ||
      (incr > 0 && value > 0 && incr > std::numeric_limits<int64_t>::max() - value)) {
    return Status::Overflow();
  }
  value += incr;
  auto added = PutField(txn, key, &*meta, field, std::to_string(value));
  if (!added.ok()) return added.status();
  txn.PutMeta(key, *meta);
  txn.Notify(key, "hincrby");
  return value;
}

Result<std::string> IncrByFloat(Txn& txn, std::string_view key, std::string_view field,
                                long double incr) {
  if (std::isnan(incr) || std::isinf(incr)) {
    return Status::InvalidArgument("value is NaN or Infinity");
  }
  auto meta = LookupWriteOrCreate(txn, key);
  if (!meta.ok()) return meta.status();
  long double value = 0;
  if (meta->count > 0) {
    auto old = txn.GetElement(key, meta->version, field);
    if (old.ok()) {
      if (!base::ParseLongDouble(*old, &value)) {
        return Status::InvalidArgument("hash value is not a float");
      }
    } else if (!old.status().IsNotFound()) {
      return old.status();
    }
  }
  value += incr;
  if (std::isnan(value) || std::isinf(value)) {
    return Status::InvalidArgument("increment would produce NaN or Infinity");
  }
  std::string text = base::FormatLongDouble(value);
  auto added = PutField(txn, key, &*meta, field, text);
  if (!added.ok()) return added.status();
  txn.PutMeta(key, *meta);
  txn.Notify(key, "hincrbyfloat");
  return text;
}

Result<FieldValue> RandomField(Txn& txn, std::string_view key) {
  auto meta = txn.GetTyped(key, KeyType::kHash);
  if (!meta.ok()) return meta.status();
  auto e = sampling::One(txn, SourceOf(key, *meta));
  if (!e.ok()) return e.status();
  return FieldValue{std::move(e->sub), std::move(e->value)};
}

Result<RandomFields> RandomFieldsWithCount(Txn& txn, std::string_view key, int64_t count) {
  RandomFields out;
  auto meta = txn.GetTyped(key, KeyType::kHash);
  if (!meta.ok()) {
    if (meta.status().IsNotFound()) return out;
    return meta.status();
  }
  if (count == 0) return out;
  const sampling::Source src = SourceOf(key, *meta);
  if (count < 0) {
    // -INT64_MIN cannot happen: the caller's range is [-INT64_MAX, INT64_MAX].
    uint64_t n = static_cast<uint64_t>(-count);
    if (n > kMaxRandomCount) {
      return Status::InvalidArgument("value is out of range, redge returns at most " +
                                     std::to_string(kMaxRandomCount) + " random elements per call");
    }
    auto sample = sampling::WithRepetition(txn, src, n);
    if (!sample.ok()) return sample.status();
    for (auto& e : sample->elements) out.fields.emplace_back(std::move(e.sub), std::move(e.value));
    out.order = std::move(sample->order);
    return out;
  }
  if (static_cast<uint64_t>(count) >= meta->count) {
    auto all = ReadAll(txn, key, *meta);
    if (!all.ok()) return all.status();
    out.fields = std::move(*all);
  } else {
    auto picked = sampling::Distinct(txn, src, static_cast<uint64_t>(count));
    if (!picked.ok()) return picked.status();
    for (auto& e : *picked) out.fields.emplace_back(std::move(e.sub), std::move(e.value));
  }
  out.order.resize(out.fields.size());
  std::iota(out.order.begin(), out.order.end(), 0);
  return out;
}

Result<ElementScanPage> Scan(Txn& txn, std::string_view key, uint64_t cursor,
                             std::string_view pattern, uint64_t count) {
  auto meta = txn.GetTyped(key, KeyType::kHash);
  if (!meta.ok()) {
    if (meta.status().IsNotFound()) return ElementScanPage();
    return meta.status();
  }
  if (meta->count <= kCompactMaxEntries) {
    // Read until a field or value too long for Redis's compact encoding shows up (then the
    // hash pages like a big one), so a hash of a few huge values is not read whole.
    ElementScanPage page;
    bool compact = true;
    bool match_all = pattern.empty() || pattern == "*";
    Status s = txn.ScanElements(
        key, meta->version, "", [&](std::string_view field, std::string_view value) {
          if (field.size() > kCompactMaxValue || value.size() > kCompactMaxValue) {
            compact = false;
            return false;
          }
          if (match_all || GlobMatch(pattern, field)) {
            page.items.emplace_back(field, value);
          }
          return true;
        });
    if (!s.ok()) return s;
    if (compact) return page;
  }
  return ScanElementPage(txn, key, meta->version, "", cursor, pattern, count);
}

}  // namespace redge::store::hashes
