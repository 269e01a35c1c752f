// Unit tests for the store's blocking pops: Store::BlockPop (thread form) and
// Store::BlockPopAsync / CancelBlockedPop (event-loop form). Redis's rules: waiters are
// served FIFO per key by the write that makes the key a non-empty list, multi-key waits
// report the key served, timeouts give nil, WRONGTYPE is immediate.
//
// No test sleeps to "make sure" a waiter is blocked: a thread waiter is known to be
// blocked when Store::GetStats().blocked_clients says so, and BlockPopAsync registers
// before it returns.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/keys.h"
#include "store/lists.h"
#include "store/status.h"
#include "store/store.h"
#include "store/strings.h"
#include "store/txn.h"
#include "tests/unit/store_fixture.h"

namespace redge::store::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using Strings = std::vector<std::string>;
using BlockResult = Result<std::optional<PopResult>>;

// Generous bound for things that must happen "at once"; only reached when a test fails.
constexpr milliseconds kPatience(10'000);

PopRequest Req(Strings keys, ListEnd from = ListEnd::kLeft, size_t count = 1) {
  PopRequest r;
  r.keys = std::move(keys);
  r.from = from;
  r.count = count;
  r.client = "test";
  return r;
}

PopRequest MoveReq(std::string source, std::string destination, ListEnd from, ListEnd to) {
  PopRequest r = Req({std::move(source)}, from, 1);
  r.destination = std::move(destination);
  r.to = to;
  return r;
}

// Records the deliveries of BlockPopAsync callbacks, tagged with a waiter number.
class Collector {
 public:
  struct Call {
    int waiter;
    Result<PopResult> result;
  };

  PopCallback Callback(int waiter) {
    return [this, waiter](Result<PopResult> r) {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(Call{waiter, std::move(r)});
      cv_.notify_all();
    };
  }
  // True once at least `n` callbacks ran (waits up to kPatience).
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return calls_.size() >= n; });
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_.size();
  }
  std::vector<Call> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  // The delivery for `waiter`, or nullopt if it has not been called.
  std::optional<Result<PopResult>> For(int waiter) {
    std::lock_guard<std::mutex> lock(mu_);
    std::optional<Result<PopResult>> out;
    int seen = 0;
    for (const Call& c : calls_) {
      if (c.waiter == waiter) {
        out.emplace(c.result);
        ++seen;
      }
    }
    EXPECT_LE(seen, 1) << "waiter " << waiter << " called more than once";
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Call> calls_;
};

class BlockingTest : public StoreTest {
 protected:
  void TearDown() override {
    // No callback may outlive the test's locals: withdraw whatever is still waiting.
    for (uint64_t id : async_ids_) store().CancelBlockedPop(id);
    StoreTest::TearDown();
  }

  uint64_t Async(PopRequest request, int waiter) {
    uint64_t id = store().BlockPopAsync(std::move(request), collector_.Callback(waiter));
    if (id != 0) async_ids_.push_back(id);
    return id;
  }

  // Runs BlockPop on another thread.
  std::future<BlockResult> BlockInThread(PopRequest request, milliseconds timeout) {
    return std::async(std::launch::async, [this, request = std::move(request), timeout] {
      return store().BlockPop(request, timeout);
    });
  }

