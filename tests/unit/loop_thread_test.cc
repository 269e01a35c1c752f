// "Nothing on an event-loop thread waits for the store": base/loop_thread.h marks loop
// threads (edge/net/event_loop.cc does it in Run) and Store's waiting calls check the mark.
#include "base/loop_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "edge/net/event_loop.h"
#include "store/strings.h"
#include "tests/unit/store_fixture.h"

namespace redge::store::testing {
namespace {

TEST(LoopThreadTest, MarkIsPerThreadAndScoped) {
  EXPECT_FALSE(base::OnEventLoopThread());
  {
    base::ScopedEventLoopThread mark;
    EXPECT_TRUE(base::OnEventLoopThread());
    bool other = true;
    std::thread([&] { other = base::OnEventLoopThread(); }).join();
    EXPECT_FALSE(other);
  }
  EXPECT_FALSE(base::OnEventLoopThread());
}

TEST(LoopThreadTest, EventLoopMarksItsThreadWhileRunning) {
  net::EventLoop loop;
  std::atomic<int> seen{-1};
  std::thread t([&] { loop.Run(); });
  loop.Post([&] {
    seen = base::OnEventLoopThread() ? 1 : 0;
    loop.Stop();
  });
  t.join();
  EXPECT_EQ(seen.load(), 1);
}

using StoreLoopWaitTest = StoreTest;

TEST_F(StoreLoopWaitTest, ExecOnALoopThreadIsCaught) {
  EXPECT_EQ(store_->GetStats().waits_on_event_loop, 0);
  // Off a loop: allowed and not counted.
  ASSERT_TRUE(store_->Exec(0, [](Txn& txn) { (void)strings::Set(txn, "k", "v", {}); }).ok());
  EXPECT_EQ(store_->GetStats().waits_on_event_loop, 0);
#ifndef NDEBUG
  // The store runs threads: the death test re-executes the binary instead of forking.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        base::ScopedEventLoopThread mark;
        (void)store_->Exec(0, [](Txn&) {});
      },
      "called on an event-loop thread; nothing on an event loop may wait for the store");
#else
  {
    base::ScopedEventLoopThread mark;
    // The call still works (a release build counts it rather than stop serving).
    ASSERT_TRUE(store_->Exec(0, [](Txn& txn) { (void)strings::Set(txn, "k", "w", {}); }).ok());
    auto got = store_->Run(0, [](Txn& txn) { return strings::Get(txn, "k"); });
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "w");
    auto popped = store_->BlockPop(
        PopRequest{0, {"nolist"}, ListEnd::kLeft, 1, std::nullopt, ListEnd::kLeft, "t"},
        std::chrono::milliseconds(1));
    ASSERT_TRUE(popped.ok());
    EXPECT_FALSE(popped->has_value());
  }
  // Exec, Run (an Exec) and BlockPop (a Block).
  EXPECT_EQ(store_->GetStats().waits_on_event_loop, 3);
#endif
  // The asynchronous form is what a loop uses: never counted.
  {
    base::ScopedEventLoopThread mark;
    std::atomic<bool> done{false};
    store_->ExecAsync(
        0, [](Txn& txn) { (void)strings::Set(txn, "k", "x", {}); },
        [&](Status s) {
          EXPECT_TRUE(s.ok());
          done = true;
        });
    while (!done.load()) std::this_thread::yield();
  }
#ifdef NDEBUG
  EXPECT_EQ(store_->GetStats().waits_on_event_loop, 3);
#else
  EXPECT_EQ(store_->GetStats().waits_on_event_loop, 0);
#endif
}

}  // namespace
}  // namespace redge::store::testing
