// Store's flushes and saves: FLUSHDB/FLUSHALL (one range deletion per database, then a
// background memtable switch), SAVE/BGSAVE (queued for the writer, which flushes the memtables
// to table files), and the key counts. Split from store.cc, where the write path is.
#include <rocksdb/db.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "store/encoding.h"
#include "store/store.h"
#include "store/store_impl.h"

namespace redge::store {

void Store::FlushDbInTxn(Txn& txn) {
  std::vector<std::string> keys;
  txn.ScanKeys("", [&](std::string_view key, const Meta&) {
    keys.emplace_back(key);
    return true;
  });
  // ScanKeys skips expired keys; they are deleted on their next access or by the expirer.
  for (const auto& key : keys) {
    txn.DeleteKey(key);
    txn.Notify(key, "del");
  }
}

int64_t Store::DbSize(int db) const {
  if (db < 0 || db >= kNumDbs) return 0;
  return impl_->key_counts[db].load();
}

int64_t Store::DbExpires(int db) const {
  if (db < 0 || db >= kNumDbs) return 0;
  return impl_->expires_counts[db].load();
}

Status Store::FlushRange(int first, int last, uint64_t* seq) {
  Impl& im = *impl_;
  // Range tombstones: O(1) whatever the size. Expiry index entries of these databases
  // become stale; the expirer drops stale entries when it reaches them.
  std::string begin(1, static_cast<char>(first)), end(1, static_cast<char>(last + 1));
  rocksdb::WriteBatch wb;
  wb.DeleteRange(im.meta_cf, begin, end);
  wb.DeleteRange(im.data_cf, begin, end);
  rocksdb::Status rs = im.db->Write(im.write_options, &wb);
  if (!rs.ok()) {
    im.write_failures++;
    im.last_write_failed = true;
    return Status::IOError(rs.ToString());
  }
  im.last_write_failed = false;
  im.writes++;
  for (int db = first; db <= last; ++db) {
    im.key_counts[db] = 0;
    im.expires_counts[db] = 0;
    if (im.commit_listener) im.commit_listener({}, db);
  }
  // The access times of the keys just deleted: kept, they would fill the tracker with the
  // dead (and slow SWAPDB, which renames every tracked key of its databases).
  im.access.ForgetDbs(first, last);
  // RocksDB 7.8's iterators step over every memtable key a range tombstone covers, one by
  // one: until the memtables are flushed (which drops the covered keys), each Seek near
  // the flushed data walked all of it (SPOP on a set created after a FLUSHALL ran at
  // 1k/s instead of 45k). Start that flush now, in the background (no wait).
  rocksdb::FlushOptions background;
  background.wait = false;
  background.allow_write_stall = true;
  (void)im.db->Flush(background, {im.meta_cf, im.data_cf, im.expire_cf});
  *seq = im.db->GetLatestSequenceNumber();
  return Status::OK();
}

void Store::SaveAsync(std::function<void(Status)> done) {
  Impl& im = *impl_;
  Op op;
  op.save = true;
  op.done = std::move(done);
  {
    std::lock_guard qlock(im.queue_mu);
    im.queue.push_back(std::move(op));
    im.queued++;
  }
  im.queue_cv.notify_one();
}

int64_t Store::LastSaveUnix() const { return impl_->last_save_unix.load(); }

void Store::FlushAsync(int db, std::function<void(Status)> done) {
  if (db < -1 || db >= kNumDbs) return done(Status::InvalidArgument("DB index is out of range"));
  Impl& im = *impl_;
  Op op;
  op.flush_first = db < 0 ? 0 : db;
  op.flush_last = db < 0 ? kNumDbs - 1 : db;
  op.done = std::move(done);
  {
    std::lock_guard qlock(im.queue_mu);
    im.queue.push_back(std::move(op));
    im.queued++;
  }
  im.queue_cv.notify_one();
}

namespace {
Status WaitFor(const std::function<void(std::function<void(Status)>)>& start) {
  struct Slot {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Status status;
  };
  auto slot = std::make_shared<Slot>();
  start([slot](Status s) {
    std::lock_guard lock(slot->mu);
    slot->status = std::move(s);
    slot->done = true;
    slot->cv.notify_one();
  });
  std::unique_lock lock(slot->mu);
  slot->cv.wait(lock, [&] { return slot->done; });
  return slot->status;
}
}  // namespace

Status Store::FlushDb(int db) {
  CheckMayWait("FlushDb");
  if (db < 0 || db >= kNumDbs) return Status::InvalidArgument("DB index is out of range");
  return WaitFor([&](std::function<void(Status)> done) { FlushAsync(db, std::move(done)); });
}

Status Store::FlushAll() {
  CheckMayWait("FlushAll");
  return WaitFor([&](std::function<void(Status)> done) { FlushAsync(-1, std::move(done)); });
}
}  // namespace redge::store