  // Waits (yielding, bounded by kPatience) until the store reports `n` blocked clients.
  bool WaitForBlocked(int64_t n) {
    const auto deadline = steady_clock::now() + kPatience;
    while (store().GetStats().blocked_clients != n) {
      if (steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }

  int64_t Push(std::string_view key, ListEnd end, const Strings& values, int db = 0) {
    auto r = Run([&](Txn& t) { return lists::Push(t, key, end, values); }, db);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : -1;
  }
  int64_t RPush(std::string_view key, const Strings& values, int db = 0) {
    return Push(key, ListEnd::kRight, values, db);
  }
  Strings All(std::string_view key, int db = 0) {
    auto r = Run([&](Txn& t) { return lists::Range(t, key, 0, -1); }, db);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : Strings{"<error>"};
  }
  KeyType TypeOf(std::string_view key) {
    auto r = Run([&](Txn& t) -> Result<KeyType> { return keys::Type(t, key); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : KeyType::kString;
  }

  // Gets a thread waiter's result, failing (not hanging) if it does not come. On failure
  // it pushes to `unblock_key` so that a waiter stuck forever can still return.
  BlockResult Await(std::future<BlockResult>& f, const std::string& unblock_key) {
    if (f.wait_for(kPatience) != std::future_status::ready) {
      ADD_FAILURE() << "BlockPop did not return in time";
      RPush(unblock_key, {"unblock"});
    }
    return f.get();
  }

  Collector collector_;
  std::vector<uint64_t> async_ids_;
};

void ExpectServed(const std::optional<Result<PopResult>>& got, const std::string& key,
                  const Strings& values) {
  ASSERT_TRUE(got.has_value()) << "waiter was not served";
  ASSERT_TRUE(got->ok()) << got->status().message();
  EXPECT_EQ((*got)->key, key);
  EXPECT_EQ((*got)->values, values);
}

void ExpectServed(const BlockResult& got, const std::string& key, const Strings& values) {
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->has_value()) << "BlockPop timed out";
  EXPECT_EQ((*got)->key, key);
  EXPECT_EQ((*got)->values, values);
}

// ---------------------------------------------------------------------------------------
// Thread form

TEST_F(BlockingTest, ThreadWaiterIsWokenByPushFromAnotherThread) {
  auto waiter = BlockInThread(Req({"q"}), kPatience);
  ASSERT_TRUE(WaitForBlocked(1));
  EXPECT_EQ(waiter.wait_for(milliseconds(0)), std::future_status::timeout);
  // RPUSH's reply is the length after the push, before the waiter took the element.
  EXPECT_EQ(RPush("q", {"hello"}), 1);
  ExpectServed(Await(waiter, "q"), "q", {"hello"});
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
  EXPECT_EQ(TypeOf("q"), KeyType::kNone);
  EXPECT_EQ(store().DbSize(0), 0);
}

TEST_F(BlockingTest, ThreadWaiterPopsAtOnceWhenDataIsThere) {
  RPush("q", {"a", "b"});
  auto r = store().BlockPop(Req({"q"}, ListEnd::kRight), kPatience);
  ExpectServed(r, "q", {"b"});
  EXPECT_EQ(All("q"), Strings{"a"});
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
}

TEST_F(BlockingTest, ThreadWaitersAreServedInBlockingOrder) {
  std::vector<std::future<BlockResult>> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(BlockInThread(Req({"q"}), kPatience));
    // The next one starts only once this one is in the queue: a deterministic order.
    ASSERT_TRUE(WaitForBlocked(i + 1));
  }
  EXPECT_EQ(RPush("q", {"x", "y", "z"}), 3);
  const Strings want = {"x", "y", "z"};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(::testing::Message() << "waiter " << i);
    ExpectServed(Await(waiters[i], "q"), "q", {want[i]});
  }
  EXPECT_EQ(TypeOf("q"), KeyType::kNone);
}

TEST_F(BlockingTest, ThreadWaiterOnSeveralKeysReportsTheKeyServed) {
  auto waiter = BlockInThread(Req({"a", "b", "c"}), kPatience);
  ASSERT_TRUE(WaitForBlocked(1));
  RPush("b", {"vb"});
  ExpectServed(Await(waiter, "a"), "b", {"vb"});
  EXPECT_EQ(TypeOf("b"), KeyType::kNone);
}

TEST_F(BlockingTest, ThreadWaiterTimesOutWithNil) {
  const auto start = steady_clock::now();
  auto waiter = BlockInThread(Req({"a", "b"}), milliseconds(100));
  BlockResult r = Await(waiter, "a");
  const auto elapsed = steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->has_value()) << "expected a timeout";
  EXPECT_GE(elapsed, milliseconds(90));
  EXPECT_LT(elapsed, milliseconds(5'000));
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
  // The timed-out waiter is gone: a later push stays in the list.
  RPush("a", {"x"});
  EXPECT_EQ(All("a"), Strings{"x"});
}

TEST_F(BlockingTest, ThreadWaiterWithTimeoutZeroWaitsUntilAPush) {
  auto waiter = BlockInThread(Req({"q"}), milliseconds(0));
  // EXPECT, not ASSERT: the waiter has no timeout, so the push below must still happen.
  EXPECT_TRUE(WaitForBlocked(1));
  // Still waiting well past any "immediate" timeout.
  EXPECT_EQ(waiter.wait_for(milliseconds(300)), std::future_status::timeout);
  EXPECT_EQ(store().GetStats().blocked_clients, 1);
  RPush("q", {"late"});
  ExpectServed(Await(waiter, "q"), "q", {"late"});
}

TEST_F(BlockingTest, ThreadWaiterOnStringKeyGetsWrongTypeAtOnce) {
  auto set = Run([&](Txn& t) { return strings::Set(t, "s", "v"); });
  ASSERT_TRUE(set.ok());
  auto waiter = BlockInThread(Req({"s"}), milliseconds(0));
  BlockResult r = Await(waiter, "s");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kWrongType) << r.status().message();
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
}

TEST_F(BlockingTest, ThreadMoveWaiterMovesTheElement) {
  RPush("dst", {"z"});
  auto waiter = BlockInThread(MoveReq("src", "dst", ListEnd::kRight, ListEnd::kLeft), kPatience);
  ASSERT_TRUE(WaitForBlocked(1));
  RPush("src", {"a"});
  BlockResult r = Await(waiter, "src");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->values, Strings{"a"});
  EXPECT_EQ(All("dst"), (Strings{"a", "z"}));
  EXPECT_EQ(TypeOf("src"), KeyType::kNone);
}

