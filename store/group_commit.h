// GroupCommit: makes committed RocksDB writes durable, many writers per fsync.
//
// Writers commit without sync (their batch is in the OS when Write returns), then ask to
// be told when their sequence number is durable. In kAlways mode a syncer thread takes
// every pending request, syncs the WAL once for all writes committed so far, and runs
// the callbacks it covered; requests that arrive during a sync ride on the next one.
// Under load one fsync covers many writers (group commit), and an event loop never
// blocks on a disk flush. In kEverySec mode a background thread syncs once a second and
// callbacks run at once; in kNo mode nothing syncs.
//
// Thread-safety: all methods are safe to call concurrently. Callbacks run either on the
// calling thread (already durable, or not kAlways) or on the syncer thread; keep them
// short.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "store/status.h"

namespace redge::store {

enum class Fsync;

class GroupCommit {
 public:
  GroupCommit(rocksdb::DB* db, Fsync mode);
  // Stops the background thread after a last sync; pending callbacks run.
  ~GroupCommit();

  // Runs `fn` with OK once every write with sequence <= `seq` is durable, or with the
  // fsync error that prevented it.
  void RunWhenDurable(uint64_t seq, std::function<void(Status)> fn);
  // Thread form of RunWhenDurable.
  Status WaitDurable(uint64_t seq);
  // Syncs now, whatever the mode (shutdown, everysec tick).
  Status SyncNow();
  // While *flag is true (a write was refused), SyncNow reports an error without touching
  // the WAL: RocksDB 7.8 asserts when a WAL whose append failed is synced again.
  void set_failure_flag(const std::atomic<bool>* flag) { failed_ = flag; }
  int64_t syncs() const { return syncs_.load(); }

 private:
  const std::atomic<bool>* failed_ = nullptr;
  void SyncerLoop();
  void TickerLoop();

  rocksdb::DB* db_;
  const Fsync mode_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t synced_seq_ = 0;
  std::vector<std::pair<uint64_t, std::function<void(Status)>>> pending_;
  std::mutex sync_mu_;  // one SyncWAL at a time
  std::atomic<int64_t> syncs_{0};
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace redge::store
