// PubSub broker.
//
// Locking. There are two kinds of mutex: the broker's PubSub::mu_ (guards the channel and
// pattern maps and the subscriber registry) and each Subscriber::mu_ (guards its queue,
// flags and its own view of its subscriptions). The only order ever used is
//   PubSub::mu_  ->  Subscriber::mu_
// Publish delivers while holding the broker lock, so every path that changes
// subscriptions (Subscribe, Unsubscribe, Close, destruction) takes the broker lock first
// and its own lock second, and changes both views in one critical section. That keeps
// the two views identical at every moment a publisher can observe them: a subscriber in
// a map is never closed or overflowed, and an overflowed subscriber is never re-added.
//
// Holding the broker lock for the whole of a Publish is also what gives per-subscriber
// ordering: publishes are serialized, so each subscriber's queue is filled in the order
// the publishes took the lock. The work under the lock is bounded (copying the message
// into each queue; nothing waits on a reader), so a slow subscriber cannot stall it.
//
// Lifetime. A Subscriber's destructor unregisters it under the broker lock, so it cannot
// be freed while a Publish is delivering to it. Wake callbacks are copied out and run
// after all locks are released, so a callback may call back into the broker.
// If the PubSub is destroyed first, it closes and detaches its remaining subscribers
// (broker_ becomes null and they turn inert); destroying the PubSub concurrently with
// calls on its subscribers is not supported.
#include "store/pubsub.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "store/glob.h"

namespace redge::store {
namespace {

size_t MessageCost(const PubSubMessage& msg) {
  return PubSub::kMessageOverhead + msg.pattern.size() + msg.channel.size() + msg.payload.size();
}

// Removes `s` from map[key], dropping the entry once nobody is subscribed so that
// ActiveChannels/NumPat only report live channels and patterns.
void EraseFromMap(std::map<std::string, std::set<Subscriber*>>& map, const std::string& key,
                  Subscriber* s) {
  auto it = map.find(key);
  if (it == map.end()) return;
  it->second.erase(s);
  if (it->second.empty()) map.erase(it);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Subscriber

Subscriber::Subscriber(PubSub* broker, size_t limit_bytes, std::function<void()> wake)
    : broker_(broker), limit_bytes_(limit_bytes), wake_(std::move(wake)) {}

Subscriber::~Subscriber() {
  PubSub* broker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    broker = broker_;
  }
  if (broker == nullptr) return;  // the broker is gone and already forgot us
  // The broker lock waits out any Publish that is delivering to us right now.
  std::lock_guard<std::mutex> broker_lock(broker->mu_);
  broker->Forget(this);
}

size_t Subscriber::Subscribe(const std::string& channel) {
  PubSub* broker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    broker = broker_;
    if (broker == nullptr) return channels_.size() + patterns_.size();
  }
  std::lock_guard<std::mutex> broker_lock(broker->mu_);
  std::lock_guard<std::mutex> lock(mu_);
  // A closed or overflowed subscriber is being disconnected: it must not start receiving
  // again behind its owner's back.
  if (!closed_ && !overflowed_ && channels_.insert(channel).second) {
    broker->AddChannel(channel, this);
  }
  return channels_.size() + patterns_.size();
}

size_t Subscriber::Unsubscribe(const std::string& channel) {
  PubSub* broker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    broker = broker_;
    if (broker == nullptr) return channels_.size() + patterns_.size();
  }
  std::lock_guard<std::mutex> broker_lock(broker->mu_);
  std::lock_guard<std::mutex> lock(mu_);
  if (channels_.erase(channel) > 0) broker->RemoveChannel(channel, this);
  return channels_.size() + patterns_.size();
}

size_t Subscriber::PSubscribe(const std::string& pattern) {
  PubSub* broker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    broker = broker_;
    if (broker == nullptr) return channels_.size() + patterns_.size();
  }
  std::lock_guard<std::mutex> broker_lock(broker->mu_);
  std::lock_guard<std::mutex> lock(mu_);
  if (!closed_ && !overflowed_ && patterns_.insert(pattern).second) {
    broker->AddPattern(pattern, this);
  }
  return channels_.size() + patterns_.size();
}

size_t Subscriber::PUnsubscribe(const std::string& pattern) {
  PubSub* broker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    broker = broker_;
    if (broker == nullptr) return channels_.size() + patterns_.size();
  }
  std::lock_guard<std::mutex> broker_lock(broker->mu_);
  std::lock_guard<std::mutex> lock(mu_);
  if (patterns_.erase(pattern) > 0) broker->RemovePattern(pattern, this);
  return channels_.size() + patterns_.size();
}

