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
// Every operation has two forms over one transaction body (txn_runner.h): a synchronous
// one that waits for the commit (threads, tests; never on an event loop, which the store
// enforces) and an ...Async one that never waits: its `done(outcome, result)` runs once the
// commit is durable (kUnavailable if it failed), on the committing thread.
//
// Thread-safety: every method is safe from any thread. Callbacks given to Watch,
// LeaseAsync and the ...Async operations run on the committing thread (the caller's, the
// store's writer or group-commit thread), outside the store lock; they must be short (post
// to an event loop).
#pragma once

#include <chrono>
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
#include "edge/jobs/txn_runner_fwd.h"
#include "store/store.h"

namespace redge {
struct Metrics;
}

namespace redge::jobs {

class EventStreamView;

struct JobsOptions {
  int64_t lease_timeout_ms = 60'000;
  int max_attempts = 3;
  int64_t result_ttl_ms = 3'600'000;
  std::string queue_key_template = "redge:queue:{queue}";
  std::string response_key_template = "redge:response:{id}";
  std::string progress_channel_template = "redge:progress:{id}";
  // The read-only stream view of a job's events (event_stream_view.h), in database 0.
  std::string events_stream_template = "redge:events:{id}";
  // Largest event data, as compact JSON, that is stored (a worker's event, a result in
  // the `completed` event): --max-event-bytes. Every stored event then fits an SSE
  // stream's buffer.
  int64_t max_event_bytes = 1 << 20;
};

// The outcome of a jobs operation, mapped to HTTP statuses by the API layer.
struct Outcome {
  enum class Code { kOk, kNotFound, kBadRequest, kConflict, kLeaseLost, kUnavailable, kTooLarge };
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
  nlohmann::json extra;       // detail a queue probe adds (Celery: depth per priority)
};

class JobService {
 public:
  // `metrics` (may be null; must outlive the service) gets the job counters and the
  // event-append histogram.
  JobService(store::Store* store, JobsOptions options, Metrics* metrics = nullptr);
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
    std::string idempotency_key;  // empty: none; scoped to the owner
    std::string owner;            // who enqueues (auth::Principal::owner); empty: nobody
  };
  // `created` is false when the idempotency key named an existing job.
  Outcome Enqueue(const EnqueueRequest& request, Job* job, bool* created);
  Outcome Get(const std::string& id, Job* job);
  // The job and its events with id > after, in order; once the records read total
  // `max_bytes` or more the rest is left for a later call (at least one event is read).
  Outcome Read(const std::string& id, int64_t after, Job* job, std::vector<Event>* events,
               size_t max_bytes = SIZE_MAX);
  Outcome Cancel(const std::string& id, Job* job);
  // failed / canceled -> queued again (attempt + 1, a `retrying` event, the record's TTL
  // removed) in one write. kConflict for a job in any other state.
  Outcome Retry(const std::string& id, Job* job);

  // A page of job records in id (creation) order, oldest first.
  struct ListRequest {
    std::string queue;              // empty: every queue
    std::optional<JobState> state;  // nullopt: every state
    int limit = 50;                 // jobs to return at most
    std::string cursor;             // resume after this job id; empty: from the start
  };
  struct ListPage {
    std::vector<Job> jobs;
    std::string next_cursor;  // empty: no more records
  };
  // Examines at most kListScanBudget records per call; when the budget runs out first,
  // the page may hold fewer than `limit` jobs and next_cursor says where to go on.
  static constexpr int kListScanBudget = 10'000;
  Outcome List(const ListRequest& request, ListPage* page);

