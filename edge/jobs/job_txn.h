// Internal to edge/jobs: key names and the in-transaction steps of the job lifecycle.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "edge/jobs/job_service.h"

namespace redge::jobs {

std::string JobKey(std::string_view id);
std::string EventsKey(std::string_view id);
// redge:idem:<length of queue>:<queue>:<key>: one key per (queue, key) pair.
std::string IdempotencyKey(std::string_view queue, std::string_view key, std::string_view owner);
// Keys the jobs layer writes itself (never a worker's response or queue key).
bool IsInternalKey(std::string_view key);
// Which readers received a job's terminal event (for the trace).
std::string DeliveriesKey(std::string_view id);
// The running-jobs index: one store-internal record per running job (name
// kRunningIndexPrefix + id, value its queue), written in the same write that changes the
// job's state (TxnOps::Save), so a restart finds the leases to watch without reading
// every job. Internal records are not keys: KEYS, SCAN, DBSIZE and FLUSHALL never see
// them (an entry whose job was flushed is dropped at the next start).
inline constexpr std::string_view kRunningIndexPrefix = "jobs:running:";
// Known queues (listed by GET /v1/queues even when empty): one internal record per queue,
// kQueuePrefix + name, written by the first enqueue a running redge sees for it.
inline constexpr std::string_view kQueuePrefix = "jobs:queue:";
// The internal record saying the index is kept ("2"). Absent in data written before the
// index existed: Start() then reads every job once and builds the index.
inline constexpr std::string_view kJobsFormatName = "jobs:format";
inline constexpr std::string_view kJobsFormat = "2";

// Each step runs inside a store transaction; see job_txn.cc.
struct JobService::TxnOps {
  static std::optional<Job> Load(store::Txn& txn, std::string_view id);
  static void Save(store::Txn& txn, const Job& job, int64_t expire_at_ms = 0);
  // Appends an event to the job's log (job.last_event_id advances; the caller saves) and
  // returns its id; or returns 0 and changes nothing when its data, as compact JSON, is
  // over options().max_event_bytes (*data_bytes, if given, gets that size either way).
  static int64_t Append(JobService& svc, store::Txn& txn, Job& job, std::string type,
                        nlohmann::json data, size_t* data_bytes = nullptr);
  // queued -> running for `holder`, with a `started` event; saves.
  static void StartLease(JobService& svc, store::Txn& txn, Job& job, const std::string& holder);
  // Moves the lease deadline forward (the caller saves).
  static void ExtendLease(JobService& svc, store::Txn& txn, Job& job);
  // Saves the job as queued and LPUSHes its envelope.
  static void Enqueue(JobService& svc, store::Txn& txn, Job& job);
  // running (or failed-with-retry) -> queued with attempt + 1 and a `retrying` event.
  static void Requeue(JobService& svc, store::Txn& txn, Job& job, const std::string& reason);
  // -> completed / failed / canceled with its terminal event; starts the result TTL. The
  // error text is cut to kMaxErrorTextBytes. Returns false and changes nothing when the
  // completed event ({"result": ...}) would be over max_event_bytes (*data_bytes: its size).
  static bool Finish(JobService& svc, store::Txn& txn, Job& job, JobState state,
                     nlohmann::json result, std::string error, size_t* data_bytes = nullptr);
  // Finish as completed; a result over the event size limit fails the job instead, with
  // an error saying so (the legacy bridge, whose worker cannot be answered).
  static void FinishOrFailTooLarge(JobService& svc, store::Txn& txn, Job& job,
                                   nlohmann::json result);

  // For bridges that move jobs themselves (the Celery bridge), after the commit: `job`
  // counts as running in its queue or not (redge_queue_running, /v1/queues).
  static void MarkRunning(JobService& svc, store::Txn& txn, const Job& job, bool running);
  // A job was created in `queue`: the queue is known from now on (listed by Queues()) and
  // redge_jobs_enqueued_total counts it.
  static void NoteEnqueued(JobService& svc, store::Txn& txn, const std::string& queue);
  // redge_jobs_retried_total counts one more retry in `queue`.
  static void NoteRetried(JobService& svc, store::Txn& txn, const std::string& queue);
};

}  // namespace redge::jobs
