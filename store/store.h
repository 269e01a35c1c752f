// Store: redge's embedded engine. RocksDB holds the data; this class gives it Redis's
// semantics (logical databases, types, TTLs, blocking pops, pub/sub) and nothing of HTTP
// or jobs.
//
// What it promises:
//  - Atomicity: everything done inside one Exec() (one command, a MULTI/EXEC block, plus
//    whatever mutation observers add) commits in one RocksDB write batch, or not at all.
//    All Exec() calls are serialized, like commands on Redis's main thread, so a command
//    sees the effects of every command that returned before it started.
//  - Durability (Options::fsync): kAlways - Exec() returns only after its batch is on
//    disk; concurrent writers share one fsync (group commit), and a read waits until the
//    writes it can see are durable, so nothing a caller observed can be lost. kEverySec -
//    fsync once a second in the background. kNo - left to the OS. In every mode a batch
//    survives a crash of the process (it is in the OS before Exec returns).
//  - Expiry: an expired key is never returned. Lazy expiry on access plus an active
//    expirer that wakes at the earliest deadline (an index ordered by deadline; no scans).
//  - Failure: a failed write (disk full, I/O error) returns Status::kIOError, leaves the
//    previous state in place and notifies nobody; reads keep working. Once the cause is
//    gone (space freed; file descriptors available again after EMFILE/ENFILE) the store
//    writes again by itself (retryable_fs.h).
//
// Thread-safety: every public method is safe to call from any thread. Callbacks
// (pop deliveries, AfterCommit hooks, pub/sub wakes) run on the thread of the command
// that triggered them, after its commit, without the store lock held: keep them short.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/clock.h"
#include "store/pubsub.h"
#include "store/status.h"
#include "store/txn.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Cache;
}  // namespace rocksdb

