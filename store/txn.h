// Txn: the context one Store::Exec call runs in. Type modules (strings.h, lists.h,
// keys.h) are written against it; mutation observers receive it to add their own writes
// to the same atomic batch.
//
// Reads see the transaction's own earlier writes (a RocksDB WriteBatchWithIndex over the
// database). A key whose deadline has passed reads as absent and is deleted in this
// batch (lazy expiry, with an "expired" event).
//
// Thread-safety: a Txn belongs to the Exec call that created it and is used by one
// thread under the store lock; never keep a reference after the callback returns.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/status.h"

namespace rocksdb {
class WriteBatchWithIndex;
class Iterator;
}  // namespace rocksdb

namespace redge::store {

class Store;
enum class ListEnd { kLeft, kRight };

// Stored in metadata records: values are part of the on-disk format, never renumber.
enum class KeyType : uint8_t {
  kNone = 0,
  kString = 1,
  kList = 2,
  kHash = 3,
  kSet = 4,
  kZSet = 5,
  kStream = 6,
};
// TYPE's names: "none", "string", "list", "hash", "set", "zset", "stream".
const char* KeyTypeName(KeyType t);
// Whether `t` keeps elements under (key, version, sub) in the data column family.
inline bool IsCollection(KeyType t) { return t >= KeyType::kList && t <= KeyType::kStream; }

// A key's metadata record. Collections keep their elements under (key, version, ...);
// a new collection under the same name gets a new version, so a DEL is one delete of
// this record and stale elements are dropped later by the compaction filter.
struct Meta {
  KeyType type = KeyType::kNone;
  int64_t expire_at_ms = 0;  // 0 = no TTL
  // Collections: the version their elements live under. kString (no elements): how OBJECT
  // ENCODING sees the value (store/object.h StringHint; 0 for a plain SET).
  uint64_t version = 0;
  // kString: the value. kStream: the stream's own metadata (store/streams.cc encodes
  // it). kHash, kSet, kZSet: tagged extras (store/meta_extras.h: sorted-set seek hints, the
  // sticky encoding marker; empty by default). kList: unused.
  std::string value;
  // kList: elements live at indexes [head, tail).
  uint64_t head = 0;
  uint64_t tail = 0;
  // kHash, kSet, kZSet: the number of fields / members.
  uint64_t count = 0;
  // Elements of a list; fields or members of a hash, set or sorted set.
  uint64_t size() const { return type == KeyType::kList ? tail - head : count; }
};

class Txn {
 public:
  int db() const { return db_; }
  // Switches the logical database for the following calls (SELECT inside MULTI, or an
  // observer writing to the jobs' database). Writes stay in the same batch.
  void SwitchDb(int db) { db_ = db; }
  int64_t now_ms() const { return now_ms_; }
  Store& store() { return *store_; }

  // The live metadata of `key`: NotFound if absent or expired (then lazily deleted, unless
  // expiry is paused by CLIENT PAUSE: then it only reads as absent). Counts as an access
  // of the key for OBJECT IDLETIME/FREQ unless a NoTouch scope is active.
  Result<Meta> GetMeta(std::string_view key);
  // The live metadata if `key` exists with `type`; NotFound if absent; WrongType if it
  // holds another type.
  Result<Meta> GetTyped(std::string_view key, KeyType type);
  // Writes `meta` for `key` (creating or replacing it) and keeps the expiry index in step.
  // Counts as an access (OBJECT IDLETIME) unless a NoTouch scope is active.
  void PutMeta(std::string_view key, const Meta& meta);
  // PutMeta that does not count as a modification for WATCH: for the consumer-group
  // changes Redis 7.0 makes without signalModifiedKey (XGROUP CREATE on an existing
  // stream, XGROUP DESTROY). Everything else about the write is the same.
  void PutMetaUnwatched(std::string_view key, const Meta& meta);

  // While alive, reads and writes through this Txn are not accesses for OBJECT IDLETIME/
  // FREQ (Redis's LOOKUP_NOTOUCH: TYPE, TTL, EXISTS, OBJECT itself, SWAPDB's moves).
  class NoTouch {
   public:
    explicit NoTouch(Txn& txn) : txn_(txn), saved_(txn.no_touch_) { txn.no_touch_ = true; }
    ~NoTouch() { txn_.no_touch_ = saved_; }
    NoTouch(const NoTouch&) = delete;
    NoTouch& operator=(const NoTouch&) = delete;

