// Internal state of Store shared by store.cc, txn.cc and blocking.cc. Not a public API.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/utilities/write_batch_with_index.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "store/access_tracker.h"
#include "store/group_commit.h"
#include "store/object.h"
#include "store/store.h"

namespace redge::store {

struct Store::Waiter {
  uint64_t id = 0;
  BlockRequest request;
  PopCallback callback;
};

// One queued operation of the write path.
struct Store::Op {
  int db = 0;
  std::function<void(Txn&)> fn;
  std::function<void(Status)> done;
  ExecMode mode = ExecMode::kInlineOrQueue;
  // Set instead of `fn` for FLUSHDB/FLUSHALL: a DeleteRange write of databases
  // [flush_first, flush_last], which cannot join a WriteBatchWithIndex.
  int flush_first = -1, flush_last = -1;
  // Set instead of `fn` for SAVE: memtables flushed to table files and the WAL synced.
  bool save = false;
  // Set instead of `fn` for the write probe of Writable() asked for on an event loop.
  bool probe = false;

  // Whether this operation may join a batch of others: it runs a `fn` and is not
  // exclusive. (A SAVE or FLUSH has no `fn`: batching one in once called an empty
  // std::function, found by fuzz_resp_commands with a BGSAVE queued behind writes.)
  bool batchable() const {
    return !save && !probe && flush_first < 0 && mode != ExecMode::kExclusive && fn != nullptr;
  }
};

// Keys whose last access OBJECT IDLETIME knows exactly (store/access_tracker.h).
inline constexpr size_t kAccessTrackerCapacity = 1u << 17;

struct Store::Impl {
  // RocksDB's Env over RetryableFileSystem (retryable_fs.h); outlives `db`.
  std::unique_ptr<rocksdb::Env> env;
  rocksdb::DB* db = nullptr;
  rocksdb::ColumnFamilyHandle* meta_cf = nullptr;
  rocksdb::ColumnFamilyHandle* data_cf = nullptr;
  rocksdb::ColumnFamilyHandle* expire_cf = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  // Read by the compaction filter; null while opening and closing.
  std::shared_ptr<std::atomic<rocksdb::DB*>> filter_db =
      std::make_shared<std::atomic<rocksdb::DB*>>(nullptr);
  std::shared_ptr<std::atomic<rocksdb::ColumnFamilyHandle*>> filter_meta_cf =
      std::make_shared<std::atomic<rocksdb::ColumnFamilyHandle*>>(nullptr);
  rocksdb::WriteOptions write_options;

  // The store lock: serializes operations, like Redis's main thread. Guards everything
  // below that is not atomic, except what the queue and waiter locks guard. Lock order:
  // mu, then waiters_mu; queue_mu is never held with another lock.
  std::mutex mu;
  bool closing = false;

  // The writer queue (see Store::ExecAsync).
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<Op> queue;           // guarded by queue_mu
  std::atomic<size_t> queued{0};  // queue.size(), readable without queue_mu
  bool writer_stop = false;       // guarded by queue_mu
  std::thread writer;
  std::atomic<std::thread::id> writer_id{};
  rocksdb::WriteBatchWithIndex batch{rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true};
  std::array<std::atomic<int64_t>, kNumDbs> key_counts{};
  std::array<std::atomic<int64_t>, kNumDbs> expires_counts{};
  uint64_t next_version = 0;
  uint64_t persisted_version_hwm = 0;

  struct KeyObserverEntry {
    std::string prefix;
    std::vector<std::string> events;  // empty: every event
    KeyObserver observer;
    bool Wants(std::string_view key, std::string_view event) const {
      if (key.substr(0, prefix.size()) != prefix) return false;
      if (events.empty() || event.empty()) return true;
      for (const auto& e : events) {
        if (e == event) return true;
      }
      return false;
    }
  };
  std::vector<KeyObserverEntry> key_observers;
  std::vector<std::pair<std::string, ChannelObserver>> channel_observers;
  std::vector<std::function<void(int db)>> flush_observers;
  std::atomic<bool> has_channel_observers{false};
  CommitListener commit_listener;