// ---------------------------------------------------------------------------------------
// Event-loop form

TEST_F(BlockingTest, AsyncRegistersBeforeReturning) {
  uint64_t id = Async(Req({"q"}), 1);
  ASSERT_NE(id, 0u);
  EXPECT_EQ(store().GetStats().blocked_clients, 1);
  EXPECT_EQ(collector_.size(), 0u);
  RPush("q", {"v"});
  ASSERT_TRUE(collector_.WaitFor(1));
  ExpectServed(collector_.For(1), "q", {"v"});
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
}

TEST_F(BlockingTest, AsyncServedAtOnceWhenDataIsThere) {
  RPush("b", {"1", "2"});
  uint64_t id = Async(Req({"a", "b"}), 1);
  EXPECT_FALSE(store().CancelBlocked(id));  // served at once, not parked
  // Called before BlockPopAsync returned.
  ASSERT_EQ(collector_.size(), 1u);
  ExpectServed(collector_.For(1), "b", {"1"});
  EXPECT_EQ(All("b"), Strings{"2"});
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
}

// Holds the store's write path on another thread until Release(), so that a request made
// meanwhile is queued behind it instead of running at once.
class WriterHold {
 public:
  explicit WriterHold(Store& store) {
    holder_ = std::async(std::launch::async, [this, &store] {
      return store.Exec(0, [this](Txn&) {
        std::unique_lock lock(mu_);
        held_ = true;
        cv_.notify_all();
        cv_.wait(lock, [this] { return released_; });
      });
    });
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, kPatience, [this] { return held_; }));
  }
  ~WriterHold() { Release(); }
  void Release() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
      cv_.notify_all();
    }
    if (holder_.valid()) {
      EXPECT_TRUE(holder_.get().ok());
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool released_ = false;
  std::future<Status> holder_;
};

// A timeout that fires before the request's first attempt ran (it was queued behind a
// long write) must not answer "nothing" while the key has data: the attempt still runs,
// as Redis serves a blocking pop at once. HTTP lease?wait=0 on a busy store answered 204
// with jobs queued before this.
TEST_F(BlockingTest, AsyncTimeoutBeforeTheFirstAttemptStillServesWhatIsThere) {
  RPush("q", {"v"});
  WriterHold hold(store());
  uint64_t id = Async(Req({"q"}), 1);
  EXPECT_FALSE(store().TimeOutBlocked(id));  // not parked: its attempt is still to run
  EXPECT_EQ(collector_.size(), 0u);
  hold.Release();
  ASSERT_TRUE(collector_.WaitFor(1));
  ExpectServed(collector_.For(1), "q", {"v"});
  EXPECT_EQ(All("q"), Strings{});
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
}

