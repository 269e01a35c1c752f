// JobService: the job lifecycle over store keys (docs/http-api.md is the user's view).
//
// What it promises:
//  - A state change writes the job record and its event in one atomic store write, so a
//    reader never sees a state without its event or the other way round. Waiters (SSE,
//    long-poll) are woken after that write is durable, never before.
//  - Event ids are 1, 2, 3, ... per job, without gaps, in commit order.
//  - Legacy Redis workers drive jobs through plain commands (the bridge, mutation
//    observers): popping an envelope from a queue key starts a lease, PUBLISH on the
//    progress channel stores an event, SET of the response key completes or fails the job
//    — each inside the worker's own write.
//  - A lease that is not renewed in time sends the job back to its queue (attempt + 1)
//    until max_attempts, then fails it with "worker lost" (LeaseReaper, no polling).
//  - A completion from a former lease holder is ignored and logged.
//
// Thread-safety: every method is safe from any thread. Callbacks given to Watch and
// LeaseAsync run on the committing thread, outside the store lock; they must be short
// (post to an event loop).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "edge/jobs/job.h"
#include "edge/jobs/key_template.h"
#include "store/store.h"

namespace redge::jobs {

struct JobsOptions {
  int64_t lease_timeout_ms = 60'000;
  int max_attempts = 3;
  int64_t result_ttl_ms = 3'600'000;
  std::string queue_key_template = "redge:queue:{queue}";
  std::string response_key_template = "redge:response:{id}";
  std::string progress_channel_template = "redge:progress:{id}";
};

// The outcome of a jobs operation, mapped to HTTP statuses by the API layer.
struct Outcome {
  enum class Code { kOk, kNotFound, kBadRequest, kConflict, kLeaseLost, kUnavailable };
  Code code = Code::kOk;
  std::string message;

  bool ok() const { return code == Code::kOk; }
  static Outcome Ok() { return {}; }
  static Outcome Error(Code c, std::string m) { return {c, std::move(m)}; }
};

struct QueueInfo {
  std::string queue;
  int64_t depth = 0;
  int64_t running = 0;
  int64_t oldest_age_ms = 0;  // age of the oldest queued envelope, 0 when empty
};

class JobService {
 public:
  JobService(store::Store* store, JobsOptions options);
  ~JobService();
  JobService(const JobService&) = delete;
  JobService& operator=(const JobService&) = delete;

  // Registers the bridge observers, rebuilds the lease schedule and queue counters from
  // the store, and starts the lease reaper.
  store::Status Start();
  void Stop();

  struct EnqueueRequest {
    std::string queue;
    nlohmann::json payload;
    std::string correlation_id;   // empty: one is generated
    std::string idempotency_key;  // empty: none
  };
  // `created` is false when the idempotency key named an existing job.
  Outcome Enqueue(const EnqueueRequest& request, Job* job, bool* created);
  Outcome Get(const std::string& id, Job* job);
  // The job and its events with id > after.
  Outcome Read(const std::string& id, int64_t after, Job* job, std::vector<Event>* events);
  Outcome Cancel(const std::string& id, Job* job);

  // --- HTTP workers -------------------------------------------------------------------
  // Pops the oldest envelope of `queue` for `worker` (its lease starts in the same write)
  // or parks until one arrives. `done` runs once with the popped job's id (it may run on
  // the store's sync thread: it must not call back into the store; read the job with
  // LeasedJob from elsewhere). Returns a handle for CancelLease (0 if `done` already ran).
  using LeaseCallback = std::function<void(Outcome, std::string job_id)>;
  uint64_t LeaseAsync(const std::string& queue, const std::string& worker, LeaseCallback done);
  // The job `worker` just leased, if the lease is still its own.
  std::optional<Job> LeasedJob(const std::string& id, const std::string& worker);
  // True if the parked lease was withdrawn (then `done` never runs); false if it is
  // already being served.
  bool CancelLease(uint64_t handle);

  // Lease-holder operations; `token` is the job's lease_token. Events and heartbeats on a
  // job canceled under this lease succeed with *canceled = true and store nothing.
  Outcome AppendEvent(const std::string& id, const std::string& token, const std::string& type,
                      const nlohmann::json& data, int64_t* event_id, bool* canceled);
  Outcome Heartbeat(const std::string& id, const std::string& token, Job* job, bool* canceled);
  Outcome Complete(const std::string& id, const std::string& token, const nlohmann::json& result,
                   Job* job);
  Outcome Fail(const std::string& id, const std::string& token, const std::string& error,
               bool retry, Job* job);

  // --- Waiting for events ---------------------------------------------------------------
  // `fn` runs after every committed change of job `id` until Unwatch.
  uint64_t Watch(const std::string& id, std::function<void()> fn);
  void Unwatch(const std::string& id, uint64_t token);

  std::vector<QueueInfo> Queues();
  const JobsOptions& options() const { return options_; }
  // Lease expiries handled since start (for metrics and tests).
  int64_t lease_expiries() const { return lease_expiries_.load(); }

  // Public for the bridge and reaper (job_bridge.cc, lease_reaper in job_service.cc).
  struct TxnOps;

 private:
  void OnQueuePop(store::Txn& txn, const store::KeyEvent& event);
  void OnResponseSet(store::Txn& txn, const store::KeyEvent& event);
  void OnProgress(store::Txn& txn, std::string_view channel, std::string_view message);
  void ReaperLoop();
  void ScheduleLease(const std::string& id, int64_t deadline_ms);
  void ExpireLease(const std::string& id);
  void NotifyChanged(const std::string& id);
  void AdjustRunning(const std::string& queue, int delta);
  Outcome Unavailable(const store::Status& s);

  store::Store* store_;
  JobsOptions options_;
  KeyTemplate queue_key_, response_key_, progress_channel_;

  std::mutex watch_mu_;
  std::unordered_map<std::string, std::map<uint64_t, std::function<void()>>> watchers_;
  uint64_t next_watch_ = 1;

  std::mutex queues_mu_;
  std::map<std::string, int64_t> running_;  // queue -> running jobs (known queues)

  std::mutex lease_mu_;
  std::unordered_map<uint64_t, uint64_t> lease_waits_;  // our handle -> store waiter id

  // LeaseReaper: deadlines ordered by time; entries are checked against the record when
  // they fall due, so a renewed lease simply leaves a stale entry behind.
  std::mutex reaper_mu_;
  std::condition_variable reaper_cv_;
  std::multimap<int64_t, std::string> deadlines_;
  bool stopping_ = false;
  std::thread reaper_;
  std::atomic<int64_t> lease_expiries_{0};
  bool started_ = false;
};

// Helpers shared with the HTTP layer.
std::string NewJobId(int64_t now_ms);
std::string NewCorrelationId();
bool ValidQueueName(std::string_view queue);

}  // namespace redge::jobs
