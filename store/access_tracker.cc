#include "store/access_tracker.h"

#include <algorithm>
#include <random>
#include <vector>

namespace redge::store {
namespace {

constexpr int kLfuInitVal = 5;  // Redis's LFU_INIT_VAL: the counter of a new key

uint16_t MinutesClock(int64_t now_ms) {
  return static_cast<uint16_t>((now_ms / 1000 / 60) & 65535);
}

// Redis's LFULogIncr: the higher the counter, the less likely an access increments it.
uint8_t LogIncrement(uint8_t counter, int64_t log_factor) {
  if (counter == 255) return counter;
  thread_local std::mt19937 rng{std::random_device{}()};
  const double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  double base = static_cast<double>(counter) - kLfuInitVal;
  if (base < 0) base = 0;
  const double p = 1.0 / (base * static_cast<double>(log_factor) + 1);
  return r < p ? static_cast<uint8_t>(counter + 1) : counter;
}

}  // namespace

AccessTracker::AccessTracker(size_t capacity, int64_t start_ms)
    : capacity_(std::max<size_t>(capacity, 1)), start_ms_(start_ms) {}

std::string AccessTracker::Id(int db, std::string_view key) {
  std::string id(1, static_cast<char>(db));
  id.append(key);
  return id;
}

int AccessTracker::Decayed(const Entry& e, int64_t now_ms, const LfuParams& lfu) {
  const uint16_t now = MinutesClock(now_ms);
  const int64_t elapsed =
      now >= e.decrement_min ? now - e.decrement_min : 65535 - e.decrement_min + now;
  const int64_t periods = lfu.decay_minutes > 0 ? elapsed / lfu.decay_minutes : 0;
  return periods >= e.counter ? 0 : static_cast<int>(e.counter - periods);
}

void AccessTracker::Touch(int db, std::string_view key, int64_t now_ms, const LfuParams& lfu) {
  std::string id = Id(db, key);
  auto found = index_.find(id);
  if (found != index_.end()) {
    auto it = found->second;
    it->last_ms = std::max(it->last_ms, now_ms);
    if (lfu.enabled) {
      it->counter = LogIncrement(static_cast<uint8_t>(Decayed(*it, now_ms, lfu)), lfu.log_factor);
      it->decrement_min = MinutesClock(now_ms);
    }
    order_.splice(order_.begin(), order_, it);
    return;
  }
  if (index_.size() >= capacity_) Evict(std::prev(order_.end()));
  order_.push_front(Entry{std::move(id), now_ms, kLfuInitVal, MinutesClock(now_ms)});
  index_.emplace(order_.front().id, order_.begin());
}

void AccessTracker::Set(int db, std::string_view key, int64_t last_ms, int counter,
                        int64_t now_ms) {
  Touch(db, key, now_ms, LfuParams{});
  auto& e = *index_.find(Id(db, key))->second;
  e.last_ms = last_ms;
  if (counter >= 0) {
    e.counter = static_cast<uint8_t>(counter);
    e.decrement_min = MinutesClock(now_ms);
  }
}

void AccessTracker::Evict(std::list<Entry>::iterator it) {
  evicted_watermark_ms_ = std::max(evicted_watermark_ms_, it->last_ms);
  index_.erase(it->id);
  order_.erase(it);
}

void AccessTracker::SwapDbs(int a, int b) {
  // The ids change, so the index is rebuilt for the entries that move (O(tracked keys),
  // like the rest of SWAPDB's bookkeeping).
  std::vector<std::list<Entry>::iterator> moved;
  for (auto it = order_.begin(); it != order_.end(); ++it) {
    const auto db = static_cast<uint8_t>(it->id[0]);
    if (db == static_cast<uint8_t>(a) || db == static_cast<uint8_t>(b)) moved.push_back(it);
  }
  for (auto it : moved) index_.erase(it->id);
  for (auto it : moved) {
    it->id[0] =
        static_cast<char>(static_cast<uint8_t>(it->id[0]) == static_cast<uint8_t>(a) ? b : a);
    index_.emplace(it->id, it);
  }
}

void AccessTracker::ForgetDbs(int first, int last) {
  for (auto it = order_.begin(); it != order_.end();) {
    const int db = static_cast<uint8_t>(it->id[0]);
    if (db < first || db > last) {
      ++it;
      continue;
    }
    index_.erase(it->id);
    it = order_.erase(it);
  }
}

int64_t AccessTracker::IdleMs(int db, std::string_view key, int64_t now_ms) const {
  auto found = index_.find(Id(db, key));
  if (found != index_.end()) return std::max<int64_t>(0, now_ms - found->second->last_ms);
  return std::max<int64_t>(0, now_ms - std::max(start_ms_, evicted_watermark_ms_));
}

int AccessTracker::Frequency(int db, std::string_view key, int64_t now_ms,
                             const LfuParams& lfu) const {
  auto found = index_.find(Id(db, key));
  if (found == index_.end()) return 0;
  return Decayed(*found->second, now_ms, lfu);
}

}  // namespace redge::store
