// ElementGcFilterFactory: the compaction filter of the `data` column family. An element
// record is garbage once its key's metadata is gone, holds another type, or carries a
// newer version (the collection was deleted, expired or replaced). DEL of a huge list is
// therefore one metadata delete; its elements vanish in later compactions.
//
// Thread-safety: RocksDB creates one filter per compaction; filters read the metadata
// through the shared DB pointer, which is null (keep everything) while opening/closing.
#pragma once

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>

#include <atomic>
#include <memory>

namespace redge::store {

class ElementGcFilterFactory : public rocksdb::CompactionFilterFactory {
 public:
  // `meta_cf` is resolved lazily: it is read from `*meta_cf_slot` once the DB is open.
  ElementGcFilterFactory(std::shared_ptr<std::atomic<rocksdb::DB*>> db,
                         std::shared_ptr<std::atomic<rocksdb::ColumnFamilyHandle*>> meta_cf)
      : db_(std::move(db)), meta_cf_(std::move(meta_cf)) {}

  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& context) override;
  const char* Name() const override { return "redge.ElementGcFilterFactory"; }

 private:
  std::shared_ptr<std::atomic<rocksdb::DB*>> db_;
  std::shared_ptr<std::atomic<rocksdb::ColumnFamilyHandle*>> meta_cf_;
};

}  // namespace redge::store
