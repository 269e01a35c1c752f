#include "store/group_commit.h"

#include <chrono>

#include "base/thread_name.h"
#include "store/store.h"

namespace redge::store {

GroupCommit::GroupCommit(rocksdb::DB* db, Fsync mode) : db_(db), mode_(mode) {
  if (mode_ == Fsync::kAlways) {
    thread_ = base::StartNamedThread("redge-fsync", [this] { SyncerLoop(); });
  } else if (mode_ == Fsync::kEverySec) {
    thread_ = base::StartNamedThread("redge-fsync-1s", [this] { TickerLoop(); });
  }
}

GroupCommit::~GroupCommit() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (mode_ != Fsync::kNo) SyncNow();
}

void GroupCommit::RunWhenDurable(uint64_t seq, std::function<void(Status)> fn) {
  if (mode_ == Fsync::kAlways) {
    std::unique_lock lock(mu_);
    if (synced_seq_ < seq) {
      pending_.emplace_back(seq, std::move(fn));
      if (pending_.size() == 1) cv_.notify_all();
      return;
    }
  }
  fn(Status::OK());
}

Status GroupCommit::WaitDurable(uint64_t seq) {
  if (mode_ != Fsync::kAlways) return Status::OK();
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  Status result;
  RunWhenDurable(seq, [&](Status s) {
    std::lock_guard lock(m);
    result = s;
    done = true;
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return done; });
  return result;
}

Status GroupCommit::SyncNow() {
  std::lock_guard sync_lock(sync_mu_);
  // Everything up to `target` is already in the WAL file (RocksDB publishes a sequence
  // number only after its WAL write), so one SyncWAL makes all of it durable.
  if (failed_ != nullptr && failed_->load()) {
    return Status::IOError(
        "the store's last write failed; the WAL is not synced until it recovers");
  }
  uint64_t target = db_->GetLatestSequenceNumber();
  rocksdb::Status s = db_->SyncWAL();
  syncs_++;
  if (!s.ok()) return Status::IOError(s.ToString());
  std::lock_guard lock(mu_);
  if (target > synced_seq_) synced_seq_ = target;
  return Status::OK();
}

void GroupCommit::SyncerLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (pending_.empty() && stop_) return;
    lock.unlock();
    Status s = SyncNow();
    lock.lock();
    // Run what this sync covered (or failed to cover); later arrivals wait for the next.
    std::vector<std::pair<uint64_t, std::function<void(Status)>>> ready, waiting;
    for (auto& p : pending_) {
      if (!s.ok() || p.first <= synced_seq_) {
        ready.push_back(std::move(p));
      } else {
        waiting.push_back(std::move(p));
      }
    }
    pending_.swap(waiting);
    lock.unlock();
    for (auto& [seq, fn] : ready) fn(s);
    lock.lock();
  }
}

void GroupCommit::TickerLoop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    SyncNow();  // an error here surfaces on the next write; nothing to acknowledge
    lock.lock();
  }
}

}  // namespace redge::store