TEST_F(BlockingTest, AsyncTimeoutBeforeTheFirstAttemptOnAnEmptyKeyGivesTimeout) {
  WriterHold hold(store());
  uint64_t id = Async(Req({"q"}), 1);
  EXPECT_FALSE(store().TimeOutBlocked(id));
  hold.Release();
  ASSERT_TRUE(collector_.WaitFor(1));
  auto got = collector_.For(1);
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->status().code(), Status::Code::kTimeout);
  // It did not park: a later push stays in the list.
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
  RPush("q", {"x"});
  EXPECT_EQ(All("q"), Strings{"x"});
}

TEST_F(BlockingTest, AsyncTimeoutOfAParkedWaiterWithdrawsIt) {
  uint64_t id = Async(Req({"q"}), 1);
  EXPECT_TRUE(store().TimeOutBlocked(id));
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
  RPush("q", {"x"});
  EXPECT_EQ(All("q"), Strings{"x"});
  EXPECT_EQ(collector_.size(), 0u);
}

TEST_F(BlockingTest, ThreadWaiterWhoseTimeoutPassesWhileQueuedStillGetsTheData) {
  RPush("q", {"v"});
  WriterHold hold(store());
  auto waiter = BlockInThread(Req({"q"}), milliseconds(1));
  // Its 1 ms passes while the request waits behind the held write.
  EXPECT_EQ(waiter.wait_for(milliseconds(50)), std::future_status::timeout);
  hold.Release();
  ExpectServed(Await(waiter, "q"), "q", {"v"});
}

TEST_F(BlockingTest, AsyncFirstNonEmptyKeyInRequestOrder) {
  RPush("b", {"vb"});
  RPush("c", {"vc"});
  EXPECT_FALSE(store().CancelBlocked(Async(Req({"a", "c", "b"}), 1)));  // served at once
  ExpectServed(collector_.For(1), "c", {"vc"});
  EXPECT_EQ(All("b"), Strings{"vb"});
}

TEST_F(BlockingTest, FifoOnePushOfThreeServesThreeWaitersInOrder) {
  for (int w = 1; w <= 3; ++w) ASSERT_NE(Async(Req({"q"}), w), 0u);
  EXPECT_EQ(store().GetStats().blocked_clients, 3);
  EXPECT_EQ(RPush("q", {"x", "y", "z"}), 3);
  ASSERT_TRUE(collector_.WaitFor(3));
  ExpectServed(collector_.For(1), "q", {"x"});
  ExpectServed(collector_.For(2), "q", {"y"});
  ExpectServed(collector_.For(3), "q", {"z"});
  // The pops happened in the push's own write: nothing is left.
  EXPECT_EQ(TypeOf("q"), KeyType::kNone);
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
}

TEST_F(BlockingTest, FifoSeparatePushesServeWaitersInOrder) {
  for (int w = 1; w <= 3; ++w) ASSERT_NE(Async(Req({"q"}, ListEnd::kRight), w), 0u);
  for (int i = 1; i <= 3; ++i) {
    RPush("q", {"v" + std::to_string(i)});
    ASSERT_TRUE(collector_.WaitFor(i));
    ExpectServed(collector_.For(i), "q", {"v" + std::to_string(i)});
    EXPECT_EQ(collector_.size(), static_cast<size_t>(i));
    EXPECT_EQ(store().GetStats().blocked_clients, 3 - i);
  }
}

TEST_F(BlockingTest, FifoAcrossMultiKeyWaiters) {
  // Waiter 1 on (a, q), waiter 2 on q, waiter 3 on (q, b): all queued on q in this order.
  ASSERT_NE(Async(Req({"a", "q"}), 1), 0u);
  ASSERT_NE(Async(Req({"q"}), 2), 0u);
  ASSERT_NE(Async(Req({"q", "b"}), 3), 0u);
  RPush("q", {"x", "y"});
  ASSERT_TRUE(collector_.WaitFor(2));
  ExpectServed(collector_.For(1), "q", {"x"});
  ExpectServed(collector_.For(2), "q", {"y"});
  EXPECT_FALSE(collector_.For(3).has_value());
  RPush("b", {"vb"});
  ASSERT_TRUE(collector_.WaitFor(3));
  ExpectServed(collector_.For(3), "b", {"vb"});
}

