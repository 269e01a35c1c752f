// CeleryBridge: every Celery task that goes through redge (as broker, result backend or
// both) is a redge job, with no change to the Celery app (docs/celery.md).
//
// Like the legacy-worker bridge (job_bridge.cc) it is made of store mutation observers,
// called inside the atomic write of the command that caused them, so a job and what Celery
// wrote commit together or not at all:
//  - a task message (kombu protocol 2, celery_message.h) pushed to any list becomes a job
//    whose id is the task id and whose queue is the list's name (without kombu's priority
//    suffix), `queued` in the same write: a browser may open /v1/jobs/<task id>/events the
//    moment `.delay()` returns;
//  - the pop of that message by a worker (its reservation) -> `started`;
//  - result-backend writes to `celery-task-meta-<id>`: PROGRESS -> `progress` (data: the
//    meta), other custom states -> that name in lower case, SUCCESS -> `completed`,
//    FAILURE -> `failed` ("Type: message"; the traceback only in the trace route), RETRY
//    -> `retrying`, REVOKED -> `canceled`;
//  - kombu restoring an unacknowledged message (its worker died) -> `retrying`;
//  - worker events (`-E`), when on, for tasks whose results redge does not see
//    (ignore_result, another backend): received/started/succeeded/failed/retried/revoked.
// It also revokes over Celery's own control channel (what `app.control.revoke` sends),
// enqueues Celery tasks from HTTP, reports Celery queues (with priority sub-queues) in
// /v1/queues and /metrics, and counts tasks per task name.
//
// Thread-safety: every public method is safe from any thread. Observers run under the
// store lock; their effects outside the store happen after commit.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "edge/jobs/celery_message.h"
#include "edge/jobs/job_service.h"
#include "store/store.h"

namespace redge {
struct Metrics;
class MetricWriter;
class Histogram;
class Counter;
}  // namespace redge

namespace redge::jobs {

struct CeleryOptions {
  // Key prefix of Celery's Redis result backend (Celery's default).
  std::string result_prefix = "celery-task-meta-";
  // kombu's `unacked` hash (transport option unacked_key).
  std::string unacked_key = "unacked";
  // kombu's transport option global_keyprefix: prepended to queue lists, the unacked hash
  // and fanout channels.
  std::string key_prefix;
  // Celery's control_exchange: revokes go to "/<db>.<exchange>.pidbox".
  std::string control_exchange = "celery";
  // Lifetime of the REVOKED result redge stores for a task it took out of its queue
  // (Celery's default result_expires: one day).
  int64_t revoked_result_ttl_ms = 86'400'000;
};

class CeleryBridge {
 public:
  // `jobs` and `metrics` (may be null) must outlive the bridge.
  CeleryBridge(store::Store* store, JobService* jobs, CeleryOptions options,
               Metrics* metrics = nullptr);
  ~CeleryBridge();
  CeleryBridge(const CeleryBridge&) = delete;
  CeleryBridge& operator=(const CeleryBridge&) = delete;

  // Registers the observers, the queue probe and the metrics collector, and learns the
  // Celery queues of the jobs already stored. Call once, after JobService::Start and
  // before serving traffic.
  store::Status Start();

  // DELETE /v1/jobs/<task id>: broadcasts Celery's `revoke` (terminate: also kill it if it
  // runs) and, for a task still in its queue, takes its message out and stores the
  // REVOKED result a worker would have stored, so the job ends `canceled` in this write
  // and no worker ever runs it. *handled is false (nothing done) when `id` is not a Celery
  // task. A running task ends when its worker reports REVOKED (or SUCCESS, for a running
  // task revoked without terminate).
  Outcome Revoke(const std::string& id, bool terminate, Job* job, bool* handled);

  // POST /v1/queues/{queue}/jobs with {"celery": spec}: LPUSHes the message a Celery
  // client would send (database 0); the job exists when this returns. `correlation_id`
  // (may be empty) is kept as the message's correlation_id header; `idempotency_key`
  // (may be empty) works as for other jobs; `owner` (may be empty) is the enqueuing
  // principal's owner (edge/auth). kBadRequest says what is wrong with `spec`.
  Outcome Enqueue(const std::string& queue, const nlohmann::json& spec,
                  const std::string& correlation_id, const std::string& idempotency_key,
                  const std::string& owner, Job* job, bool* created);

  // The asynchronous forms (event loops) of Revoke and Enqueue: the same transaction
  // bodies; `done` runs once the commit is durable, on the committing thread (see
  // JobService's ...Async operations).
  struct RevokeResult {
    Job job;
    bool handled = false;
  };
  void RevokeAsync(std::string id, bool terminate, JobService::Done<RevokeResult> done);
  void EnqueueAsync(std::string queue, nlohmann::json spec, std::string correlation_id,
                    std::string idempotency_key, std::string owner,
                    JobService::Done<JobService::EnqueueResult> done);

  // The trace route's view of a Celery job: its details with the traceback.
  static nlohmann::json TraceDetails(const Job& job);

