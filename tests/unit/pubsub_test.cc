// Tests for store/pubsub: Redis delivery counts, ordering, PUBSUB introspection,
// the overflow-disconnect policy, blocking Pop wake-ups and concurrent use.
#include "store/pubsub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace redge::store {
namespace {

using std::chrono::milliseconds;
using Strings = std::vector<std::string>;

size_t Cost(const std::string& pattern, const std::string& channel, const std::string& payload) {
  return PubSub::kMessageOverhead + pattern.size() + channel.size() + payload.size();
}

// prefix + number, built by appending: GCC 12 reports a false -Wrestrict for
// `"literal" + std::to_string(n)` (GCC bug 105329).
std::string Numbered(const char* prefix, uint64_t n) {
  std::string out = prefix;
  out += std::to_string(n);
  return out;
}

Strings Payloads(const std::vector<PubSubMessage>& msgs) {
  Strings out;
  for (const auto& m : msgs) out.push_back(m.payload);
  return out;
}

TEST(PubSubTest, ChannelDeliveryCountsReceivers) {
  PubSub ps;
  auto a = ps.NewSubscriber();
  auto b = ps.NewSubscriber();
  auto other = ps.NewSubscriber();
  a->Subscribe("news");
  b->Subscribe("news");
  other->Subscribe("sport");

  EXPECT_EQ(ps.Publish("news", "hello"), 2);
  EXPECT_EQ(ps.Publish("nobody", "x"), 0);

  for (auto* s : {a.get(), b.get()}) {
    auto msgs = s->Drain();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].pattern, "");
    EXPECT_EQ(msgs[0].channel, "news");
    EXPECT_EQ(msgs[0].payload, "hello");
  }
  EXPECT_TRUE(other->Drain().empty());
  EXPECT_EQ(ps.GetStats().messages_published, 2);
}

// Redis delivers one message per matching pattern, plus one for a channel subscription,
// even to the same client, and PUBLISH counts each of them.
TEST(PubSubTest, OneDeliveryPerMatchingPattern) {
  PubSub ps;
  auto s = ps.NewSubscriber();
  s->Subscribe("news.tech");
  s->PSubscribe("news.*");
  s->PSubscribe("*.tech");
  s->PSubscribe("sport.*");  // does not match
  auto t = ps.NewSubscriber();
  t->PSubscribe("news.*");  // same pattern, another subscriber

  EXPECT_EQ(ps.Publish("news.tech", "p"), 4);

  auto msgs = s->Drain();
  ASSERT_EQ(msgs.size(), 3u);
  // The channel subscription is served first, as in Redis.
  EXPECT_EQ(msgs[0].pattern, "");
  std::multiset<std::string> patterns;
  for (const auto& m : msgs) {
    EXPECT_EQ(m.channel, "news.tech");
    EXPECT_EQ(m.payload, "p");
    patterns.insert(m.pattern);
  }
  EXPECT_EQ(patterns, (std::multiset<std::string>{"", "*.tech", "news.*"}));

  auto other = t->Drain();
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].pattern, "news.*");

  EXPECT_EQ(ps.Publish("news.art", "q"), 2);  // news.* for s and t
  EXPECT_EQ(ps.Publish("weather", "r"), 0);
}

TEST(PubSubTest, MessagesArriveInPublishOrder) {
  PubSub ps;
  auto s = ps.NewSubscriber();
  s->Subscribe("a");
  s->PSubscribe("b*");
  Strings want;
  for (int i = 0; i < 500; ++i) {
    const std::string channel = i % 2 == 0 ? "a" : "bee";
    ps.Publish(channel, std::to_string(i));
    want.push_back(std::to_string(i));
  }
  EXPECT_EQ(Payloads(s->Drain()), want);
  EXPECT_EQ(s->QueuedBytes(), 0u);
}

