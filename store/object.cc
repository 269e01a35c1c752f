#include "store/object.h"

#include "base/numbers.h"
#include "store/meta_extras.h"
#include "store/store.h"

namespace redge::store::object {
namespace {

// Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT.
constexpr size_t kEmbstrMax = 44;
// Redis caps set-max-intset-entries at 2^30 (intset internals).
constexpr int64_t kIntsetHardMax = int64_t{1} << 30;

EncodingLimits& Limits(Txn& txn) { return txn.store().encoding_limits(); }

bool TooLong(std::string_view s, int64_t limit) {
  return limit < 0 || s.size() > static_cast<uint64_t>(limit);
}

}  // namespace

void SetStringHint(Meta* meta, StringHint hint) { meta->version = static_cast<uint64_t>(hint); }

StringHint GetStringHint(const Meta& meta) {
  switch (meta.version) {
    case 1:
      return StringHint::kRaw;
    case 2:
      return StringHint::kNotInt;
    default:
      return StringHint::kByContent;
  }
}

bool IsConverted(const Meta& meta) {
  return !meta.value.empty() && extras::Get(meta.value, extras::kConverted).has_value();
}

void MarkConverted(Meta* meta) {
  if (!IsConverted(*meta)) extras::Put(&meta->value, extras::kConverted, "");
}

void ClearConverted(Meta* meta) { extras::Erase(&meta->value, extras::kConverted); }

void NoteHashField(Txn& txn, Meta* meta, std::string_view field, std::string_view value) {
  const int64_t limit = Limits(txn).hash_max_listpack_value.load(std::memory_order_relaxed);
  if (TooLong(field, limit) || TooLong(value, limit)) MarkConverted(meta);
}

void NoteHashCount(Txn& txn, Meta* meta) {
  const int64_t limit = Limits(txn).hash_max_listpack_entries.load(std::memory_order_relaxed);
  if (static_cast<int64_t>(meta->count) > limit) MarkConverted(meta);
}

void NoteSetAdd(Txn& txn, Meta* meta, std::string_view member) {
  if (IsConverted(*meta)) return;
  int64_t v;
  int64_t limit = Limits(txn).set_max_intset_entries.load(std::memory_order_relaxed);
  if (limit > kIntsetHardMax) limit = kIntsetHardMax;
  if (!base::ParseInt64(member, &v) || static_cast<int64_t>(meta->count) > limit) {
    MarkConverted(meta);
  }
}

void NoteZSetInsert(Txn& txn, Meta* meta, std::string_view member) {
  if (IsConverted(*meta)) return;
  auto& l = Limits(txn);
  if (static_cast<int64_t>(meta->count) >
          l.zset_max_listpack_entries.load(std::memory_order_relaxed) ||
      TooLong(member, l.zset_max_listpack_value.load(std::memory_order_relaxed))) {
    MarkConverted(meta);
  }
}

void SetNewZSetEncoding(Txn& txn, Meta* meta, uint64_t count, size_t max_member_len) {
  auto& l = Limits(txn);
  const int64_t entries = l.zset_max_listpack_entries.load(std::memory_order_relaxed);
  const int64_t value = l.zset_max_listpack_value.load(std::memory_order_relaxed);
  if (static_cast<int64_t>(count) > entries || value < 0 ||
      max_member_len > static_cast<uint64_t>(value)) {
    MarkConverted(meta);
  } else {
    ClearConverted(meta);
  }
}

void SetNewSetEncoding(Txn& txn, Meta* meta, uint64_t count, bool all_integers) {
  int64_t limit = Limits(txn).set_max_intset_entries.load(std::memory_order_relaxed);
  if (limit > kIntsetHardMax) limit = kIntsetHardMax;
  if (!all_integers || static_cast<int64_t>(count) > limit) {
    MarkConverted(meta);
  } else {
    ClearConverted(meta);
  }
}

Result<int64_t> EstimateUsage(Txn& txn, std::string_view key, const Meta& meta, uint64_t samples) {
  // Sizes as Redis's objectComputeSize counts them on 64-bit Linux: sds header + bytes +
  // NUL, a 16-byte robj, a 24-byte dict entry.
  constexpr int64_t kRobj = 16, kDictEntry = 24, kSdsHeader = 3;
  int64_t usage = kSdsHeader + static_cast<int64_t>(key.size()) + 1 + kDictEntry + kRobj;
  if (meta.type == KeyType::kString) {
    int64_t v;
    if (IsIntEncodedString(meta, &v)) return usage;
    return usage + kSdsHeader + static_cast<int64_t>(meta.value.size()) + 1;
  }
  if (!IsCollection(meta.type) || meta.type == KeyType::kStream) {
    return usage + static_cast<int64_t>(meta.value.size());
  }
  const bool compact = meta.type != KeyType::kList && !IsConverted(meta);
  // Per element: listpack entries carry ~2 bytes of header each; hashtable/skiplist
  // elements are sds strings behind dict entries (and skiplist nodes).
  const int64_t per_element = compact ? 2 : (meta.type == KeyType::kZSet ? 80 : 40);
  if (samples == 0) samples = UINT64_MAX;
  uint64_t seen = 0;
  int64_t bytes = 0;
  Status s =
      txn.ScanElements(key, meta.version, "", [&](std::string_view sub, std::string_view value) {
        if (meta.type == KeyType::kZSet && (sub.empty() || sub[0] != 'm')) return false;
        if (meta.type == KeyType::kList) {
          bytes += static_cast<int64_t>(value.size());
        } else if (meta.type == KeyType::kZSet) {
          bytes += static_cast<int64_t>(sub.size() - 1) + 8;  // member + score
        } else {
          bytes += static_cast<int64_t>(sub.size() + value.size());
        }
        bytes += per_element;
        return ++seen < samples;
      });
  if (!s.ok()) return s;
  if (seen == 0) return usage;
  const long double average = static_cast<long double>(bytes) / static_cast<long double>(seen);
  return usage + static_cast<int64_t>(average * static_cast<long double>(meta.size()));
}

bool IsIntEncodedString(const Meta& meta, int64_t* value) {
  return meta.type == KeyType::kString && GetStringHint(meta) == StringHint::kByContent &&
         meta.value.size() <= 20 && base::ParseInt64(meta.value, value);
}

std::string EncodingName(const Meta& meta) {
  switch (meta.type) {
    case KeyType::kString: {
      int64_t v;
      if (IsIntEncodedString(meta, &v)) return "int";
      if (GetStringHint(meta) != StringHint::kRaw && meta.value.size() <= kEmbstrMax) {
        return "embstr";
      }
      return "raw";
    }
    case KeyType::kList:
      return "quicklist";
    case KeyType::kHash:
      return IsConverted(meta) ? "hashtable" : "listpack";
    case KeyType::kSet:
      return IsConverted(meta) ? "hashtable" : "intset";
    case KeyType::kZSet:
      return IsConverted(meta) ? "skiplist" : "listpack";
    case KeyType::kStream:
      return "stream";
    default:
      return "unknown";
  }
}

}  // namespace redge::store::object