namespace redge::store {

namespace object {
struct EncodingLimits;
}
namespace streams {
class StreamView;
}

enum class Fsync { kAlways, kEverySec, kNo };
// Parses "always" / "everysec" / "no".
std::optional<Fsync> ParseFsync(std::string_view s);
const char* FsyncName(Fsync f);

struct Options {
  std::string dir = "./redge-data";
  Fsync fsync = Fsync::kEverySec;
  // Not owned; nullptr means the system clock. Must outlive the Store.
  const Clock* clock = nullptr;
  // Runs the background expirer thread. Tests using a ManualClock turn it off and call
  // ExpireDueKeys() instead.
  bool active_expire = true;
  size_t block_cache_bytes = 64u << 20;
  // Table files RocksDB keeps open (-1: all of them, RocksDB's default). A bound lets the
  // server reserve the descriptors the store needs (see edge/main.cc).
  int max_open_files = -1;
  size_t write_buffer_bytes = 64u << 20;
  // Receives RocksDB's own log lines (level: 0 debug, 1 info, 2 warn, 3 error, 4 fatal).
  // RocksDB's default LOG file lives on the data disk; when that disk fills, RocksDB 7.8
  // aborts on its second failed log append, so the store never writes that file. Null:
  // warnings and errors go to stderr. The store's own error lines (a wait on an event-loop
  // thread, see Store::Exec) come here too, at level 3, beginning with "store: ".
  std::function<void(int level, const std::string& line)> log;
};

// A key-space event seen by mutation observers, named as Redis keyspace notifications
// name them: "set", "del", "expired", "expire", "persist", "lpush", "rpush", "lpop",
// "rpop", "lset", "lrem", "ltrim", "linsert", "rename_from", "rename_to", "incrby",
// "append", "hset", "hdel", ...
struct KeyEvent {
  int db = 0;
  std::string_view key;
  std::string_view event;
  // For "set": the new value. For pushes: the pushed elements, in argument order. For
  // pops: the popped elements. For "hset" (HSET, HMSET, HSETNX): field, value, field,
  // value, ... For "hdel": the deleted fields. Otherwise (or when no observer of the key
  // wants the event) null.
  const std::vector<std::string>* values = nullptr;
};

// Called inside the atomic write of the command that caused the event, with the store
// lock held; may read and write through `txn` (its writes join the same batch) and may
// register txn.AfterCommit hooks. Must not call Store::Exec (that would deadlock).
using KeyObserver = std::function<void(Txn& txn, const KeyEvent& event)>;
using ChannelObserver =
    std::function<void(Txn& txn, std::string_view channel, std::string_view message)>;

// One blocked pop (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH).
struct PopRequest {
  int db = 0;
  std::vector<std::string> keys;
  ListEnd from = ListEnd::kLeft;
  size_t count = 1;
  // BLMOVE: where the popped element goes.
  std::optional<std::string> destination;
  ListEnd to = ListEnd::kLeft;
  std::string client;  // who is waiting (for observers and diagnostics)
};
// What a served blocking command gets: the key it was served from and values whose
// meaning belongs to the command (popped elements; member/score pairs; for stream reads,
// whatever encoding the serve function chose).
struct PopResult {
  std::string key;
  std::vector<std::string> values;
};
// Called exactly once per request that did not get true from CancelBlocked or
// TimeOutBlocked; with Status::Timeout() when a timed-out request's first attempt found
// nothing.
using PopCallback = std::function<void(Result<PopResult>)>;

// Serves a blocked request from `key` inside the write that made `key` ready (and once
// per key when the request is made). nullopt: nothing for this waiter there, it stays
// blocked. A Result: the request is done (served, or failed for good, e.g. WRONGTYPE);
// its callback gets the Result after the commit. Runs under the store lock with the
// waiter's database selected and its client name set.
using ServeFn = std::function<std::optional<Result<PopResult>>(Txn& txn, const std::string& key)>;

// A blocked command of any type (BLPOP, BZPOPMIN, BZMPOP, XREAD BLOCK, XREADGROUP BLOCK).
// Waiters of one key are served in the order they blocked (FIFO per key, as Redis).
struct BlockRequest {
  int db = 0;
  std::vector<std::string> keys;
  std::string client;
  ServeFn serve;
};

// How ExecAsync may run an operation.
enum class ExecMode {
  // On the calling thread when the store is idle (lowest latency), else queued for the
  // store's writer thread. Never waits for another writer.
  kInlineOrQueue,
  // Always on the writer thread, in a batch of its own (Lua scripts: long operations run
  // there so that no event loop is held, and a failed script can be rolled back alone).
  kExclusive,
};
// Upper bounds (microseconds) of the buckets of StoreStats::write_latency_buckets: 10 us
// to 10 s, about three per decade (a write without sync takes microseconds; one stuck
// behind a compaction stall, milliseconds to seconds).
inline constexpr std::array<int64_t, 19> kWriteLatencyBoundsUs = {
    10,     25,     50,      100,     250,     500,       1'000,     2'500,     5'000,     10'000,
    25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};

struct StoreStats {
  int64_t writes = 0;          // committed batches
  int64_t write_failures = 0;  // batches RocksDB refused
  int64_t fsyncs = 0;          // WAL syncs done
  int64_t keys_expired = 0;    // deleted by lazy or active expiry
  // Key-space changes committed (one per keyspace event, expiry excepted): what INFO calls
  // rdb_changes_since_last_save (Redis counts some multi-element writes once per element).
  int64_t changes = 0;
  int64_t changes_since_save = 0;  // since the last successful SaveAsync (or the start)
  int64_t saves = 0;               // successful SaveAsync calls since the start
  bool last_save_ok = true;        // whether the last SaveAsync succeeded
  int64_t blocked_clients = 0;     // waiting pops
  // Time spent in RocksDB's Write of each Exec batch, committed or refused (WAL append +
  // memtable; the fsync is separate, see `fsyncs`).
  int64_t write_latency_us_total = 0;
  // The same writes by duration: [i] counts those in (bound[i-1], bound[i]] of
  // kWriteLatencyBoundsUs; the last entry counts those above every bound.
  std::array<int64_t, kWriteLatencyBoundsUs.size() + 1> write_latency_buckets{};
  uint64_t disk_bytes = 0;  // SST files + memtables (whose data is in the WAL)
  // Calls that waited for the store on an event-loop thread (Exec, Run, Block, BlockPop,
  // Publish, FlushDb, FlushAll; see Store::Exec). Always 0 unless a caller breaks the rule;
  // only release builds count them (debug builds abort instead).
  int64_t waits_on_event_loop = 0;
};

class Store {
 public:
  static constexpr int kNumDbs = 16;