  // The trace of a job: its record, every event, and the readers that received its
  // terminal state ({"reader", "peer", "at"} objects).
  Outcome Trace(const std::string& id, Job* job, std::vector<Event>* events,
                std::vector<nlohmann::json>* deliveries);
  // --- Asynchronous forms (event loops): the same operations, `done` after the commit --
  template <typename R>
  using Done = std::function<void(Outcome, R)>;
  struct EnqueueResult {
    Job job;
    bool created = false;
  };
  struct ReadResult {
    Job job;
    std::vector<Event> events;
  };
  struct TraceResult {
    Job job;
    std::vector<Event> events;
    std::vector<nlohmann::json> deliveries;
  };
  struct EventResult {
    int64_t event_id = 0;
    bool canceled = false;
  };
  struct HeartbeatResult {
    Job job;
    bool canceled = false;
  };
  void EnqueueAsync(EnqueueRequest request, Done<EnqueueResult> done);
  void GetAsync(std::string id, Done<Job> done);
  void ReadAsync(std::string id, int64_t after, size_t max_bytes, Done<ReadResult> done);
  void TraceAsync(std::string id, Done<TraceResult> done);
  void CancelAsync(std::string id, Done<Job> done);
  void RetryAsync(std::string id, Done<Job> done);
  void ListAsync(ListRequest request, Done<ListPage> done);
  void AppendEventAsync(std::string id, std::string token, std::string type, nlohmann::json data,
                        Done<EventResult> done);
  void HeartbeatAsync(std::string id, std::string token, Done<HeartbeatResult> done);
  void CompleteAsync(std::string id, std::string token, nlohmann::json result, Done<Job> done);
  void FailAsync(std::string id, std::string token, std::string error, bool retry, Done<Job> done);
  // Outcome: ok, or kUnavailable when the read could not run.
  void QueuesAsync(Done<std::vector<QueueInfo>> done);
  // LeasedJob's form: `done` gets the job if `worker` holds its lease.
  void LeasedJobAsync(std::string id, std::string worker,
                      std::function<void(std::optional<Job>)> done);

  // Notes that `reader` ("sse", "poll") at `peer` received the terminal state of job `id`.
  // Asynchronous: never waits for the disk (callers are event loops).
  void RecordDelivery(const std::string& id, const std::string& reader, const std::string& peer);

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
  // Ends a parked lease's wait (its timeout): true if withdrawn (`done` never runs). A
  // lease whose first pop is still queued behind other writes makes it, so a queue that
  // has jobs never answers "nothing": false, and `done` runs with a job id or "".
  bool TimeOutLease(uint64_t handle);

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
  // An event as it was committed, handed to watchers so that a live reader writes it
  // without reading the store (the in-memory tail of the job's log). `data_json` is the
  // event's data as compact JSON, the same bytes a read of the stored event yields.
  struct CommittedEvent {
    int64_t id = 0;
    std::string type;
    std::string data_json;
    int64_t ts = 0;
  };
  // `fn` runs after every committed change of job `id` until Unwatch, with the steady-clock
  // time the change became durable (readers measure their delivery latency from it) and,
  // when the change appended an event, that event (null for other changes: the job was
  // deleted, every job was flushed). It runs on the thread that committed: post from it.
  using WatchFn = std::function<void(std::chrono::steady_clock::time_point committed,
                                     std::shared_ptr<const CommittedEvent> event)>;
  uint64_t Watch(const std::string& id, WatchFn fn);
  void Unwatch(const std::string& id, uint64_t token);

  std::vector<QueueInfo> Queues();
  // Adds what Queues() reports for `info->queue` from lists the jobs layer does not own
  // (the Celery bridge: the queue's own list and its priority sub-queues). Called inside
  // Queues()' read with `txn` on database 0 (a probe that switches databases switches
  // back). Set once, before Start().
  using QueueProbe = std::function<void(store::Txn& txn, QueueInfo* info)>;
  void SetQueueProbe(QueueProbe probe) { queue_probe_ = std::move(probe); }
  // Whether `queue` may be used: a valid name (ValidQueueName) whose queue key is not one
  // of the jobs layer's own keys (a --queue-key-template like "redge:{queue}" with queue
  // "job:x" would name a job record). kBadRequest says why.
  Outcome CheckQueue(std::string_view queue) const;
  const JobsOptions& options() const { return options_; }
  // Lease expiries handled (committed) since start, for metrics and tests.
  int64_t lease_expiries() const { return lease_expiries_.load(); }

  // Public for the bridge and reaper (job_bridge.cc, lease_reaper in job_service.cc).
  struct TxnOps;