   private:
    Txn& txn_;
    bool saved_;
  };
  // OBJECT IDLETIME: milliseconds since `key` was last read or written (see
  // store/access_tracker.h for keys it does not track). OBJECT FREQ: its LFU counter.
  int64_t IdleMs(std::string_view key) const;
  int LfuFrequency(std::string_view key) const;
  // RESTORE ... IDLETIME / FREQ: `idle_ms` >= 0 sets the last access that long ago,
  // `freq` >= 0 sets the LFU counter.
  void SetAccess(std::string_view key, int64_t idle_ms, int freq);
  // SWAPDB: the access times of databases a and b trade places.
  void SwapAccessTimes(int a, int b);
  // Deletes `key` (its elements become garbage for the compaction filter). No event.
  void DeleteKey(std::string_view key);
  // A fresh, never-used version for a new collection.
  uint64_t NewVersion();

  // Collection elements under (key, version, sub).
  Result<std::string> GetElement(std::string_view key, uint64_t version, std::string_view sub);
  void PutElement(std::string_view key, uint64_t version, std::string_view sub,
                  std::string_view value);
  void DeleteElement(std::string_view key, uint64_t version, std::string_view sub);

  // Visits the elements of (key, version) in sub-key order from `start_sub`, until `fn`
  // returns false. Sees this transaction's writes.
  Status ScanElements(std::string_view key, uint64_t version, std::string_view start_sub,
                      const std::function<bool(std::string_view sub, std::string_view value)>& fn);
  // The same in descending sub-key order, starting at the greatest sub-key <= `last_sub`
  // (an empty `last_sub` starts at the greatest sub-key of all).
  Status ScanElementsReverse(
      std::string_view key, uint64_t version, std::string_view last_sub,
      const std::function<bool(std::string_view sub, std::string_view value)>& fn);
  // Copies every element of (from, version) in this database to `to` in database `to_db`
  // under a fresh version, which it returns (RENAME, COPY, MOVE: elements are stored
  // under the key's name, so they move with it; O(n)). Metadata is the caller's job.
  Result<uint64_t> CopyElements(std::string_view from, uint64_t version, int to_db,
                                std::string_view to);
  Result<uint64_t> CopyElements(std::string_view from, uint64_t version, std::string_view to) {
    return CopyElements(from, version, db_, to);
  }

  // The store's own records (not keys of any database: never seen by KEYS, SCAN, DBSIZE
  // or FLUSHALL), e.g. persisted Lua function libraries. Names are the caller's
  // namespace; use a prefix per module ("fn:").
  Result<std::string> GetInternal(std::string_view name);
  void PutInternal(std::string_view name, std::string_view value);
  void DeleteInternal(std::string_view name);
  // Visits internal records whose name starts with `prefix`, in name order.
  Status ScanInternal(std::string_view prefix,
                      const std::function<bool(std::string_view name, std::string_view value)>& fn);

  // Tells blocked clients of `key` (in this database) that it may now serve them: their
  // serve functions run after this transaction's commands, inside its batch. Writes of
  // list, sorted-set and stream metadata signal by themselves, and so do deleting a stream
  // or replacing it with another type (PutMeta/DeleteKey); call this for other changes
  // that can wake a waiter.
  void SignalKeyReady(std::string_view key);

  // Savepoints (nestable): RollbackToSavePoint undoes every write, key-count change,
  // touched key, readiness signal and AfterCommit hook since the matching SetSavePoint, so
  // a Lua script that fails half way writes nothing. PopSavePoint forgets the latest one,
  // keeping its writes.
  void SetSavePoint();
  void RollbackToSavePoint();
  void PopSavePoint();

  // Visits live keys of this database in key order, starting at `start` (inclusive),
  // until `fn` returns false.
  Status ScanKeys(std::string_view start,
                  const std::function<bool(std::string_view key, const Meta& meta)>& fn);