 private:
  // The transaction bodies of Revoke and Enqueue (celery_api.cc). ParseEnqueue checks the
  // spec and the list it goes to; EnqueueOp is given the parsed task.
  TxnOp<RevokeResult> RevokeOp(std::string id, bool terminate);
  Outcome ParseEnqueue(const std::string& queue, const nlohmann::json& spec,
                       celery::NewTask* task) const;
  TxnOp<JobService::EnqueueResult> EnqueueOp(std::string queue, celery::NewTask task,
                                             std::string correlation_id,
                                             std::string idempotency_key, std::string owner);

  // --- observers (celery_bridge.cc) ----------------------------------------------------
  void OnList(store::Txn& txn, const store::KeyEvent& ev);
  void OnUnacked(store::Txn& txn, const store::KeyEvent& ev);
  void OnResult(store::Txn& txn, const store::KeyEvent& ev);
  void OnChannel(store::Txn& txn, std::string_view channel, std::string_view message);

  void OnPushed(store::Txn& txn, int db, std::string_view list, const std::string& raw,
                const celery::TaskMessage& msg);
  void OnReserved(store::Txn& txn, const celery::TaskMessage& msg, const std::string& worker);
  void OnWorkerEvent(store::Txn& txn, const nlohmann::json& event);

  // --- transitions (celery_transitions.cc); `txn` is on database 0 ---------------------
  void Create(store::Txn& txn, int db, std::string_view list, std::string_view queue,
              const std::string& raw, const celery::TaskMessage& msg);
  // queued -> running, after a pending `retrying` if the task asked for a retry. The
  // reservation of a retried task is held (no event yet) until the RETRY result gives the
  // reason, unless `force` (something shows it runs) or its results are ignored.
  void Start(store::Txn& txn, Job& job, const std::string& worker, bool force = false);
  // running -> queued (attempt + 1) with a `retrying` event now, or (`announce` false:
  // Task.retry re-sent it; the RETRY state that follows carries the reason) later.
  void ToQueued(store::Txn& txn, Job& job, const std::string& raw, bool announce,
                const std::string& reason, bool task_retry = false);
  // A `retrying` event; `task_retry`: for a re-send by Task.retry (counted, so the RETRY
  // results that follow are matched to re-sends), else for a kombu restore.
  void AnnounceRetry(store::Txn& txn, Job& job, const std::string& reason, bool task_retry);
  // Re-sends by Task.retry not announced yet.
  static int64_t PendingRetries(const nlohmann::json& celery);
  // A RETRY result (or task-retried event) with its reason: announces the pending re-send
  // it belongs to, or records the reason of one announced already.
  void OnRetryReported(store::Txn& txn, Job& job, const std::string& reason);
  void Finish(store::Txn& txn, Job& job, JobState state, nlohmann::json result,
              const std::string& error);
  // Takes a queued job's message out of its list (in its broker database).
  void RemoveQueuedMessage(store::Txn& txn, Job& job);
  void ApplyResult(store::Txn& txn, Job& job, const celery::ResultMeta& meta, int db);

  // --- queues and metrics (celery_api.cc) --------------------------------------------
  void ProbeQueue(store::Txn& txn, QueueInfo* info);
  void NoteQueue(std::string queue, int db);
  // The store-internal record naming a Celery queue and its broker database, so a restart
  // knows the queues without reading every job; kKnownQueuesFormatName says they are kept.
  static constexpr std::string_view kKnownQueuePrefix = "celery:queue:";
  static constexpr std::string_view kKnownQueuesFormatName = "celery:format";
  static std::string KnownQueueRecord(std::string_view queue, int db);
  void CollectMetrics(MetricWriter& w);
  struct TaskStats;
  // The stats of `task` (a bounded set of names; the rest share "other").
  TaskStats& Stats(const std::string& task);
  // After commit: counts `what` for `task` ("received", "started", "succeeded", "failed",
  // "retried", "revoked"); `seconds` >= 0 also observes a wait or run time.
  void Count(store::Txn& txn, const std::string& task, const char* what, double seconds = -1);

  store::Store* store_;
  JobService* jobs_;
  CeleryOptions options_;
  Metrics* metrics_;
  std::atomic<int64_t> clock_{0};    // the Lamport clock stamped on broadcasts
  std::atomic<int> backend_db_{-1};  // where results were last written (-1: unknown)

  std::mutex mu_;
  std::map<std::string, std::set<int>> queues_;  // Celery queue -> broker databases
  // Delivery tag -> task id of reserved tasks whose results are ignored: their
  // acknowledgement is all redge sees of their end (without worker events).
  std::unordered_map<std::string, std::string> ignored_tags_;
  std::map<std::string, std::unique_ptr<TaskStats>> stats_;
  // The RESP connection a worker reserves tasks on ("resp:12") -> its Celery hostname,
  // learnt from a STARTED result (task_track_started) or a task-received event: the
  // reservations that follow name the worker.
  std::unordered_map<std::string, std::string> worker_names_;
  void LearnWorker(store::Txn& txn, const std::string& client, const std::string& hostname);
  std::string WorkerName(const std::string& client);
};

// A Celery task id redge accepts as a job id: 1-128 characters of A-Z a-z 0-9 _ - . :
// (Celery's UUIDs and most custom ids), so it fits a URL path segment and a log line.
bool ValidCeleryTaskId(std::string_view id);

}  // namespace redge::jobs