 private:
  // The transaction bodies of the operations (job_ops.cc), shared by both forms.
  TxnOp<EnqueueResult> EnqueueOp(EnqueueRequest request);
  TxnOp<ReadResult> ReadOp(std::string id, int64_t after, size_t max_bytes);
  TxnOp<TraceResult> TraceOp(std::string id);
  TxnOp<Job> CancelOp(std::string id);
  TxnOp<Job> RetryOp(std::string id);
  TxnOp<ListPage> ListOp(ListRequest request);
  TxnOp<EventResult> AppendEventOp(std::string id, std::string token, std::string type,
                                   nlohmann::json data);
  TxnOp<HeartbeatResult> HeartbeatOp(std::string id, std::string token);
  TxnOp<Job> CompleteOp(std::string id, std::string token, nlohmann::json result);
  TxnOp<Job> FailOp(std::string id, std::string token, std::string error, bool retry);
  TxnOp<std::vector<QueueInfo>> QueuesOp();
  static bool IsLeasedTo(const Job& job, const std::string& worker);

  void OnQueuePop(store::Txn& txn, const store::KeyEvent& event);
  void OnResponseSet(store::Txn& txn, const store::KeyEvent& event);
  void OnProgress(store::Txn& txn, std::string_view channel, std::string_view message);
  void ReaperLoop();
  void ScheduleLease(const std::string& id, int64_t deadline_ms);
  void ExpireLease(const std::string& id);
  // After the commit of an event appended at `appended`: times the append and wakes the
  // job's watchers.
  // Whether a reader watches job `id` now (then a committed event is handed to it).
  bool HasWatchers(const std::string& id);
  void OnEventCommitted(const std::string& id, std::chrono::steady_clock::time_point appended,
                        std::shared_ptr<const CommittedEvent> event);
  void WakeWatchers(const std::string& id, std::chrono::steady_clock::time_point committed,
                    std::shared_ptr<const CommittedEvent> event = nullptr);
  // Counts job `id` as running in `queue` or not (the redge_queue_running gauge).
  void SetRunning(const std::string& queue, const std::string& id, bool running);
  // A job record was deleted (DEL, UNLINK, expiry, RENAME over RESP): it stops counting
  // as running and its watchers are woken, so streams and long-polls on it end.
  void OnJobGone(const std::string& id);
  // Database 0 was flushed (FLUSHDB, FLUSHALL): every job is gone.
  void OnJobsFlushed();
  Outcome Unavailable(const store::Status& s);
  Outcome TooLarge(const std::string& what, size_t bytes) const;

  store::Store* store_;
  JobsOptions options_;
  QueueProbe queue_probe_;
  Metrics* metrics_;
  KeyTemplate queue_key_, response_key_, progress_channel_;
  // The stream view of job events (registered with the store by Start); Append signals its
  // key when it is not the event list's own name.
  std::shared_ptr<EventStreamView> events_view_;
  bool events_view_is_list_ = false;

  std::mutex watch_mu_;
  std::unordered_map<std::string, std::map<uint64_t, WatchFn>> watchers_;
  uint64_t next_watch_ = 1;

  std::mutex queues_mu_;
  // Known queues -> ids of their running jobs, and each running job's queue: ids rather
  // than counts, so a deleted job can leave the gauge.
  std::map<std::string, std::set<std::string>> running_;
  std::unordered_map<std::string, std::string> running_queue_;

  std::mutex lease_mu_;
  std::unordered_map<uint64_t, uint64_t> lease_waits_;  // our handle -> store waiter id

  // Deliveries waiting for their trace write. One write is queued at a time and takes
  // every delivery noted until it runs, so under load many share one commit.
  struct PendingDelivery {
    std::string id, reader, peer;
  };
  std::mutex deliveries_mu_;
  std::vector<PendingDelivery> pending_deliveries_;  // GUARDED_BY(deliveries_mu_)
  bool deliveries_write_queued_ = false;             // GUARDED_BY(deliveries_mu_)

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

// Helpers shared with the HTTP layer. Queue names: 1-128 characters of A-Z a-z 0-9 _ - . :,
// not "." or ".." (URL paths cannot carry those as a segment).
std::string NewJobId(int64_t now_ms);
std::string NewCorrelationId();
bool ValidQueueName(std::string_view queue);

}  // namespace redge::jobs
