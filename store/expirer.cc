// Store's active expiry: the expirer thread and the pass that deletes what is due, walking
// the expire index (ordered by deadline) from its floor. Split from store.cc; the rest of
// the write path is there.
#include <rocksdb/db.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "store/encoding.h"
#include "store/store.h"
#include "store/store_impl.h"

namespace redge::store {
namespace {

// The expirer deletes at most this many keys per batch, so one huge expiry wave does
// not hold the store lock for long.
constexpr int kExpireBatch = 512;

// The first possible expire-index key with a deadline of at least `deadline_ms` (index
// keys begin with the deadline, 8 bytes big-endian).
std::string ExpireIndexStart(int64_t deadline_ms) {
  std::string k;
  encoding::PutFixed64BE(&k, static_cast<uint64_t>(deadline_ms));
  return k;
}

}  // namespace

Result<int64_t> Store::ExpireDueKeys() {
  int64_t total = 0;
  while (!impl_->expiry_paused) {
    int visited = 0;
    int64_t deleted_here = 0;
    Status s = Exec(0, [&](Txn& txn) {
      Impl& im = *impl_;
      std::unique_ptr<rocksdb::Iterator> it(
          im.db->NewIterator(rocksdb::ReadOptions(), im.expire_cf));
      // Every entry before the floor is deleted (store_impl.h). Entries are in deadline
      // order and each one visited is deleted below, so once this batch commits nothing
      // live is left before the last deadline visited, or before the first entry not due
      // when the pass got that far, or before now when it reached the end of the index
      // (a later commit indexing an earlier deadline lowers the floor again).
      int64_t floor = im.expire_floor;
      bool finished = true;  // ran out of due entries rather than out of batch
      for (it->Seek(ExpireIndexStart(floor)); it->Valid(); it->Next()) {
        if (visited >= kExpireBatch) {
          finished = false;
          break;
        }
        int64_t deadline;
        int db;
        std::string_view key;
        std::string_view raw(it->key().data(), it->key().size());
        if (!encoding::ParseExpireKey(raw, &deadline, &db, &key)) {
          im.batch.Delete(im.expire_cf, it->key());
          continue;
        }
        if (deadline >= txn.now_ms()) {  // expired only once now > deadline
          floor = deadline;
          break;
        }
        floor = deadline;
        visited++;
        txn.SwitchDb(db);
        int64_t before = txn.expired_;
        auto meta = txn.ReadRawMeta(key);
        if (meta.ok() && meta->has_value() && (*meta)->expire_at_ms == deadline) {
          txn.GetMeta(key);  // lazy-expiry path: deletes it and raises "expired"
        } else {
          im.batch.Delete(im.expire_cf, it->key());  // stale entry (TTL changed, flushed)
        }
        deleted_here += txn.expired_ - before;
      }
      if (finished && it->status().ok() && !it->Valid()) floor = txn.now_ms();
      txn.expire_floor_after_ = floor;
    });
    if (!s.ok()) return s;
    total += deleted_here;
    if (visited < kExpireBatch) break;
  }
  return total;
}

void Store::RunExpirer() {
  Impl& im = *impl_;
  std::unique_lock lock(im.mu);
  while (!im.closing) {
    int64_t next = 0;
    {
      std::unique_ptr<rocksdb::Iterator> it(
          im.db->NewIterator(rocksdb::ReadOptions(), im.expire_cf));
      it->Seek(ExpireIndexStart(im.expire_floor));
      if (it->Valid() && it->key().size() >= 8) {
        next = static_cast<int64_t>(encoding::DecodeFixed64BE(it->key().data()));
      }
    }
    int64_t now = clock_->NowMs();
    if (im.expiry_paused) {
      im.expirer_cv.wait_for(lock, std::chrono::milliseconds(100));  // or a notify on resume
      continue;
    }
    if (next == 0 || next >= now) {
      im.expirer_wait_deadline = next;
      if (next == 0) {
        im.expirer_cv.wait(lock);
      } else {
        im.expirer_cv.wait_for(lock, std::chrono::milliseconds(next - now + 1));
      }
      im.expirer_wait_deadline = 0;
      continue;
    }
    lock.unlock();
    ExpireDueKeys();
    lock.lock();
  }
}
}  // namespace redge::store