TEST(PubSubTest, SubscribeRepliesCountChannelsAndPatterns) {
  PubSub ps;
  auto s = ps.NewSubscriber();
  EXPECT_EQ(s->Subscribe("a"), 1u);
  EXPECT_EQ(s->Subscribe("a"), 1u);   // twice is a no-op
  EXPECT_EQ(s->PSubscribe("a"), 2u);  // a pattern is counted separately from a channel
  EXPECT_EQ(s->PSubscribe("a"), 2u);
  EXPECT_EQ(s->Subscribe("c"), 3u);
  EXPECT_EQ(s->Subscribe("b"), 4u);
  EXPECT_EQ(s->Channels(), (Strings{"a", "b", "c"}));
  EXPECT_EQ(s->Patterns(), (Strings{"a"}));
  EXPECT_EQ(s->SubscriptionCount(), 4u);

  EXPECT_EQ(s->Unsubscribe("zzz"), 4u);  // not subscribed: no-op
  EXPECT_EQ(s->PUnsubscribe("b"), 4u);
  EXPECT_EQ(s->Unsubscribe("a"), 3u);
  EXPECT_EQ(s->PUnsubscribe("a"), 2u);
  EXPECT_EQ(s->Channels(), (Strings{"b", "c"}));
  EXPECT_TRUE(s->Patterns().empty());
  EXPECT_EQ(ps.NumPat(), 0);
}

TEST(PubSubTest, IntrospectionNumSubNumPatActiveChannels) {
  PubSub ps;
  auto a = ps.NewSubscriber();
  auto b = ps.NewSubscriber();
  a->Subscribe("news.tech");
  a->Subscribe("news.art");
  b->Subscribe("news.tech");
  b->Subscribe("sport");
  a->PSubscribe("n*");
  b->PSubscribe("n*");  // NUMPAT counts distinct patterns
  b->PSubscribe("s?ort");

  EXPECT_EQ(ps.NumSub("news.tech"), 2);
  EXPECT_EQ(ps.NumSub("news.art"), 1);
  EXPECT_EQ(ps.NumSub("nothing"), 0);
  EXPECT_EQ(ps.NumSub("n*"), 0);  // patterns are not channels
  EXPECT_EQ(ps.NumPat(), 2);
  EXPECT_EQ(ps.ActiveChannels(), (Strings{"news.art", "news.tech", "sport"}));
  EXPECT_EQ(ps.ActiveChannels("news.*"), (Strings{"news.art", "news.tech"}));
  EXPECT_EQ(ps.ActiveChannels("*t"), (Strings{"news.art", "sport"}));
  EXPECT_TRUE(ps.ActiveChannels("x*").empty());

  auto stats = ps.GetStats();
  EXPECT_EQ(stats.channels, 3);
  EXPECT_EQ(stats.patterns, 2);
  EXPECT_EQ(stats.subscribers, 2);
}

TEST(PubSubTest, UnsubscribeRemovesEmptyChannelsAndPatterns) {
  PubSub ps;
  auto a = ps.NewSubscriber();
  auto b = ps.NewSubscriber();
  a->Subscribe("x");
  b->Subscribe("x");
  a->PSubscribe("p*");
  b->PSubscribe("p*");

  a->Unsubscribe("x");
  EXPECT_EQ(ps.ActiveChannels(), (Strings{"x"}));  // b still listens
  EXPECT_EQ(ps.NumSub("x"), 1);
  b->Unsubscribe("x");
  EXPECT_TRUE(ps.ActiveChannels().empty());
  EXPECT_EQ(ps.NumSub("x"), 0);
  EXPECT_EQ(ps.Publish("x", "m"), 0);

  a->PUnsubscribe("p*");
  EXPECT_EQ(ps.NumPat(), 1);
  b->PUnsubscribe("p*");
  EXPECT_EQ(ps.NumPat(), 0);
  EXPECT_EQ(ps.GetStats().channels, 0);
  EXPECT_EQ(ps.GetStats().patterns, 0);
}

