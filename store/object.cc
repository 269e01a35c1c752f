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
