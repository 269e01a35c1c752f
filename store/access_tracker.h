// AccessTracker: when keys were last read or written, and Redis's LFU counter, for OBJECT
// IDLETIME and OBJECT FREQ. Redis keeps both in every object header (its 24-bit LRU
// field); redge's objects are RocksDB records, and writing a record on every read would
// turn reads into writes, so the tracker is in memory only and bounded: it holds the
// `capacity` most recently used keys. What that means for the answers:
//  - A tracked key: the time since its last access (Redis's IDLETIME, in milliseconds
//    here; the command reports seconds), its LFU counter as Redis computes it (decay by
//    lfu-decay-time minutes, logarithmic increment with lfu-log-factor, 5 for a new key).
//  - A key not tracked (not used since the server started, or pushed out by more recent
//    keys): its idle time is at least the time since the server started, or since the
//    most recent entry left the table, whichever is later; IdleMs returns that lower
//    bound, and Frequency returns 0 (as a key idle for long decays to in Redis).
//  - Deleted keys are not dropped (a key created again is touched by its creation); they
//    leave the table like any key that is not used.
//  - Nothing survives a restart.
//
// Thread-safety: not thread-safe; the Store uses it under the store lock only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace redge::store {

class AccessTracker {
 public:
  // The LFU settings (maxmemory-policy *-lfu, lfu-log-factor, lfu-decay-time).
  struct LfuParams {
    bool enabled = false;  // the counter changes only while an LFU policy is selected
    int64_t log_factor = 10;
    int64_t decay_minutes = 1;
  };

  AccessTracker(size_t capacity, int64_t start_ms);

  // Records an access of `key` in `db` at `now_ms`.
  void Touch(int db, std::string_view key, int64_t now_ms, const LfuParams& lfu);
  // RESTORE ... IDLETIME / FREQ: sets the last access to `last_ms` and, when `counter` >= 0,
  // the LFU counter.
  void Set(int db, std::string_view key, int64_t last_ms, int counter, int64_t now_ms);
  // SWAPDB: the keys of `a` and `b` trade places.
  void SwapDbs(int a, int b);
  // FLUSHDB / FLUSHALL: forgets every key of databases [first, last].
  void ForgetDbs(int first, int last);

  // Milliseconds since the last access (a lower bound when the key is not tracked).
  int64_t IdleMs(int db, std::string_view key, int64_t now_ms) const;
  // Redis's LFUDecrAndReturn: the counter after decay (0 when not tracked).
  int Frequency(int db, std::string_view key, int64_t now_ms, const LfuParams& lfu) const;

  size_t size() const { return index_.size(); }
  // When the server started (keys not tracked have been idle at least since then).
  void set_start_ms(int64_t ms) { start_ms_ = ms; }

 private:
  struct Entry {
    std::string id;  // [db byte][key]
    int64_t last_ms = 0;
    uint8_t counter = 0;         // LFU counter
    uint16_t decrement_min = 0;  // LFU: minutes clock (mod 2^16) of the last update
  };
  static std::string Id(int db, std::string_view key);
  // Redis's LFUDecrAndReturn over an entry.
  static int Decayed(const Entry& e, int64_t now_ms, const LfuParams& lfu);
  void Evict(std::list<Entry>::iterator it);

  size_t capacity_;
  int64_t start_ms_;
  int64_t evicted_watermark_ms_ = 0;  // last access of the most recent entry evicted
  std::list<Entry> order_;            // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views of ids
};

}  // namespace redge::store