TEST(PubSubTest, CloseRemovesSubscriptionsAndDropsQueue) {
  PubSub ps;
  auto s = ps.NewSubscriber();
  auto keep = ps.NewSubscriber();
  s->Subscribe("c");
  s->PSubscribe("c*");
  keep->Subscribe("c");
  ps.Publish("c", "queued");
  EXPECT_GT(s->QueuedBytes(), 0u);

  s->Close();
  EXPECT_EQ(s->SubscriptionCount(), 0u);
  EXPECT_EQ(s->QueuedBytes(), 0u);
  EXPECT_TRUE(s->Drain().empty());
  EXPECT_EQ(ps.NumSub("c"), 1);
  EXPECT_EQ(ps.NumPat(), 0);
  EXPECT_EQ(ps.Publish("c", "after"), 1);
  EXPECT_TRUE(s->Drain().empty());
  // A closed subscriber cannot come back to life.
  EXPECT_EQ(s->Subscribe("c"), 0u);
  EXPECT_EQ(s->PSubscribe("*"), 0u);
  EXPECT_EQ(ps.NumSub("c"), 1);
  EXPECT_FALSE(s->Pop(milliseconds(0)).has_value());
  s->Close();  // idempotent
}

TEST(PubSubTest, DestroyingSubscriberUnregistersIt) {
  PubSub ps;
  auto s = ps.NewSubscriber();
  s->Subscribe("c");
  s->PSubscribe("*");
  EXPECT_EQ(ps.GetStats().subscribers, 1);
  EXPECT_EQ(ps.Publish("c", "m"), 2);
  s.reset();
  EXPECT_EQ(ps.NumSub("c"), 0);
  EXPECT_EQ(ps.NumPat(), 0);
  EXPECT_TRUE(ps.ActiveChannels().empty());
  EXPECT_EQ(ps.GetStats().subscribers, 0);
  EXPECT_EQ(ps.Publish("c", "m"), 0);
}

TEST(PubSubTest, SubscriberOutlivingBrokerIsInert) {
  std::shared_ptr<Subscriber> s;
  {
    PubSub ps;
    s = ps.NewSubscriber();
    s->Subscribe("c");
    ps.Publish("c", "m");
  }
  EXPECT_EQ(s->SubscriptionCount(), 0u);
  EXPECT_EQ(s->Subscribe("d"), 0u);
  EXPECT_FALSE(s->Pop(milliseconds(0)).has_value());
  s->Close();
  s.reset();  // must not touch the destroyed broker (ASan checks this)
}

TEST(PubSubTest, WakeCalledOncePerPublishWithoutLocksHeld) {
  PubSub ps;
  std::shared_ptr<Subscriber> s;
  int wakes = 0;
  size_t seen_bytes = 0;
  // The callback calls back into the broker and the subscriber: this deadlocks (or trips
  // TSan) if Publish still holds either lock when it runs the callback.
  s = ps.NewSubscriber(PubSub::kDefaultLimitBytes, [&] {
    ++wakes;
    ps.NumPat();
    seen_bytes = s->QueuedBytes();
  });
  s->Subscribe("c");
  s->PSubscribe("c");
  s->PSubscribe("*");
  EXPECT_EQ(ps.Publish("c", "m"), 3);
  EXPECT_EQ(wakes, 1);  // one wake per publish even with three copies queued
  EXPECT_EQ(seen_bytes, Cost("", "c", "m") + Cost("c", "c", "m") + Cost("*", "c", "m"));
  EXPECT_EQ(ps.Publish("zzz", "m"), 1);  // only "*" matches
  EXPECT_EQ(wakes, 2);
  auto other = ps.NewSubscriber();  // no callback: must be fine
  other->Subscribe("c");
  EXPECT_EQ(ps.Publish("q", "m"), 1);
  EXPECT_EQ(wakes, 3);
}

