#include "store/tombstones.h"

#include <cassert>
#include <string>
#include <utility>
#include <vector>

#include "store/meta_extras.h"

namespace redge::store::tombstones {
namespace {

std::string EncodeCount(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

// Copies the live elements of `key` under a new version. Reads first, then writes: the
// reads go through the batch, which already holds this command's removals.
Status Rewrite(Txn& txn, std::string_view key, Meta* meta) {
  std::vector<std::pair<std::string, std::string>> live;
  live.reserve(meta->count);
  Status s =
      txn.ScanElements(key, meta->version, "", [&](std::string_view sub, std::string_view value) {
        live.emplace_back(sub, value);
        return true;
      });
  if (!s.ok()) return s;
  if (live.size() != meta->count) {
    return Status::Corruption("collection has " + std::to_string(live.size()) +
                              " elements but its count says " + std::to_string(meta->count));
  }
  meta->version = txn.NewVersion();
  for (const auto& [sub, value] : live) txn.PutElement(key, meta->version, sub, value);
  extras::Erase(&meta->value, extras::kRemoved);
  return Status::OK();
}

}  // namespace

uint64_t Removed(const Meta& meta) {
  if (meta.value.empty()) return 0;
  auto payload = extras::Get(meta.value, extras::kRemoved);
  if (!payload || payload->size() != 8) return 0;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>((*payload)[i]);
  return n;
}

void ForgetAfterCopy(Meta* meta) {
  // Only hashes and sets: a stream's Meta::value is its own encoding, not extras.
  if ((meta->type == KeyType::kHash || meta->type == KeyType::kSet) && !meta->value.empty()) {
    extras::Erase(&meta->value, extras::kRemoved);
  }
}

Status NoteRemoved(Txn& txn, std::string_view key, Meta* meta, uint64_t removed) {
  assert(meta->type == KeyType::kHash || meta->type == KeyType::kSet);
  assert(meta->count > 0);
  if (removed == 0) return Status::OK();
  const uint64_t total = Removed(*meta) + removed;
  if (total >= kMinRemoved && total > meta->count && meta->count <= kMaxRewrite) {
    return Rewrite(txn, key, meta);
  }
  extras::Put(&meta->value, extras::kRemoved, EncodeCount(total));
  return Status::OK();
}

}  // namespace redge::store::tombstones
