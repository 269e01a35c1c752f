// JobService::Start on data written by a redge from before the running-jobs index (no
// "jobs:format" internal record): it reads every job once, finds the running ones, and
// writes the index, so the next start reads only those. The index itself (kept in the
// write of each state change, used after a SIGKILL) is tested end to end in
// tests/integration/test_restart_index.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <string>
#include <vector>

#include "edge/jobs/job_service.h"
#include "edge/jobs/job_txn.h"
#include "store/txn.h"
#include "tests/unit/store_fixture.h"

namespace redge::jobs {
namespace {

using store::testing::StoreTest;

class JobRestartTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    StartJobs();
  }
  void TearDown() override {
    jobs_.reset();
    StoreTest::TearDown();
  }
  void StartJobs() {
    jobs_ = std::make_unique<JobService>(store_.get(), JobsOptions{});
    ASSERT_TRUE(jobs_->Start().ok());
  }
  std::string Enqueue(const std::string& queue) {
    JobService::EnqueueRequest request;
    request.queue = queue;
    request.payload = {{"n", 1}};
    Job job;
    bool created = false;
    EXPECT_TRUE(jobs_->Enqueue(request, &job, &created).ok());
    return job.id;
  }
  std::string Lease(const std::string& queue) {
    std::promise<std::string> leased;
    jobs_->LeaseAsync(queue, "w1", [&](Outcome out, std::string id) {
      EXPECT_TRUE(out.ok());
      leased.set_value(std::move(id));
    });
    return leased.get_future().get();
  }
  // Every internal record of the jobs layer, name -> value.
  std::vector<std::pair<std::string, std::string>> InternalRecords() {
    std::vector<std::pair<std::string, std::string>> out;
    EXPECT_TRUE(store_
                    ->Exec(0,
                           [&](store::Txn& txn) {
                             (void)txn.ScanInternal(
                                 "jobs:", [&](std::string_view name, std::string_view value) {
                                   out.emplace_back(std::string(name), std::string(value));
                                   return true;
                                 });
                           })
                    .ok());
    return out;
  }
  QueueInfo QueueOf(const std::string& name) {
    for (auto& q : jobs_->Queues()) {
      if (q.queue == name) return q;
    }
    ADD_FAILURE() << "queue " << name << " is not listed";
    return {};
  }

  std::unique_ptr<JobService> jobs_;
};

TEST_F(JobRestartTest, StateChangesKeepTheIndexInTheirWrite) {
  const std::string a = Enqueue("q");
  const std::string b = Enqueue("q");
  using Records = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(InternalRecords(), (Records{{"jobs:format", "2"}, {"jobs:queue:q", ""}}));
  ASSERT_EQ(Lease("q"), a);
  EXPECT_EQ(InternalRecords(),
            (Records{{"jobs:format", "2"}, {"jobs:queue:q", ""}, {"jobs:running:" + a, "q"}}));
  Job job;
  ASSERT_TRUE(jobs_->Get(a, &job).ok());
  ASSERT_TRUE(jobs_->Complete(a, job.lease_token, {{"ok", true}}, &job).ok());
  EXPECT_EQ(InternalRecords(), (Records{{"jobs:format", "2"}, {"jobs:queue:q", ""}}));
  (void)b;
}

TEST_F(JobRestartTest, DataFromBeforeTheIndexIsReadOnceAndIndexed) {
  const std::string a = Enqueue("q");
  Enqueue("q");
  Enqueue("idle");
  ASSERT_EQ(Lease("q"), a);
  ASSERT_EQ(Lease("idle").empty(), false);
  jobs_.reset();
  // Make the data look like an older redge's: no internal records of the jobs layer.
  ASSERT_TRUE(store_
                  ->Exec(0,
                         [&](store::Txn& txn) {
                           std::vector<std::string> names;
                           (void)txn.ScanInternal("jobs:",
                                                  [&](std::string_view name, std::string_view) {
                                                    names.emplace_back(name);
                                                    return true;
                                                  });
                           for (const auto& n : names) txn.DeleteInternal(n);
                         })
                  .ok());
  ASSERT_TRUE(InternalRecords().empty());

  StartJobs();
  QueueInfo q = QueueOf("q");
  EXPECT_EQ(q.running, 1);
  EXPECT_EQ(q.depth, 1);
  EXPECT_EQ(QueueOf("idle").running, 1);
  // The index was written: the next start reads only the running jobs.
  auto records = InternalRecords();
  EXPECT_NE(std::find(records.begin(), records.end(),
                      std::pair<std::string, std::string>{"jobs:format", "2"}),
            records.end());
  EXPECT_NE(std::find(records.begin(), records.end(),
                      std::pair<std::string, std::string>{"jobs:running:" + a, "q"}),
            records.end());
  jobs_.reset();
  StartJobs();
  EXPECT_EQ(QueueOf("q").running, 1);
  EXPECT_EQ(QueueOf("idle").running, 1);
}

}  // namespace
}  // namespace redge::jobs