  // Raises a key-space event: runs the matching observers now (inside this batch), marks
  // the key touched (WATCH), and for list-growing events lets blocked pops be served.
  void Notify(std::string_view key, std::string_view event,
              const std::vector<std::string>* values = nullptr);
  // Publishes a key-space event and counts a change (INFO's rdb_changes_since_last_save),
  // without touching the key for WATCH and without observers: Redis 7.0 raises the
  // consumer-group events (xgroup-create on an existing stream, xgroup-setid,
  // xgroup-destroy, xgroup-createconsumer, xgroup-delconsumer) with no signalModifiedKey,
  // so a WATCHed stream stays valid.
  void Announce(std::string_view key, std::string_view event);

  // Who runs this transaction ("resp:12", a CLIENT SETNAME name, "http:worker-3"), for
  // observers that record who did something (the jobs layer's lease holder). While a
  // blocked pop is served inside another client's write, it names the blocked client.
  void set_client(std::string client) { client_ = std::move(client); }
  const std::string& client() const { return client_; }

  // Whether a key observer is registered for a prefix of `key` and wants `event` (empty:
  // any event), so a caller builds the event's values only when someone will read them.
  bool HasObserver(std::string_view key, std::string_view event = {}) const;

  // Runs after this batch commits successfully (not at all if it fails).
  void AfterCommit(std::function<void()> fn);

  // Keys written in this transaction, each as [db byte][key] (for WATCH).
  const std::vector<std::string>& touched_keys() const { return touched_; }

  // SCAN cursor table: SCAN's integer cursors name a saved resume position.
  std::optional<std::string> LookupScanCursor(uint64_t cursor);
  uint64_t SaveScanCursor(std::string next_key);

 private:
  friend class Store;
  Txn(Store* store, int db, int64_t now_ms, rocksdb::WriteBatchWithIndex* batch);
  // The stored record whatever its deadline; nullopt if absent.
  Result<std::optional<Meta>> ReadRawMeta(std::string_view key);
  // Remembers the metadata this Txn last read or wrote, so the read-modify-write of one
  // command (GetMeta, then PutMeta) costs one lookup instead of two.
  void CacheMeta(std::string_view key, const std::optional<Meta>& meta);
  // Records an access of `key` (OBJECT IDLETIME/FREQ).
  void NoteAccess(std::string_view key);
  void PutMetaImpl(std::string_view key, const Meta& meta, bool watch_touch);
  // Writes the metadata records changed by this Txn into the batch (at commit, and before
  // anything iterates the batch).
  void FlushMetas();
  void Touch(std::string_view key);
  // Queues the keyspace/keyevent publications of one event (after commit).
  void PublishKeyspaceEvent(uint32_t flags, std::string_view key, std::string_view event);

  Store* store_;
  int db_;
  int64_t now_ms_;
  rocksdb::WriteBatchWithIndex* batch_;
  int observer_depth_ = 0;
  bool no_touch_ = false;
  // Per-database change in key count (DBSIZE counters are updated after commit).
  std::unordered_map<std::string, std::optional<Meta>> dirty_metas_;  // by encoded meta key
  bool meta_cache_valid_ = false;
  int meta_cache_db_ = -1;
  std::string meta_cache_key_;
  std::optional<Meta> meta_cache_;
  int64_t key_count_delta_[16] = {};
  int64_t expires_count_delta_[16] = {};  // keys with a TTL, for INFO keyspace
  std::vector<std::string> touched_;
  std::vector<std::string> ready_lists_;  // keys that may now serve blocked pops
  std::vector<std::function<void()>> after_commit_;
  std::string client_;
  int64_t expired_ = 0;
  int64_t changes_ = 0;           // keyspace events raised (StoreStats::changes)
  int64_t min_new_deadline_ = 0;  // earliest TTL set here (wakes the expirer)
  // Set by an expirer pass: where the live expire-index entries start once this commits.
  int64_t expire_floor_after_ = 0;

  struct SavePoint {
    std::unordered_map<std::string, std::optional<Meta>> dirty_metas;
    int64_t key_count_delta[16];
    int64_t expires_count_delta[16];
    size_t touched, ready_lists, after_commit;
    int64_t expired, changes, min_new_deadline;
  };
  std::vector<SavePoint> savepoints_;
};

}  // namespace redge::store
