#include "edge/resp/slowlog.h"

#include <chrono>

namespace redge::resp {
namespace {
constexpr size_t kMaxArgs = 32;       // SLOWLOG_ENTRY_MAX_ARGC
constexpr size_t kMaxArgBytes = 128;  // SLOWLOG_ENTRY_MAX_STRING
}  // namespace

void SlowLog::Record(const std::vector<std::string>& argv, int64_t duration_us,
                     const std::string& peer, const std::string& name) {
  const int64_t threshold = threshold_us_.load(std::memory_order_relaxed);
  if (threshold < 0 || duration_us < threshold) return;
  SlowLogEntry e;
  e.duration_us = duration_us;
  e.unix_time = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  e.peer = peer;
  e.name = name;
  // As Redis: the last kept slot says how many arguments were left out.
  const size_t n = std::min(argv.size(), kMaxArgs);
  for (size_t i = 0; i < n; ++i) {
    if (n < argv.size() && i == n - 1) {
      e.argv.push_back("... (" + std::to_string(argv.size() - n + 1) + " more arguments)");
      break;
    }
    const std::string& a = argv[i];
    if (a.size() > kMaxArgBytes) {
      e.argv.push_back(a.substr(0, kMaxArgBytes) + "... (" +
                       std::to_string(a.size() - kMaxArgBytes) + " more bytes)");
    } else {
      e.argv.push_back(a);
    }
  }
  std::lock_guard lock(mu_);
  e.id = next_id_++;
  entries_.push_front(std::move(e));
  while (entries_.size() > max_len_) entries_.pop_back();
}

std::vector<SlowLogEntry> SlowLog::Get(int64_t count) const {
  std::lock_guard lock(mu_);
  size_t n = count < 0 ? entries_.size() : std::min<size_t>(entries_.size(), count);
  return std::vector<SlowLogEntry>(entries_.begin(), entries_.begin() + n);
}

size_t SlowLog::Len() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void SlowLog::Reset() {
  std::lock_guard lock(mu_);
  entries_.clear();
}

void SlowLog::set_max_len(int64_t v) {
  std::lock_guard lock(mu_);
  max_len_ = v < 0 ? 0 : static_cast<size_t>(v);
  while (entries_.size() > max_len_) entries_.pop_back();
}

}  // namespace redge::resp