  // Blocked commands: FIFO per [db][key], and by id for cancellation. Guarded by
  // waiters_mu (so that a cancel never waits for a long operation holding mu).
  std::mutex waiters_mu;
  std::unordered_map<std::string, std::deque<std::shared_ptr<Waiter>>> waiters_by_key;
  std::unordered_map<uint64_t, std::shared_ptr<Waiter>> waiters_by_id;
  // Requests whose first attempt has not run yet (queued), each with whether its timeout
  // already fired (TimeOutBlocked): then the attempt runs but does not park. A cancel
  // erases the id here.
  std::unordered_map<uint64_t, bool> waiters_pending;
  std::atomic<uint64_t> next_waiter_id{1};
  // Results for waiters served during the current batch; delivered after its commit.
  // Guarded by mu.
  std::vector<std::pair<PopCallback, Result<PopResult>>> pending_deliveries;

  // SCAN cursors: id -> resume key, oldest evicted first.
  std::unordered_map<uint64_t, std::string> scan_cursors;
  std::deque<uint64_t> scan_cursor_order;
  uint64_t next_scan_cursor = 1;

  std::unique_ptr<GroupCommit> group_commit;

  // OBJECT IDLETIME / FREQ (guarded by mu) and the encoding limits (atomics).
  AccessTracker access{kAccessTrackerCapacity, 0};
  std::atomic<bool> lfu_enabled{false};
  std::atomic<int64_t> lfu_log_factor{10}, lfu_decay_minutes{1};
  AccessTracker::LfuParams Lfu() const {
    return {lfu_enabled.load(std::memory_order_relaxed),
            lfu_log_factor.load(std::memory_order_relaxed),
            lfu_decay_minutes.load(std::memory_order_relaxed)};
  }
  object::EncodingLimits encoding_limits;
  // CLIENT PAUSE: expiry suspended.
  std::atomic<bool> expiry_paused{false};

  // Active expirer.
  std::thread expirer;
  std::condition_variable expirer_cv;
  int64_t expirer_wait_deadline = 0;  // what the expirer sleeps until (0 = no deadline)
  // Guarded by mu. No live entry of the expire index has a deadline below this: the
  // expirer seeks here rather than to the start of the index, where the tombstones of
  // everything it already expired lie until a compaction (walking them made each pass
  // cost O(keys expired so far)). Raised by a committed expirer pass, lowered by any
  // commit that indexes an earlier deadline; 0 after Open.
  int64_t expire_floor = 0;

  // Keyspace notification classes enabled (bits of KeyspaceClass in txn.cc); 0 = off.
  std::atomic<uint32_t> keyspace_events{0};
  std::atomic<int64_t> last_save_unix{0};  // LASTSAVE: open time, then each SaveAsync
  std::atomic<int64_t> blocked{0};
  std::atomic<int64_t> writes{0};
  std::atomic<int64_t> write_failures{0};
  // Store::CheckMayWait: waits on event-loop threads, and when the last one was logged.
  std::atomic<int64_t> waits_on_event_loop{0};
  std::atomic<int64_t> last_wait_log_ms{-1};
  // Set by a refused write, cleared by the next write that commits (see Store::Writable).
  std::atomic<bool> last_write_failed{false};
  std::atomic<int64_t> last_probe_ms{0};
  std::atomic<int64_t> keys_expired{0};
  std::atomic<int64_t> changes{0};
  // `changes` when the last SAVE/BGSAVE succeeded (INFO's rdb_changes_since_last_save is
  // the difference), how many succeeded, and whether the last one did.
  std::atomic<int64_t> changes_at_save{0};
  std::atomic<int64_t> saves{0};
  std::atomic<bool> last_save_ok{true};
  std::atomic<int64_t> write_latency_us_total{0};
  std::array<std::atomic<int64_t>, kWriteLatencyBoundsUs.size() + 1> write_latency_buckets{};
};

}  // namespace redge::store