TEST_F(BlockingTest, OnePushOfOneElementServesOnlyTheFirstWaiter) {
  ASSERT_NE(Async(Req({"q"}), 1), 0u);
  ASSERT_NE(Async(Req({"q"}), 2), 0u);
  EXPECT_EQ(RPush("q", {"only"}), 1);
  ASSERT_TRUE(collector_.WaitFor(1));
  ExpectServed(collector_.For(1), "q", {"only"});
  EXPECT_EQ(TypeOf("q"), KeyType::kNone);
  EXPECT_EQ(collector_.size(), 1u);
  EXPECT_FALSE(collector_.For(2).has_value());
  EXPECT_EQ(store().GetStats().blocked_clients, 1);
  RPush("q", {"second"});
  ASSERT_TRUE(collector_.WaitFor(2));
  ExpectServed(collector_.For(2), "q", {"second"});
}

TEST_F(BlockingTest, MultiKeyWaiterServedByPushToSecondKey) {
  ASSERT_NE(Async(Req({"a", "b"}), 1), 0u);
  ASSERT_NE(Async(Req({"a"}), 2), 0u);
  RPush("b", {"vb"});
  ASSERT_TRUE(collector_.WaitFor(1));
  ExpectServed(collector_.For(1), "b", {"vb"});
  EXPECT_FALSE(collector_.For(2).has_value());
  EXPECT_EQ(store().GetStats().blocked_clients, 1);
  // Waiter 1 left every queue it was in: a push to a goes to waiter 2.
  RPush("a", {"va"});
  ASSERT_TRUE(collector_.WaitFor(2));
  ExpectServed(collector_.For(2), "a", {"va"});
  EXPECT_EQ(collector_.size(), 2u);
}

TEST_F(BlockingTest, PopFromRightEnd) {
  ASSERT_NE(Async(Req({"q"}, ListEnd::kRight), 1), 0u);
  RPush("q", {"a", "b", "c"});
  ASSERT_TRUE(collector_.WaitFor(1));
  ExpectServed(collector_.For(1), "q", {"c"});
  EXPECT_EQ(All("q"), (Strings{"a", "b"}));
}

TEST_F(BlockingTest, CountGreaterThanOne) {
  ASSERT_NE(Async(Req({"q"}, ListEnd::kLeft, 2), 1), 0u);
  ASSERT_NE(Async(Req({"q"}, ListEnd::kLeft, 5), 2), 0u);
  RPush("q", {"a", "b", "c"});
  ASSERT_TRUE(collector_.WaitFor(2));
  ExpectServed(collector_.For(1), "q", {"a", "b"});
  // The second waiter takes what is left (fewer than its count).
  ExpectServed(collector_.For(2), "q", {"c"});
  EXPECT_EQ(TypeOf("q"), KeyType::kNone);

  // Immediate form: up to count from what is there.
  RPush("r", {"x"});
  EXPECT_FALSE(store().CancelBlocked(Async(Req({"r"}, ListEnd::kRight, 3), 3)));  // served at once
  ExpectServed(collector_.For(3), "r", {"x"});
  EXPECT_EQ(TypeOf("r"), KeyType::kNone);
}

TEST_F(BlockingTest, CancelBeforeServeWithdrawsTheWaiter) {
  uint64_t id = Async(Req({"q"}), 1);
  ASSERT_NE(id, 0u);
  EXPECT_TRUE(store().CancelBlockedPop(id));
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
  RPush("q", {"v"});
  // The element stayed in the list and the callback never ran.
  EXPECT_EQ(All("q"), Strings{"v"});
  EXPECT_EQ(collector_.size(), 0u);
}

