#include "store/compaction_filter.h"

#include <string>

#include "store/encoding.h"

namespace redge::store {
namespace {

class ElementGcFilter : public rocksdb::CompactionFilter {
 public:
  ElementGcFilter(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf)
      : db_(db), meta_cf_(meta_cf) {}

  bool Filter(int /*level*/, const rocksdb::Slice& key, const rocksdb::Slice& /*value*/,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    if (db_ == nullptr || meta_cf_ == nullptr) return false;
    int db_index;
    std::string_view user_key, sub;
    uint64_t version;
    if (!encoding::ParseDataKey(std::string_view(key.data(), key.size()), &db_index, &user_key,
                                &version, &sub)) {
      return false;  // not ours to judge
    }
    // Elements of one collection are adjacent, so one metadata lookup serves a run.
    std::string meta_key = encoding::MetaKey(db_index, user_key);
    if (meta_key != cached_key_) {
      cached_key_ = meta_key;
      std::string raw;
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf_, meta_key, &raw);
      if (s.IsNotFound()) {
        cached_state_ = State::kAbsent;
      } else if (!s.ok() || !encoding::DecodeMeta(raw, &cached_meta_)) {
        cached_state_ = State::kUnknown;  // keep on doubt; a later compaction retries
      } else {
        cached_state_ = State::kPresent;
      }
    }
    switch (cached_state_) {
      case State::kAbsent:
        return true;
      case State::kUnknown:
        return false;
      case State::kPresent:
        return !IsCollection(cached_meta_.type) || cached_meta_.version != version;
    }
    return false;
  }

  const char* Name() const override { return "redge.ElementGcFilter"; }

 private:
  enum class State { kAbsent, kUnknown, kPresent };
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* meta_cf_;
  mutable std::string cached_key_;
  mutable State cached_state_ = State::kUnknown;
  mutable Meta cached_meta_;
};

}  // namespace

std::unique_ptr<rocksdb::CompactionFilter> ElementGcFilterFactory::CreateCompactionFilter(
    const rocksdb::CompactionFilter::Context& /*context*/) {
  return std::make_unique<ElementGcFilter>(db_->load(), meta_cf_->load());
}

}  // namespace redge::store