// A slow subscriber over its limit is disconnected; a fast one on the same channel still
// receives everything, and no publish ever waits.
TEST(PubSubTest, OverflowDisconnectsSlowSubscriberOnly) {
  PubSub ps;
  const std::string channel = "events";
  const std::string payload(100, 'x');
  const size_t cost = Cost("", channel, payload);
  int slow_wakes = 0;
  auto slow = ps.NewSubscriber(3 * cost, [&] { ++slow_wakes; });
  auto fast = ps.NewSubscriber();
  slow->Subscribe(channel);
  slow->PSubscribe("other.*");
  fast->Subscribe(channel);

  // Three messages fit exactly; the fourth would exceed the limit.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ps.Publish(channel, payload), 2) << i;
  EXPECT_EQ(slow->QueuedBytes(), 3 * cost);
  EXPECT_FALSE(slow->Overflowed());
  EXPECT_EQ(slow_wakes, 3);

  EXPECT_EQ(ps.Publish(channel, payload), 1);  // not delivered to slow, so not counted
  EXPECT_TRUE(slow->Overflowed());
  EXPECT_EQ(slow_wakes, 4);  // told to disconnect
  EXPECT_EQ(slow->QueuedBytes(), 0u);
  EXPECT_TRUE(slow->Drain().empty());
  EXPECT_EQ(slow->SubscriptionCount(), 0u);
  EXPECT_EQ(ps.NumSub(channel), 1);
  EXPECT_EQ(ps.NumPat(), 0);
  EXPECT_EQ(ps.GetStats().subscribers_overflowed, 1);

  for (int i = 0; i < 96; ++i) EXPECT_EQ(ps.Publish(channel, payload), 1);
  EXPECT_EQ(slow_wakes, 4);                 // receives nothing more
  EXPECT_EQ(slow->Subscribe(channel), 0u);  // and cannot resubscribe
  EXPECT_EQ(ps.NumSub(channel), 1);
  EXPECT_FALSE(slow->Pop(milliseconds(0)).has_value());
  EXPECT_EQ(fast->Drain().size(), 100u);
  EXPECT_EQ(ps.GetStats().subscribers_overflowed, 1);
}

TEST(PubSubTest, DrainingKeepsSubscriberUnderLimit) {
  PubSub ps;
  const size_t cost = Cost("", "c", "0123456789");
  auto s = ps.NewSubscriber(2 * cost);
  s->Subscribe("c");
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(ps.Publish("c", "0123456789"), 1);
    EXPECT_EQ(ps.Publish("c", "0123456789"), 1);
    EXPECT_EQ(s->Drain().size(), 2u);
  }
  EXPECT_FALSE(s->Overflowed());
}

TEST(PubSubTest, MessageLargerThanLimitOverflows) {
  PubSub ps;
  auto s = ps.NewSubscriber(100);
  s->Subscribe("c");
  EXPECT_EQ(ps.Publish("c", std::string(200, 'x')), 0);
  EXPECT_TRUE(s->Overflowed());
}

// A subscriber reached through several patterns in one publish is disconnected once.
TEST(PubSubTest, OverflowThroughSeveralPatternsCountedOnce) {
  PubSub ps;
  auto s = ps.NewSubscriber(Cost("a*", "abc", "p") + 1);
  s->PSubscribe("a*");
  s->PSubscribe("ab*");
  s->PSubscribe("abc");
  EXPECT_EQ(ps.Publish("abc", "p"), 1);  // the first copy fits, the rest overflow
  EXPECT_TRUE(s->Overflowed());
  EXPECT_EQ(ps.NumPat(), 0);
  EXPECT_EQ(ps.GetStats().subscribers_overflowed, 1);
}

TEST(PubSubTest, PopReturnsQueuedMessagesInOrder) {
  PubSub ps;
  auto s = ps.NewSubscriber();
  s->Subscribe("c");
  ps.Publish("c", "1");
  ps.Publish("c", "2");
  auto first = s->Pop(milliseconds(0));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->payload, "1");
  EXPECT_EQ(s->QueuedBytes(), Cost("", "c", "2"));
  auto second = s->Pop(milliseconds(0));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->payload, "2");
  EXPECT_EQ(s->QueuedBytes(), 0u);
}

TEST(PubSubTest, PopTimesOut) {
  PubSub ps;
  auto s = ps.NewSubscriber();
  s->Subscribe("c");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(s->Pop(milliseconds(30)).has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(30));
}

// The blocked Pop must be ended by the publish/close itself: its timeout is far longer
// than the wake-up may take, so a missing notification shows up as a slow (failing) round.
constexpr auto kLongPop = std::chrono::seconds(60);
constexpr auto kPromptly = std::chrono::seconds(20);