TEST_F(BlockingTest, CancelledWaiterDoesNotBreakFifoOfTheOthers) {
  ASSERT_NE(Async(Req({"q"}), 1), 0u);
  uint64_t second = Async(Req({"q"}), 2);
  ASSERT_NE(second, 0u);
  ASSERT_NE(Async(Req({"q"}), 3), 0u);
  EXPECT_TRUE(store().CancelBlockedPop(second));
  RPush("q", {"x", "y", "z"});
  ASSERT_TRUE(collector_.WaitFor(2));
  ExpectServed(collector_.For(1), "q", {"x"});
  ExpectServed(collector_.For(3), "q", {"y"});
  EXPECT_FALSE(collector_.For(2).has_value());
  EXPECT_EQ(All("q"), Strings{"z"});
}

TEST_F(BlockingTest, CancelAfterServeReturnsFalse) {
  uint64_t id = Async(Req({"q"}), 1);
  ASSERT_NE(id, 0u);
  RPush("q", {"v"});
  ASSERT_TRUE(collector_.WaitFor(1));
  EXPECT_FALSE(store().CancelBlockedPop(id));
  EXPECT_EQ(collector_.size(), 1u);
}

TEST_F(BlockingTest, AsyncWaiterOnStringKeyGetsWrongTypeAtOnce) {
  ASSERT_TRUE(Run([&](Txn& t) { return strings::Set(t, "s", "v"); }).ok());
  EXPECT_FALSE(store().CancelBlocked(Async(Req({"s"}), 1)));  // served at once
  ASSERT_EQ(collector_.size(), 1u);
  auto got = collector_.For(1);
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->status().code(), Status::Code::kWrongType) << got->status().message();
  // Redis checks keys in order: an absent key first, then the string, is still WRONGTYPE.
  EXPECT_FALSE(store().CancelBlocked(Async(Req({"absent", "s"}), 2)));  // served at once
  got = collector_.For(2);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status().code(), Status::Code::kWrongType) << got->status().message();
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
  auto value = Run([&](Txn& t) { return strings::Get(t, "s"); });
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value.value(), "v");
}

TEST_F(BlockingTest, AsyncMoveRequestMovesAtomically) {
  RPush("dst", {"z"});
  ASSERT_NE(Async(MoveReq("src", "dst", ListEnd::kLeft, ListEnd::kRight), 1), 0u);
  RPush("src", {"a", "b"});
  ASSERT_TRUE(collector_.WaitFor(1));
  ExpectServed(collector_.For(1), "src", {"a"});
  // One read sees both sides of the move.
  auto both = Run([&](Txn& t) -> Result<std::pair<Strings, Strings>> {
    auto s = lists::Range(t, "src", 0, -1);
    auto d = lists::Range(t, "dst", 0, -1);
    if (!s.ok()) return s.status();
    if (!d.ok()) return d.status();
    return std::make_pair(s.value(), d.value());
  });
  ASSERT_TRUE(both.ok()) << both.status().message();
  EXPECT_EQ(both->first, Strings{"b"});
  EXPECT_EQ(both->second, (Strings{"z", "a"}));
}

TEST_F(BlockingTest, AsyncMoveServedAtOnceWhenSourceHasData) {
  RPush("src", {"a", "b"});
  EXPECT_FALSE(store().CancelBlocked(
      Async(MoveReq("src", "dst", ListEnd::kRight, ListEnd::kLeft), 1)));  // served at once
  ExpectServed(collector_.For(1), "src", {"b"});
  EXPECT_EQ(All("src"), Strings{"a"});
  EXPECT_EQ(All("dst"), Strings{"b"});
}

TEST_F(BlockingTest, LinkedMovesChainThroughBlockedWaiters) {
  // Redis's "Linked LMOVEs": list1 -> list2 -> list3 through two blocked movers.
  ASSERT_NE(Async(MoveReq("list1", "list2", ListEnd::kRight, ListEnd::kLeft), 1), 0u);
  ASSERT_NE(Async(MoveReq("list2", "list3", ListEnd::kLeft, ListEnd::kRight), 2), 0u);
  RPush("list1", {"foo"});
  ASSERT_TRUE(collector_.WaitFor(2));
  ExpectServed(collector_.For(1), "list1", {"foo"});
  ExpectServed(collector_.For(2), "list2", {"foo"});
  EXPECT_EQ(All("list1"), Strings{});
  EXPECT_EQ(All("list2"), Strings{});
  EXPECT_EQ(All("list3"), Strings{"foo"});
}