  static Result<std::unique_ptr<Store>> Open(const Options& options);
  // Stops the expirer, syncs the WAL and closes RocksDB.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Runs `fn` serialized with every other Exec, against logical database `db`, and waits
  // for its commit. Writes made through the Txn commit in one batch after `fn` returns (a
  // command that failed half-way has written nothing, because commands check before they
  // write). Returns the commit's status: if not ok, nothing `fn` wrote happened and
  // whatever it computed must not be acknowledged. REQUIRES: not called from inside an
  // Exec/ExecAsync function or an observer (that would wait for itself), nor from an
  // event-loop thread (use ExecAsync there). The last is enforced (base/loop_thread.h):
  // a build without NDEBUG aborts with a message naming the rule; a release build counts
  // the call (StoreStats::waits_on_event_loop) and logs an error at most once a minute.
  // The same holds for every method here that waits for a commit or a wake-up (Run,
  // Block, BlockPop, Publish, FlushDb, FlushAll).
  Status Exec(int db, const std::function<void(Txn&)>& fn);

  // The write path. `fn` runs serialized with every other operation, either at once on
  // this thread (when the store is idle and nothing is queued) or later on the store's
  // writer thread, which runs every queued operation in one batch: one RocksDB write, one
  // WAL append, one sync wait (LevelDB's writer queue). Operations of one thread run in
  // the order they were submitted. `done` gets the commit status once the batch is
  // durable per Options::fsync: on this thread before ExecAsync returns, or later on the
  // writer or group-commit thread. The caller never waits for another writer or the disk.
  // `fn` must own what it captures (it may run after ExecAsync returned).
  void ExecAsync(int db, std::function<void(Txn&)> fn, std::function<void(Status)> done,
                 ExecMode mode = ExecMode::kInlineOrQueue);

  // Exec for one command returning Result<T>: the command's result if the commit
  // succeeded, else the commit error.
  template <typename F>
  auto Run(int db, F&& fn) -> decltype(fn(std::declval<Txn&>())) {
    std::optional<decltype(fn(std::declval<Txn&>()))> out;
    Status s = Exec(db, [&](Txn& txn) { out.emplace(fn(txn)); });
    if (!s.ok()) return s;
    return std::move(*out);
  }

  // Whether the calling thread is the store's writer thread (for assertions).
  bool OnWriterThread() const;

  // --- Blocking commands -----------------------------------------------------------
  // Event-loop form. Tries to serve at once from each key in order; if nothing is there
  // the request waits in each key's FIFO queue, and the first write that makes one of
  // its keys ready serves the waiters in the order they blocked, in that write's batch,
  // calling `cb` after the commit. Returns the request's id for CancelBlocked (never 0);
  // `cb` may run before BlockAsync returns. Never waits for the store.
  uint64_t BlockAsync(BlockRequest request, PopCallback cb);
  // BlockAsync for list pops (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH).
  uint64_t BlockPopAsync(PopRequest request, PopCallback cb);
  // Withdraws a waiting request. True if it was withdrawn (cb will never be called);
  // false if it was already served (cb has run or is about to). Never waits for an
  // operation in progress.
  bool CancelBlocked(uint64_t id);
  bool CancelBlockedPop(uint64_t id) { return CancelBlocked(id); }
  // Ends a request's wait the way its timeout does. Unlike CancelBlocked, a request whose
  // first attempt has not run yet (it is queued behind other writes) still makes that
  // attempt, as Redis serves a blocking pop at once when data is there: the attempt
  // serves it, or `cb` gets Status::Timeout(). True if a parked request was withdrawn
  // (`cb` will never be called); false if `cb` has run or will run.
  bool TimeOutBlocked(uint64_t id);
  // Thread form: waits up to `timeout` (zero = forever). Returns nullopt on timeout.
  Result<std::optional<PopResult>> BlockPop(PopRequest request, std::chrono::milliseconds timeout);
  Result<std::optional<PopResult>> Block(BlockRequest request, std::chrono::milliseconds timeout);