TEST(PubSubTest, PublishWakesBlockedPop) {
  PubSub ps;
  auto s = ps.NewSubscriber();
  s->Subscribe("c");
  for (int round = 0; round < 50; ++round) {
    std::promise<void> entering;
    auto popped = std::async(std::launch::async, [&] {
      entering.set_value();
      return s->Pop(kLongPop);
    });
    // Publish races the thread into its wait: both orders must work, and over 50 rounds
    // both occur.
    entering.get_future().wait();
    const auto start = std::chrono::steady_clock::now();
    ps.Publish("c", std::to_string(round));
    auto msg = popped.get();
    ASSERT_LT(std::chrono::steady_clock::now() - start, kPromptly);
    ASSERT_TRUE(msg.has_value());
    EXPECT_EQ(msg->payload, std::to_string(round));
  }
}

TEST(PubSubTest, CloseWakesBlockedPop) {
  PubSub ps;
  for (int round = 0; round < 50; ++round) {
    auto s = ps.NewSubscriber();
    s->Subscribe("c");
    std::promise<void> entering;
    auto popped = std::async(std::launch::async, [&] {
      entering.set_value();
      return s->Pop(kLongPop);
    });
    entering.get_future().wait();
    const auto start = std::chrono::steady_clock::now();
    s->Close();
    auto msg = popped.get();
    ASSERT_LT(std::chrono::steady_clock::now() - start, kPromptly);
    EXPECT_FALSE(msg.has_value());
  }
}

TEST(PubSubTest, OverflowWakesBlockedPop) {
  PubSub ps;
  auto s = ps.NewSubscriber(1);  // nothing fits
  s->Subscribe("c");
  std::promise<void> entering;
  auto popped = std::async(std::launch::async, [&] {
    entering.set_value();
    return s->Pop(kLongPop);
  });
  entering.get_future().wait();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ps.Publish("c", "m"), 0);
  auto msg = popped.get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, kPromptly);
  EXPECT_FALSE(msg.has_value());
  EXPECT_TRUE(s->Overflowed());
}

TEST(PubSubTest, PopWithEffectivelyInfiniteTimeout) {
  PubSub ps;
  auto s = ps.NewSubscriber();
  s->Subscribe("c");
  ps.Publish("c", "m");
  // milliseconds::max() must not overflow the clock arithmetic inside the wait.
  auto msg = s->Pop(milliseconds::max());
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(msg->payload, "m");
}

