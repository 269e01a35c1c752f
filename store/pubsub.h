// PubSub: in-memory channels and glob patterns with Redis's delivery rules.
//
// What it promises:
//  - Publish(channel, msg) delivers to every subscriber of `channel` and to every
//    subscriber with a pattern matching it (one delivery per matching pattern, as Redis
//    does), and returns that number of deliveries (Redis's PUBLISH reply).
//  - Messages to one subscriber arrive in publish order.
//  - Each subscriber has a bounded output queue (`limit_bytes`, counting payload bytes
//    plus a fixed per-message overhead). A publish that would push a subscriber over its
//    limit does not block and does not deliver: the subscriber is marked overflowed,
//    all its subscriptions are removed, its queue is dropped, and its wake callback is
//    called so its owner disconnects it (Redis's client-output-buffer-limit pubsub
//    policy). A slow subscriber never stalls a publisher.
//  - Removing a subscriber (Subscriber::Close or its destruction) removes every
//    subscription it holds; channels and patterns with no subscribers disappear from
//    Channels()/NumPat().
//
// Thread-safety: all methods of PubSub and Subscriber are safe to call concurrently.
// The wake callback is called from the publishing thread without PubSub's locks held;
// it must be cheap (post to an event loop, notify a condition variable).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace redge::store {

struct PubSubMessage {
  std::string pattern;  // empty for a channel subscription
  std::string channel;
  std::string payload;
};

class PubSub;

class Subscriber {
 public:
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Subscribing twice to the same channel or pattern is a no-op. Each returns the
  // subscriber's total count of channels + patterns afterwards (Redis's reply value).
  size_t Subscribe(const std::string& channel);
  size_t Unsubscribe(const std::string& channel);
  size_t PSubscribe(const std::string& pattern);
  size_t PUnsubscribe(const std::string& pattern);
  std::vector<std::string> Channels() const;  // sorted
  std::vector<std::string> Patterns() const;  // sorted
  size_t SubscriptionCount() const;

  // Takes every queued message (non-blocking).
  std::vector<PubSubMessage> Drain();
  // Thread form: waits until a message is queued, the subscriber overflowed or was
  // closed, or `timeout` passes. Returns nullopt on timeout, overflow or close.
  std::optional<PubSubMessage> Pop(std::chrono::milliseconds timeout);

  // True once the subscriber went over its limit; it then receives nothing more.
  bool Overflowed() const;
  size_t QueuedBytes() const;
  // Drops all subscriptions and wakes any Pop.
  void Close();

 private:
  friend class PubSub;
  Subscriber(PubSub* broker, size_t limit_bytes, std::function<void()> wake);
  // Returns false (and marks overflow) when the message does not fit.
  bool Enqueue(PubSubMessage msg, std::function<void()>* wake_out);

  PubSub* broker_;
  const size_t limit_bytes_;
  std::function<void()> wake_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PubSubMessage> queue_;
  size_t queued_bytes_ = 0;
  bool overflowed_ = false;
  bool closed_ = false;
  std::set<std::string> channels_;
  std::set<std::string> patterns_;
};

class PubSub {
 public:
  // Bytes charged per queued message on top of its channel, pattern and payload.
  static constexpr size_t kMessageOverhead = 64;
  // Redis's default client-output-buffer-limit for pubsub clients (hard limit 32 MB).
  static constexpr size_t kDefaultLimitBytes = 32 * 1024 * 1024;

  PubSub() = default;
  ~PubSub();
  PubSub(const PubSub&) = delete;
  PubSub& operator=(const PubSub&) = delete;

  // `wake` is called after a message is queued for this subscriber, or when it
  // overflows; may be empty for thread-form subscribers that use Pop().
  std::shared_ptr<Subscriber> NewSubscriber(size_t limit_bytes = kDefaultLimitBytes,
                                            std::function<void()> wake = {});

  // Returns the number of deliveries (subscribers of the channel + matching patterns).
  int64_t Publish(const std::string& channel, const std::string& payload);
  // What Publish(channel, ...) would return now, without delivering anything.
  int64_t NumReceivers(const std::string& channel) const;

  // PUBSUB CHANNELS [pattern]: active channels (>= 1 subscriber), sorted; an empty
  // pattern means all.
  std::vector<std::string> ActiveChannels(std::string_view pattern = {}) const;
  // PUBSUB NUMSUB: subscriber count of each channel (patterns not counted).
  int64_t NumSub(const std::string& channel) const;
  // PUBSUB NUMPAT: number of distinct patterns with >= 1 subscriber.
  int64_t NumPat() const;

  struct Stats {
    int64_t channels = 0;
    int64_t patterns = 0;
    int64_t subscribers = 0;
    int64_t messages_published = 0;
    int64_t subscribers_overflowed = 0;
  };
  Stats GetStats() const;

 private:
  friend class Subscriber;
  void AddChannel(const std::string& channel, Subscriber* s);
  void RemoveChannel(const std::string& channel, Subscriber* s);
  void AddPattern(const std::string& pattern, Subscriber* s);
  void RemovePattern(const std::string& pattern, Subscriber* s);
  void Forget(Subscriber* s);

  mutable std::mutex mu_;  // guards the maps below; never held while calling wake
  std::map<std::string, std::set<Subscriber*>> channels_;
  std::map<std::string, std::set<Subscriber*>> patterns_;
  std::set<Subscriber*> subscribers_;
  int64_t published_ = 0;
  int64_t overflowed_ = 0;
};

}  // namespace redge::store