  // --- Pub/sub ---------------------------------------------------------------------
  // Runs channel observers (in one atomic write) and then delivers to subscribers.
  // Returns the number of deliveries, or the observers' commit error (nothing delivered).
  Result<int64_t> Publish(const std::string& channel, const std::string& message);
  PubSub& pubsub() { return pubsub_; }

  // --- Observers (register before serving traffic; thread-safe) ---------------------
  // `events`: the key-space event names the observer is called for; empty = all. An
  // observer of every key (prefix "") for a few events costs the other events nothing:
  // values (a SET's value) are copied only for an observer that wants them.
  void AddKeyObserver(std::string key_prefix, KeyObserver observer,
                      std::vector<std::string> events = {});
  void AddChannelObserver(std::string channel_prefix, ChannelObserver observer);
  // The read-only stream view (store/streams.h: StreamView): stream commands on the keys
  // it matches read it instead of a stored stream, and writes to them are refused. One
  // view; set before serving traffic (not synchronized with running commands).
  void SetStreamView(std::shared_ptr<streams::StreamView> view) { stream_view_ = std::move(view); }
  streams::StreamView* stream_view() const { return stream_view_.get(); }
  // Called after a FlushDb(db) (FLUSHDB, FLUSHALL) committed, without the store lock:
  // those delete by range, so no key observer sees their keys go. (A flush inside MULTI
  // deletes key by key and raises "del" events instead.) Must not block.
  void AddFlushObserver(std::function<void(int db)> observer);

  // Called with the store lock held right after every successful commit: `touched` holds
  // the written keys as [db byte][key]; `flushed_db` is the database a FLUSHDB emptied,
  // or -1. For WATCH. Must be cheap and must not call back into the store. One listener.
  using CommitListener =
      std::function<void(const std::vector<std::string>& touched, int flushed_db)>;
  void SetCommitListener(CommitListener listener);

  // PUBLISH from inside a transaction (a command, MULTI/EXEC, a script): channel
  // observers join `txn`'s batch; subscribers get the message once the batch commits
  // (never a message whose transaction was rolled back or failed). Returns the number of
  // receivers at the time of the call (PUBLISH's reply).
  int64_t PublishInTxn(Txn& txn, const std::string& channel, const std::string& message);

  // Keyspace notifications (Redis's notify-keyspace-events): `flags` are Redis's letters
  // ("KEA", "Elx", "" to turn them off). Each key-space event of an enabled class is
  // published after its transaction commits on __keyspace@<db>__:<key> (message: the
  // event) and/or __keyevent@<db>__:<event> (message: the key). Not supported: 'm' (key
  // miss) events. Returns false for an unknown letter.
  bool SetKeyspaceEvents(std::string_view flags);

  // --- Whole-database operations ----------------------------------------------------
  // DBSIZE: keys in `db`, counting keys whose TTL passed but that were not removed yet.
  int64_t DbSize(int db) const;
  // Whether writes can commit: false after a refused write (disk full, I/O error) until a
  // probe write succeeds; the probe runs at most once a second. Reads work either way. On
  // an event-loop thread the probe (a synced write) is not run there: it is queued for the
  // store's writer thread and this call answers false; a later call sees its result.
  bool Writable();
  // Keys in `db` that carry a TTL (INFO keyspace's expires=).
  int64_t DbExpires(int db) const;
  Status FlushDb(int db);
  Status FlushAll();
  // Event-loop forms: `done` runs once the flush is durable (see ExecAsync). `db` -1
  // flushes every database.
  void FlushAsync(int db, std::function<void(Status)> done);
  // SAVE / BGSAVE: everything committed so far is synced to the WAL and the memtables are
  // written to table files (RocksDB's flush, which shortens the next start's WAL replay).
  // Ordered after every operation queued before it; `done` runs when it is finished.
  void SaveAsync(std::function<void(Status)> done);
  // Unix time (seconds) of the last successful SaveAsync, or of the store's opening.
  int64_t LastSaveUnix() const;
  // FLUSHDB inside a transaction: deletes key by key (O(n)), so it stays atomic with the
  // rest of the batch.
  static void FlushDbInTxn(Txn& txn);

