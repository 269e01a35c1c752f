#include "edge/auth_guard.h"

#include <algorithm>
#include <vector>

#include "edge/log.h"

namespace redge {

bool SecretEquals(std::string_view given, std::string_view expected) {
  // Every byte of both is looked at, whatever differs first; the volatile accumulator
  // keeps the compiler from turning the loop into an early-exit memcmp.
  const size_t n = std::max(given.size(), expected.size());
  volatile unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char a = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    const unsigned char b = i < expected.size() ? static_cast<unsigned char>(expected[i]) : 0;
    diff = diff | (a ^ b);
  }
  return diff == 0;
}

std::string PeerAddress(std::string_view peer) {
  if (!peer.empty() && peer.front() == '[') {
    size_t close = peer.find(']');
    if (close != std::string_view::npos) return std::string(peer.substr(1, close - 1));
  }
  size_t colon = peer.rfind(':');
  if (colon == std::string_view::npos) return std::string(peer);
  return std::string(peer.substr(0, colon));
}

AuthThrottle::AuthThrottle(std::string protocol) : AuthThrottle(std::move(protocol), Options{}) {}

AuthThrottle::AuthThrottle(std::string protocol, Options options)
    : protocol_(std::move(protocol)), options_(options) {}

void AuthThrottle::Missing(const std::string& peer, std::string_view reason,
                           Clock::time_point now) {
  Record(peer, reason, now, /*counts=*/false);
}

std::chrono::milliseconds AuthThrottle::Failed(const std::string& peer, std::string_view reason,
                                               Clock::time_point now) {
  return Record(peer, reason, now, /*counts=*/true);
}

std::chrono::milliseconds AuthThrottle::Record(const std::string& peer, std::string_view reason,
                                               Clock::time_point now, bool counts) {
  const std::string address = PeerAddress(peer);
  std::chrono::milliseconds hold{0};
  bool log = false;
  int failures = 0, unlogged = 0;
  {
    std::lock_guard lock(mu_);
    if (entries_.size() >= options_.max_addresses && !entries_.count(address)) Prune(now);
    Entry& e = entries_[address];
    if (now - e.last_failure > options_.forget_after) {
      e.failures = 0;
      e.next_release = now;
    }
    e.last_failure = now;
    if (counts) {
      failures_total_++;
      e.failures++;
    }
    if (counts && e.failures > options_.free_failures) {
      // The interval doubles with each failure past the free ones, up to max_delay.
      const int doublings = std::min(e.failures - options_.free_failures - 1, 20);
      auto interval = std::min<std::chrono::milliseconds>(
          options_.first_delay * (int64_t{1} << doublings), options_.max_delay);
      Clock::time_point release = std::max(now, e.next_release) + interval;
      if (release - now > options_.max_wait) release = now + options_.max_wait;
      e.next_release = release;
      hold = std::chrono::ceil<std::chrono::milliseconds>(release - now);
    }
    e.unlogged++;
    if (!e.logged || now - e.last_logged >= options_.log_every) {
      log = true;
      e.logged = true;
      e.last_logged = now;
      unlogged = e.unlogged;
      e.unlogged = 0;
    }
    failures = e.failures;
  }
  if (log) {
    Log(spdlog::level::warn, "authentication failed",
        {{"protocol", protocol_},
         {"peer", peer},
         {"reason", std::string(reason)},
         {"failures", std::to_string(failures)},
         {"failures_since_last_line", std::to_string(unlogged)},
         {"reply_held_ms", std::to_string(hold.count())}});
  }
  return hold;
}

int64_t AuthThrottle::failures_total() const {
  std::lock_guard lock(mu_);
  return failures_total_;
}

void AuthThrottle::Prune(Clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now - it->second.last_failure > options_.forget_after) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  if (entries_.size() < options_.max_addresses) return;
  // Still full of recent failures: forget the half that failed longest ago.
  std::vector<std::pair<Clock::time_point, std::string>> by_age;
  by_age.reserve(entries_.size());
  for (auto& [address, e] : entries_) by_age.emplace_back(e.last_failure, address);
  std::sort(by_age.begin(), by_age.end());
  for (size_t i = 0; i < by_age.size() / 2; ++i) entries_.erase(by_age[i].second);
}

}  // namespace redge
