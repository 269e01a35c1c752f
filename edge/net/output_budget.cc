#include "edge/net/output_budget.h"

#include <algorithm>
#include <string>
#include <vector>

#include "edge/log.h"

namespace redge::net {

OutputBudget::OutputBudget(size_t limit_bytes) : limit_(limit_bytes) {}

OutputBudget::Handle OutputBudget::Register(std::function<void()> cut) {
  auto entry = std::make_shared<Entry>();
  entry->budget_ = this;
  entry->cut_ = std::move(cut);
  return entry;
}

OutputBudget::Entry::~Entry() {
  if (budget_) budget_->Release(this);
}

void OutputBudget::Release(Entry* entry) {
  std::lock_guard lock(mu_);
  total_ -= static_cast<int64_t>(entry->bytes_.exchange(0));
  candidates_.erase(entry);
}

void OutputBudget::Update(Entry& entry, size_t bytes) {
  const size_t old = entry.bytes_.exchange(bytes);
  if (old == bytes) return;
  const int64_t total = total_ += static_cast<int64_t>(bytes) - static_cast<int64_t>(old);
  const bool candidate = bytes >= kMinCutBytes;
  if (candidate != (old >= kMinCutBytes)) {
    std::lock_guard lock(mu_);
    if (candidate) {
      candidates_.insert(&entry);
    } else {
      candidates_.erase(&entry);
    }
  }
  if (limit_ != 0 && total > static_cast<int64_t>(limit_)) Enforce();
}

void OutputBudget::Enforce() {
  std::vector<std::function<void()>> cuts;
  int64_t freed = 0;
  {
    // One enforcer at a time; a loop that finds it busy goes on (the busy one cuts).
    std::unique_lock lock(mu_, std::try_to_lock);
    if (!lock) return;
    int64_t total = total_.load();
    const int64_t target = static_cast<int64_t>(limit_ / 10 * 9);
    if (total <= static_cast<int64_t>(limit_)) return;
    std::vector<std::pair<size_t, Entry*>> by_size;
    by_size.reserve(candidates_.size());
    for (Entry* e : candidates_) {
      if (!e->cut_requested_) by_size.emplace_back(e->bytes_.load(), e);
    }
    std::sort(by_size.begin(), by_size.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    for (auto& [bytes, e] : by_size) {
      if (total <= target) break;
      e->cut_requested_ = true;
      cuts.push_back(std::move(e->cut_));
      total -= static_cast<int64_t>(bytes);
      freed += static_cast<int64_t>(bytes);
    }
    cuts_ += static_cast<int64_t>(cuts.size());
    auto now = std::chrono::steady_clock::now();
    if (!cuts.empty() && now - last_log_ >= std::chrono::seconds(10)) {
      last_log_ = now;
      Log(spdlog::level::warn,
          "output buffer budget exceeded: closing the connections that read slowest "
          "(logged at most every 10 s)",
          {{"limit_bytes", std::to_string(limit_)},
           {"total_bytes", std::to_string(total_.load())},
           {"closing", std::to_string(cuts.size())},
           {"their_bytes", std::to_string(freed)}});
    }
  }
  for (auto& cut : cuts) {
    if (cut) cut();
  }
}

}  // namespace redge::net
