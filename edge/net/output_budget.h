// OutputBudget: one limit on the output all connections hold for their readers (RESP
// replies and pub/sub messages, SSE streams, HTTP responses), so many slow readers
// together cannot exhaust memory even though each stays under its own limit.
//
// What it promises:
//  - Each connection reports how many bytes it holds unsent (Update), from its loop thread.
//  - When the total goes over the limit, the connections holding the most (at least
//    kMinCutBytes each: the slow readers; a reader that keeps up holds almost nothing)
//    are closed, largest first, until the total is back under 90% of the limit.
//  - Nobody waits: a writer (a PUBLISH, an event append) never blocks on the budget; the
//    check runs on the loop that updated its connection, and a cut is a posted close.
//
// Thread-safety: every method is safe from any thread; a Handle's Update is meant for the
// owning connection's loop thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>

namespace redge::net {

class OutputBudget {
 public:
  // Connections holding less than this are never cut.
  static constexpr size_t kMinCutBytes = 64 * 1024;

  // `limit_bytes` 0 = no limit (the totals are still kept).
  explicit OutputBudget(size_t limit_bytes);
  OutputBudget(const OutputBudget&) = delete;
  OutputBudget& operator=(const OutputBudget&) = delete;

  class Entry;
  // Unregisters (and takes its bytes out of the total) when the last copy goes.
  using Handle = std::shared_ptr<Entry>;
  // `cut` closes the connection; it is called at most once, from any thread, and must only
  // post the close to the connection's loop.
  Handle Register(std::function<void()> cut);
  // The connection now holds `bytes` unsent; may cut connections (this one included).
  void Update(Entry& entry, size_t bytes);

  size_t limit() const { return limit_; }
  int64_t total_bytes() const { return total_.load(); }
  int64_t cuts() const { return cuts_.load(); }

 private:
  void Release(Entry* entry);
  void Enforce();

  const size_t limit_;
  std::atomic<int64_t> total_{0};
  std::atomic<int64_t> cuts_{0};
  std::mutex mu_;
  std::unordered_set<Entry*> candidates_;  // entries holding >= kMinCutBytes
  std::chrono::steady_clock::time_point last_log_{};
};

class OutputBudget::Entry {
 public:
  ~Entry();

 private:
  friend class OutputBudget;
  OutputBudget* budget_ = nullptr;
  std::function<void()> cut_;
  std::atomic<size_t> bytes_{0};
  bool cut_requested_ = false;
};

}  // namespace redge::net