TEST_F(BlockingTest, CircularMovesTerminate) {
  // Redis's "Circular BRPOPLPUSH": each mover is served once, the element ends in list1.
  ASSERT_NE(Async(MoveReq("list1", "list2", ListEnd::kRight, ListEnd::kLeft), 1), 0u);
  ASSERT_NE(Async(MoveReq("list2", "list1", ListEnd::kRight, ListEnd::kLeft), 2), 0u);
  RPush("list1", {"foo"});
  ASSERT_TRUE(collector_.WaitFor(2));
  EXPECT_EQ(All("list1"), Strings{"foo"});
  EXPECT_EQ(All("list2"), Strings{});
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
}

TEST_F(BlockingTest, SelfReferentialMove) {
  ASSERT_NE(Async(MoveReq("blist", "blist", ListEnd::kRight, ListEnd::kLeft), 1), 0u);
  RPush("blist", {"foo"});
  ASSERT_TRUE(collector_.WaitFor(1));
  ExpectServed(collector_.For(1), "blist", {"foo"});
  EXPECT_EQ(All("blist"), Strings{"foo"});
}

TEST_F(BlockingTest, MoveCommandWakesWaiterOnDestination) {
  RPush("src", {"a"});
  ASSERT_NE(Async(Req({"dst"}), 1), 0u);
  auto moved =
      Run([&](Txn& t) { return lists::Move(t, "src", "dst", ListEnd::kLeft, ListEnd::kRight); });
  ASSERT_TRUE(moved.ok()) << moved.status().message();
  ASSERT_TRUE(collector_.WaitFor(1));
  ExpectServed(collector_.For(1), "dst", {"a"});
  EXPECT_EQ(TypeOf("dst"), KeyType::kNone);
  EXPECT_EQ(TypeOf("src"), KeyType::kNone);
}

TEST_F(BlockingTest, PushAndPopInOneWriteServesNobody) {
  // Like MULTI; RPUSH q x; LPOP q; EXEC in Redis: the list is empty when the write ends.
  ASSERT_NE(Async(Req({"q"}), 1), 0u);
  Status s = store().Exec(0, [&](Txn& t) {
    ASSERT_TRUE(lists::Push(t, "q", ListEnd::kRight, {"x"}).ok());
    ASSERT_TRUE(lists::Pop(t, "q", ListEnd::kLeft, 1).ok());
  });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(store().GetStats().blocked_clients, 1);
  EXPECT_EQ(collector_.size(), 0u);
  RPush("q", {"y"});
  ASSERT_TRUE(collector_.WaitFor(1));
  ExpectServed(collector_.For(1), "q", {"y"});
}

TEST_F(BlockingTest, WaitersAreScopedToTheirDatabase) {
  PopRequest in_db1 = Req({"q"});
  in_db1.db = 1;
  ASSERT_NE(Async(in_db1, 1), 0u);
  RPush("q", {"db0"}, /*db=*/0);
  EXPECT_EQ(All("q", 0), Strings{"db0"});
  EXPECT_EQ(collector_.size(), 0u);
  RPush("q", {"db1"}, /*db=*/1);
  ASSERT_TRUE(collector_.WaitFor(1));
  ExpectServed(collector_.For(1), "q", {"db1"});
  EXPECT_EQ(All("q", 1), Strings{});
  EXPECT_EQ(All("q", 0), Strings{"db0"});
}

TEST_F(BlockingTest, ThreadAndAsyncWaitersShareOneFifo) {
  auto thread_waiter = BlockInThread(Req({"q"}), kPatience);
  ASSERT_TRUE(WaitForBlocked(1));
  ASSERT_NE(Async(Req({"q"}), 2), 0u);
  RPush("q", {"first", "second"});
  ExpectServed(Await(thread_waiter, "q"), "q", {"first"});
  ASSERT_TRUE(collector_.WaitFor(1));
  ExpectServed(collector_.For(2), "q", {"second"});
}

}  // namespace
}  // namespace redge::store::testing
