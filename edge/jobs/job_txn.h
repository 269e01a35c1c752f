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
std::string IdempotencyKey(std::string_view queue, std::string_view key);
// Keys the jobs layer writes itself (never a worker's response or queue key).
bool IsInternalKey(std::string_view key);
// Which readers received a job's terminal event (for the trace).
std::string DeliveriesKey(std::string_view id);

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
};

}  // namespace redge::jobs
