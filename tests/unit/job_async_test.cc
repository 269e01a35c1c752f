// JobService's asynchronous forms (what event loops call): each is the same transaction
// body as its synchronous form, never waits on the calling thread, and reports the
// operation's outcome and result once the commit is durable.
#include <gtest/gtest.h>

#include <future>
#include <utility>

#include "base/loop_thread.h"
#include "edge/jobs/job_service.h"
#include "tests/unit/store_fixture.h"

namespace redge::jobs {
namespace {

using store::testing::StoreTest;

class JobAsyncTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    Reopen(store::Fsync::kAlways);  // completions come after a real sync
    jobs_ = std::make_unique<JobService>(store_.get(), JobsOptions{});
    ASSERT_TRUE(jobs_->Start().ok());
  }
  void TearDown() override {
    jobs_.reset();
    StoreTest::TearDown();
  }

  // Calls `start(done)` as an event loop would (the thread marked as one) and waits, off
  // the loop, for the outcome and result.
  template <typename R, typename Start>
  std::pair<Outcome, R> OnLoop(Start start) {
    auto p = std::make_shared<std::promise<std::pair<Outcome, R>>>();
    {
      base::ScopedEventLoopThread loop;
      start([p](Outcome out, R r) { p->set_value({std::move(out), std::move(r)}); });
    }
    return p->get_future().get();
  }

  std::unique_ptr<JobService> jobs_;
};

TEST_F(JobAsyncTest, OperationsAnswerThroughTheirCompletion) {
  auto [out, created] = OnLoop<JobService::EnqueueResult>([&](auto done) {
    jobs_->EnqueueAsync({"q", {{"n", 1}}, "corr-1", "", ""}, done);
  });
  ASSERT_TRUE(out.ok()) << out.message;
  EXPECT_TRUE(created.created);
  EXPECT_EQ(created.job.state, JobState::kQueued);
  EXPECT_EQ(created.job.correlation_id, "corr-1");
  const std::string id = created.job.id;

  // What the synchronous form reads is what the asynchronous one wrote.
  Job sync;
  ASSERT_TRUE(jobs_->Get(id, &sync).ok());
  EXPECT_EQ(sync.state, JobState::kQueued);

  auto [read_out, read] =
      OnLoop<JobService::ReadResult>([&](auto done) { jobs_->ReadAsync(id, 0, SIZE_MAX, done); });
  ASSERT_TRUE(read_out.ok());
  ASSERT_EQ(read.events.size(), 1u);
  EXPECT_EQ(read.events[0].type, "queued");

  // Checks inside the transaction give their outcome with the job as it is.
  auto [lost, ev] = OnLoop<JobService::EventResult>(
      [&](auto done) { jobs_->AppendEventAsync(id, "not-the-token", "progress", {}, done); });
  EXPECT_EQ(lost.code, Outcome::Code::kLeaseLost);
  EXPECT_EQ(ev.event_id, 0);

  auto [cancel_out, canceled] = OnLoop<Job>([&](auto done) { jobs_->CancelAsync(id, done); });
  ASSERT_TRUE(cancel_out.ok());
  EXPECT_EQ(canceled.state, JobState::kCanceled);
  auto [again, same] = OnLoop<Job>([&](auto done) { jobs_->CancelAsync(id, done); });
  EXPECT_EQ(again.code, Outcome::Code::kConflict);
  EXPECT_EQ(again.message, "job " + id + " is already canceled");
  EXPECT_EQ(same.state, JobState::kCanceled);

  auto [retry_out, retried] = OnLoop<Job>([&](auto done) { jobs_->RetryAsync(id, done); });
  ASSERT_TRUE(retry_out.ok());
  EXPECT_EQ(retried.state, JobState::kQueued);
  EXPECT_EQ(retried.attempt, 2);

  auto [list_out, page] = OnLoop<JobService::ListPage>([&](auto done) {
    jobs_->ListAsync({"q", std::nullopt, 50, ""}, done);
  });
  ASSERT_TRUE(list_out.ok());
  ASSERT_EQ(page.jobs.size(), 1u);
  EXPECT_EQ(page.jobs[0].id, id);

  auto [queues_out, queues] =
      OnLoop<std::vector<QueueInfo>>([&](auto done) { jobs_->QueuesAsync(done); });
  ASSERT_TRUE(queues_out.ok());
  ASSERT_EQ(queues.size(), 1u);
  EXPECT_EQ(queues[0].queue, "q");
  EXPECT_EQ(queues[0].depth, 1);

  auto [trace_out, trace] =
      OnLoop<JobService::TraceResult>([&](auto done) { jobs_->TraceAsync(id, done); });
  ASSERT_TRUE(trace_out.ok());
  EXPECT_EQ(trace.events.size(), 3u);  // queued, canceled, retrying

  auto [missing, none] = OnLoop<Job>([&](auto done) { jobs_->GetAsync("nosuchjob", done); });
  EXPECT_EQ(missing.code, Outcome::Code::kNotFound);
  EXPECT_EQ(missing.message, "no job nosuchjob (unknown or expired)");

  // A bad queue name is refused before any store work.
  auto [bad, nothing] = OnLoop<JobService::EnqueueResult>([&](auto done) {
    jobs_->EnqueueAsync({"bad queue", {}, "", "", ""}, done);
  });
  EXPECT_EQ(bad.code, Outcome::Code::kBadRequest);
  EXPECT_FALSE(nothing.created);

  // None of it waited on the (marked) loop thread.
  EXPECT_EQ(store_->GetStats().waits_on_event_loop, 0);
}

}  // namespace
}  // namespace redge::jobs
