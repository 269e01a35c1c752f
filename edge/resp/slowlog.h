// SlowLog: Redis's SLOWLOG. Commands whose execution took longer than
// slowlog-log-slower-than microseconds (CONFIG; negative = off, 0 = every command) are
// kept, newest first, up to slowlog-max-len entries, each with Redis's fields: id, unix
// time, duration in microseconds, arguments (at most 32, each cut at 128 bytes as Redis
// cuts them), client address and name. The duration is the command's own execution
// (for EXEC and scripts: the whole transaction), not time spent queued or waiting for
// the disk.
//
// Thread-safety: every method is safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace redge::resp {

struct SlowLogEntry {
  int64_t id = 0;
  int64_t unix_time = 0;
  int64_t duration_us = 0;
  std::vector<std::string> argv;
  std::string peer;
  std::string name;
};

class SlowLog {
 public:
  // Whether a command that took `duration_us` belongs in the log.
  bool Slow(int64_t duration_us) const {
    const int64_t t = threshold_us_.load(std::memory_order_relaxed);
    return t >= 0 && duration_us >= t;
  }
  // Records the command if it was slow enough (cheap when it was not).
  void Record(const std::vector<std::string>& argv, int64_t duration_us, const std::string& peer,
              const std::string& name);
  // The newest `count` entries (all when count < 0), newest first.
  std::vector<SlowLogEntry> Get(int64_t count) const;
  size_t Len() const;
  void Reset();

  void set_threshold_us(int64_t v) { threshold_us_ = v; }
  void set_max_len(int64_t v);

 private:
  std::atomic<int64_t> threshold_us_{10000};
  mutable std::mutex mu_;
  std::deque<SlowLogEntry> entries_;  // newest first
  size_t max_len_ = 128;
  int64_t next_id_ = 0;
};

}  // namespace redge::resp