// Several publishers, blocked readers and subscribe/unsubscribe/destroy churn at once.
// Exact accounting: the sum of Publish replies on the accounted channels equals the number
// of messages all accounted subscribers received, and the steady subscribers see every
// publisher's messages in order.
TEST(PubSubTest, ConcurrentPublishersAndChurn) {
  PubSub ps;
  constexpr int kPublishers = 4;
  constexpr int kPerPublisher = 2000;
  constexpr size_t kTotal = kPublishers * kPerPublisher;
  auto channel_of = [](int p) { return Numbered("c", p); };

  // Steady subscriber 1: every channel by name, read by a thread blocked in Pop.
  auto by_name = ps.NewSubscriber();
  for (int p = 0; p < kPublishers; ++p) by_name->Subscribe(channel_of(p));
  // Steady subscriber 2: one pattern, read with Drain after its wake callback fires.
  std::mutex wake_mu;
  std::condition_variable wake_cv;
  int wake_count = 0;
  auto by_pattern = ps.NewSubscriber(PubSub::kDefaultLimitBytes, [&] {
    std::lock_guard<std::mutex> lock(wake_mu);
    ++wake_count;
    wake_cv.notify_one();
  });
  by_pattern->PSubscribe("c*");

  std::atomic<int64_t> replies{0};
  std::atomic<int64_t> churn_received{0};
  std::atomic<bool> publishing_done{false};

  auto check_order = [&](const std::vector<PubSubMessage>& msgs) {
    std::vector<int> next(kPublishers, 0);
    for (const auto& m : msgs) {
      const int p = m.channel[1] - '0';
      const int seq = std::stoi(m.payload);
      EXPECT_EQ(seq, next[p]) << "publisher " << p << " out of order";
      next[p] = seq + 1;
    }
  };

  std::vector<std::thread> threads;
  for (int p = 0; p < kPublishers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kPerPublisher; ++i) {
        replies += ps.Publish(channel_of(p), std::to_string(i));
        // Unaccounted traffic for the reckless churner below.
        if (i % 4 == 0) ps.Publish(Numbered("r", p), "x");
      }
    });
  }

  // Accounted churn: subscribe, let messages arrive, unsubscribe everything, and only
  // then drain, so every delivery it was counted for is collected.
  for (int c = 0; c < 2; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 rng(c);
      while (!publishing_done.load()) {
        auto s = ps.NewSubscriber();
        const std::string channel = channel_of(static_cast<int>(rng() % kPublishers));
        s->Subscribe(channel);
        s->PSubscribe(Numbered("c", rng() % kPublishers) + "*");
        s->PSubscribe("c?");  // not "*": the unaccounted "r" channels must not match
        ps.NumSub(channel);
        ps.ActiveChannels("c*");
        ps.GetStats();
        int64_t got = static_cast<int64_t>(s->Drain().size());
        s->Unsubscribe(channel);
        for (const auto& pattern : s->Patterns()) s->PUnsubscribe(pattern);
        got += static_cast<int64_t>(s->Drain().size());
        churn_received += got;
      }
    });
  }

  // Reckless churn: destroyed or closed while still subscribed, racing publishers.
  threads.emplace_back([&] {
    int i = 0;
    while (!publishing_done.load()) {
      auto s = ps.NewSubscriber(PubSub::kDefaultLimitBytes, [] {});
      s->Subscribe(Numbered("r", i % kPublishers));
      s->PSubscribe("r*");
      if (++i % 2 == 0) s->Close();
    }
  });

  std::vector<PubSubMessage> by_name_msgs;
  threads.emplace_back([&] {
    while (by_name_msgs.size() < kTotal) {
      auto msg = by_name->Pop(std::chrono::seconds(60));
      if (!msg) break;  // only on timeout: the test then fails on the count
      by_name_msgs.push_back(std::move(*msg));
    }
  });

  std::vector<PubSubMessage> by_pattern_msgs;
  threads.emplace_back([&] {
    int seen = 0;
    while (by_pattern_msgs.size() < kTotal) {
      {
        std::unique_lock<std::mutex> lock(wake_mu);
        if (!wake_cv.wait_for(lock, std::chrono::seconds(60), [&] { return wake_count > seen; })) {
          break;
        }
        seen = wake_count;
      }
      for (auto& m : by_pattern->Drain()) by_pattern_msgs.push_back(std::move(m));
    }
  });

  for (int p = 0; p < kPublishers; ++p) threads[p].join();
  publishing_done = true;
  for (size_t t = kPublishers; t < threads.size(); ++t) threads[t].join();

  ASSERT_EQ(by_name_msgs.size(), kTotal);
  ASSERT_EQ(by_pattern_msgs.size(), kTotal);
  check_order(by_name_msgs);
  check_order(by_pattern_msgs);
  for (const auto& m : by_pattern_msgs) EXPECT_EQ(m.pattern, "c*");
  EXPECT_EQ(replies.load(), 2 * kPublishers * kPerPublisher + churn_received.load());

  // Every churned subscriber is gone; only the steady ones remain.
  EXPECT_EQ(ps.NumPat(), 1);
  EXPECT_EQ(ps.ActiveChannels(), (Strings{"c0", "c1", "c2", "c3"}));
  for (int p = 0; p < kPublishers; ++p) EXPECT_EQ(ps.NumSub(channel_of(p)), 1);
  EXPECT_EQ(ps.GetStats().subscribers, 2);
  EXPECT_EQ(ps.GetStats().subscribers_overflowed, 0);
  EXPECT_FALSE(by_name->Overflowed());
  EXPECT_FALSE(by_pattern->Overflowed());
}

}  // namespace
}  // namespace redge::store