  // Deletes every key whose deadline has passed (what the background expirer does at
  // each deadline). Returns how many keys it deleted.
  Result<int64_t> ExpireDueKeys();
  // Forces a RocksDB compaction of everything (tests of the compaction filter).
  Status CompactAll();
  // Counts raw element records stored under `key` in any version (tests: proves that a
  // deleted collection's elements are gone after compaction).
  int64_t CountElementRecordsForTest(int db, std::string_view key);
  // Entries in the data column family's active (mutable) memtable.
  uint64_t ActiveMemtableEntriesForTest();

  StoreStats GetStats() const;

  // --- Object introspection (OBJECT ENCODING / IDLETIME / FREQ) ------------------------
  // Redis's compact-encoding limits the type modules apply at each write (CONFIG SET
  // hash-max-listpack-entries and friends store into these atomics).
  object::EncodingLimits& encoding_limits();
  // The LFU counter of OBJECT FREQ changes only while `enabled` (an LFU maxmemory-policy),
  // with Redis's lfu-log-factor and lfu-decay-time (minutes).
  void SetLfuParams(bool enabled, int64_t log_factor, int64_t decay_minutes);

  // --- CLIENT PAUSE -------------------------------------------------------------------
  // While paused (Redis: expiry is suspended during a client pause), a key whose deadline
  // passed reads as absent but is neither deleted nor counted as expired, and the active
  // expirer waits; on resume both go on as before.
  void SetExpiryPaused(bool paused);
  bool expiry_paused() const;
  const Options& options() const { return options_; }
  int64_t NowMs() const { return clock_->NowMs(); }

 private:
  friend class Txn;
  struct Waiter;
  struct Op;
  struct Impl;
  explicit Store(const Options& options);
  Status OpenDb();
  // Runs `ops` (taken from the queue, or one inline op) in as few batches as they allow.
  // REQUIRES: `lock` holds the store lock; it is released on return.
  void RunOps(std::vector<Op>& ops, std::unique_lock<std::mutex>& lock);
  void RunWriter();
  // Writes the Exec's batch, releases the lock, and once durable runs hooks, delivers
  // served pops and calls `done`.
  void Commit(Txn& txn, std::unique_lock<std::mutex>& lock, std::function<void(Status)> done);
  // Serves blocked waiters of the keys this transaction made ready (FIFO per key).
  // REQUIRES: the store lock.
  void ServeBlockedPops(Txn& txn);
  // Tries to serve `w` from `key`: true if it was served or failed for good (its result
  // is queued for delivery); false if `key` has nothing for it. REQUIRES: the store lock
  // and the waiters lock.
  bool TryServeFrom(Txn& txn, Waiter& w, const std::string& key);
  // REQUIRES: the waiters lock.
  void RemoveWaiter(const Waiter& w);
  // A DeleteRange write of databases [first, last] (FLUSHDB/FLUSHALL). REQUIRES: the
  // store lock; sets *seq to the sequence number to wait for.
  Status FlushRange(int first, int last, uint64_t* seq);
  void RunExpirer();
  // Writable()'s probe write. REQUIRES: the store lock.
  bool ProbeWritable();
  // Enforces "never wait on an event-loop thread" for `what` (see Exec).
  void CheckMayWait(const char* what);

  Options options_;
  const Clock* clock_;
  PubSub pubsub_;
  std::shared_ptr<streams::StreamView> stream_view_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace redge::store