std::vector<std::string> Subscriber::Channels() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {channels_.begin(), channels_.end()};
}

std::vector<std::string> Subscriber::Patterns() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {patterns_.begin(), patterns_.end()};
}

size_t Subscriber::SubscriptionCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return channels_.size() + patterns_.size();
}

std::vector<PubSubMessage> Subscriber::Drain() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PubSubMessage> out;
  out.reserve(queue_.size());
  for (auto& msg : queue_) out.push_back(std::move(msg));
  queue_.clear();
  queued_bytes_ = 0;
  return out;
}

std::optional<PubSubMessage> Subscriber::Pop(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto ready = [this] { return !queue_.empty() || overflowed_ || closed_; };
  // wait_for adds the timeout to now(); a "forever" value such as milliseconds::max()
  // would overflow the clock, so very long timeouts wait without a deadline.
  constexpr std::chrono::hours kForever(24 * 365);
  if (timeout >= kForever) {
    cv_.wait(lock, ready);
  } else {
    cv_.wait_for(lock, timeout, ready);
  }
  // Overflow and close both drop the queue, so an empty queue covers all three exits.
  if (queue_.empty()) return std::nullopt;
  PubSubMessage msg = std::move(queue_.front());
  queue_.pop_front();
  queued_bytes_ -= MessageCost(msg);
  return msg;
}

bool Subscriber::Overflowed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return overflowed_;
}

size_t Subscriber::QueuedBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_bytes_;
}

void Subscriber::Close() {
  PubSub* broker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    broker = broker_;
  }
  // Without a broker there is nothing to unsubscribe from; ~PubSub already closed us.
  if (broker == nullptr) return;
  std::lock_guard<std::mutex> broker_lock(broker->mu_);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& channel : channels_) broker->RemoveChannel(channel, this);
  for (const auto& pattern : patterns_) broker->RemovePattern(pattern, this);
  channels_.clear();
  patterns_.clear();
  // A closed subscriber receives nothing more, including what was already queued: its
  // owner is going away, and Pop must report the close rather than hand out stale data.
  queue_.clear();
  queued_bytes_ = 0;
  closed_ = true;
  cv_.notify_all();
}

// Called by Publish with the broker lock held.
bool Subscriber::Enqueue(PubSubMessage msg, std::function<void()>* wake_out) {
  std::lock_guard<std::mutex> lock(mu_);
  // Unreachable while the invariants hold (such subscribers are not in the maps), but a
  // closed or overflowed subscriber must never grow its queue again.
  if (closed_ || overflowed_) return false;
  const size_t cost = MessageCost(msg);
  // Compared without adding first so a huge message cannot wrap the sum.
  if (cost > limit_bytes_ || queued_bytes_ > limit_bytes_ - cost) {
    // Over the limit: disconnect rather than wait for the reader. The queue goes too,
    // since its owner will drop the connection and the memory is what the limit protects.
    overflowed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    cv_.notify_all();
    *wake_out = wake_;
    return false;
  }
  queue_.push_back(std::move(msg));
  queued_bytes_ += cost;
  cv_.notify_one();
  *wake_out = wake_;
  return true;
}

// ---------------------------------------------------------------------------------------
// PubSub

PubSub::~PubSub() {
  std::lock_guard<std::mutex> broker_lock(mu_);
  // Subscribers may be shared_ptrs that outlive us. Close and detach them so their later
  // calls (or destructors) never touch freed memory.
  for (Subscriber* s : subscribers_) {
    std::lock_guard<std::mutex> lock(s->mu_);
    s->broker_ = nullptr;
    s->channels_.clear();
    s->patterns_.clear();
    s->queue_.clear();
    s->queued_bytes_ = 0;
    s->closed_ = true;
    s->cv_.notify_all();
  }
  subscribers_.clear();
  channels_.clear();
  patterns_.clear();
}

std::shared_ptr<Subscriber> PubSub::NewSubscriber(size_t limit_bytes, std::function<void()> wake) {
  // The constructor is private (only the broker creates subscribers), which rules out
  // make_shared.
  std::shared_ptr<Subscriber> s(new Subscriber(this, limit_bytes, std::move(wake)));
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.insert(s.get());
  return s;
}

int64_t PubSub::NumReceivers(const std::string& channel) const {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t n = 0;
  if (auto it = channels_.find(channel); it != channels_.end()) {
    n += static_cast<int64_t>(it->second.size());
  }
  for (const auto& [pattern, subs] : patterns_) {
    if (GlobMatch(pattern, channel)) n += static_cast<int64_t>(subs.size());
  }
  return n;
}

int64_t PubSub::Publish(const std::string& channel, const std::string& payload) {
  // Wake callbacks run after the lock is released. A subscriber reached through its
  // channel and several patterns gets one wake per publish, not one per copy.
  std::vector<std::pair<Subscriber*, std::function<void()>>> wakes;
  int64_t deliveries = 0;
  bool pattern_matched = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++published_;

    std::vector<Subscriber*> overflowed;
    auto deliver = [&](Subscriber* s, const std::string* pattern) {
      PubSubMessage msg{pattern != nullptr ? *pattern : std::string(), channel, payload};
      std::function<void()> wake;
      // Enqueue also refuses a subscriber that overflowed earlier in this publish (it is
      // still in the maps until the loop below), so it is pushed here more than once
      // only in that case; duplicates are removed before use.
      if (s->Enqueue(std::move(msg), &wake)) {
        ++deliveries;
      } else {
        overflowed.push_back(s);
      }
      if (wake) wakes.emplace_back(s, std::move(wake));
    };

    // Channel subscribers first, then pattern subscribers, as Redis does.
    if (auto it = channels_.find(channel); it != channels_.end()) {
      for (Subscriber* s : it->second) deliver(s, nullptr);
    }
    for (const auto& [pattern, subs] : patterns_) {
      if (!GlobMatch(pattern, channel)) continue;
      pattern_matched = true;
      for (Subscriber* s : subs) deliver(s, &pattern);
    }

    // The maps were being iterated above, so overflowed subscribers are unsubscribed
    // only now. Both views change under both locks, like every other subscription change.
    std::sort(overflowed.begin(), overflowed.end(), std::less<Subscriber*>());
    overflowed.erase(std::unique(overflowed.begin(), overflowed.end()), overflowed.end());
    for (Subscriber* s : overflowed) {
      std::lock_guard<std::mutex> sub_lock(s->mu_);
      for (const auto& c : s->channels_) RemoveChannel(c, s);
      for (const auto& p : s->patterns_) RemovePattern(p, s);
      s->channels_.clear();
      s->patterns_.clear();
      ++overflowed_;
    }
  }
  // Only a pattern delivery can reach a subscriber twice (a channel's set holds each
  // subscriber once), so the plain fan-out case skips the sort.
  if (pattern_matched && wakes.size() > 1) {
    auto by_subscriber = [](const auto& a, const auto& b) {
      return std::less<Subscriber*>()(a.first, b.first);
    };
    auto same_subscriber = [](const auto& a, const auto& b) { return a.first == b.first; };
    std::stable_sort(wakes.begin(), wakes.end(), by_subscriber);
    wakes.erase(std::unique(wakes.begin(), wakes.end(), same_subscriber), wakes.end());
  }
  for (auto& entry : wakes) entry.second();
  return deliveries;
}

std::vector<std::string> PubSub::ActiveChannels(std::string_view pattern) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  // Entries are erased when their last subscriber leaves, so every key is active.
  for (const auto& [channel, subs] : channels_) {
    if (pattern.empty() || GlobMatch(pattern, channel)) out.push_back(channel);
  }
  return out;
}

int64_t PubSub::NumSub(const std::string& channel) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : static_cast<int64_t>(it->second.size());
}

int64_t PubSub::NumPat() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(patterns_.size());
}

PubSub::Stats PubSub::GetStats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats stats;
  stats.channels = static_cast<int64_t>(channels_.size());
  stats.patterns = static_cast<int64_t>(patterns_.size());
  // Live Subscriber objects, including closed or overflowed ones not yet destroyed.
  stats.subscribers = static_cast<int64_t>(subscribers_.size());
  stats.messages_published = published_;
  stats.subscribers_overflowed = overflowed_;
  return stats;
}

// The helpers below require mu_ to be held by the caller (and, when called from a
// Subscriber, that subscriber's mu_ as well, taken after mu_).

void PubSub::AddChannel(const std::string& channel, Subscriber* s) { channels_[channel].insert(s); }

void PubSub::RemoveChannel(const std::string& channel, Subscriber* s) {
  EraseFromMap(channels_, channel, s);
}

void PubSub::AddPattern(const std::string& pattern, Subscriber* s) { patterns_[pattern].insert(s); }

void PubSub::RemovePattern(const std::string& pattern, Subscriber* s) {
  EraseFromMap(patterns_, pattern, s);
}

void PubSub::Forget(Subscriber* s) {
  std::lock_guard<std::mutex> lock(s->mu_);
  for (const auto& channel : s->channels_) RemoveChannel(channel, s);
  for (const auto& pattern : s->patterns_) RemovePattern(pattern, s);
  s->channels_.clear();
  s->patterns_.clear();
  subscribers_.erase(s);
}

}  // namespace redge::store
