// JobService::TxnOps: the record-level steps of the job lifecycle, each run inside a store
// transaction so a state change and its event commit together. Effects outside the store
// (waking waiters, scheduling lease expiries, queue counters, metrics) are registered as
// AfterCommit hooks, so they happen only if the write did.
#include "edge/jobs/job_txn.h"

#include <chrono>

#include "edge/jobs/event_stream_view.h"
#include "edge/json_input.h"
#include "edge/log.h"
#include "edge/metrics.h"
#include "store/keys.h"
#include "store/lists.h"
#include "store/strings.h"

namespace redge::jobs {

namespace st = redge::store;

std::string JobKey(std::string_view id) { return "redge:job:" + std::string(id); }
std::string EventsKey(std::string_view id) { return "redge:events:" + std::string(id); }
std::string IdempotencyKey(std::string_view queue, std::string_view key, std::string_view owner) {
  // Length-prefixed: ':' is legal in queue names and keys, so "a" + "b:c" and "a:b" + "c"
  // must not name the same record.
  std::string scoped =
      std::to_string(queue.size()) + ":" + std::string(queue) + ":" + std::string(key);
  if (owner.empty()) return "redge:idem:" + scoped;
  // One owner's keys never name another's job (nor an ownerless one: "o" never starts the
  // unowned form, whose first character is a digit).
  return "redge:idem:o" + std::to_string(owner.size()) + ":" + std::string(owner) + ":" + scoped;
}
bool IsInternalKey(std::string_view key) {
  return key.substr(0, 6) == "redge:" &&
         (key.substr(0, 10) == "redge:job:" || key.substr(0, 13) == "redge:events:" ||
          key.substr(0, 11) == "redge:idem:" || key.substr(0, 17) == "redge:deliveries:");
}

std::string DeliveriesKey(std::string_view id) { return "redge:deliveries:" + std::string(id); }

std::optional<Job> JobService::TxnOps::Load(st::Txn& txn, std::string_view id) {
  auto raw = st::strings::Get(txn, JobKey(id));
  if (!raw.ok()) return std::nullopt;
  auto job = Job::FromRecord(*raw);
  if (job) job->stored_running = job->state == JobState::kRunning;
  return job;
}

void JobService::TxnOps::Save(st::Txn& txn, const Job& job, int64_t expire_at_ms) {
  st::strings::SetOptions options;
  if (expire_at_ms > 0) options.expire_at_ms = expire_at_ms;
  (void)st::strings::Set(txn, JobKey(job.id), job.ToRecord(), options);
  // The running-jobs index changes with the state, in the same write.
  const bool running = job.state == JobState::kRunning;
  if (running && !job.stored_running) {
    txn.PutInternal(std::string(kRunningIndexPrefix) + job.id, job.queue);
  } else if (!running && job.stored_running) {
    txn.DeleteInternal(std::string(kRunningIndexPrefix) + job.id);
  }
  job.stored_running = running;
}

int64_t JobService::TxnOps::Append(JobService& svc, st::Txn& txn, Job& job, std::string type,
                                   nlohmann::json data, size_t* data_bytes) {
  // Checked here, where every event is written, so no stored event can be too big for an
  // SSE stream's buffer (the one serialization of the data serves the check and the record).
  const std::string data_json = DumpJson(data);
  if (data_bytes) *data_bytes = data_json.size();
  if (data_json.size() > static_cast<size_t>(svc.options_.max_event_bytes)) return 0;
  Event e;
  e.id = ++job.last_event_id;
  e.type = std::move(type);
  e.ts = txn.now_ms();
  job.updated_at = e.ts;
  (void)st::lists::Push(txn, EventsKey(job.id), st::ListEnd::kRight, {e.ToRecord(data_json)},
                        false);
  // A blocked XREAD on the stream view of the events is served by this write (the push
  // signals the list's own name, which is the view's with the default template).
  if (svc.events_view_ && !svc.events_view_is_list_) {
    txn.SignalKeyReady(svc.events_view_->KeyOf(job.id));
  }
  std::string id = job.id;
  const auto appended = std::chrono::steady_clock::now();
  // Only built when someone reads the job live (watchers are registered before they read).
  std::shared_ptr<const CommittedEvent> committed;
  if (svc.HasWatchers(id)) {
    committed =
        std::make_shared<const CommittedEvent>(CommittedEvent{e.id, e.type, data_json, e.ts});
  }
  txn.AfterCommit([&svc, id, appended, committed = std::move(committed)]() mutable {
    svc.OnEventCommitted(id, appended, std::move(committed));
  });
  return e.id;
}

void JobService::TxnOps::StartLease(JobService& svc, st::Txn& txn, Job& job,
                                    const std::string& holder) {
  const int64_t now = txn.now_ms();
  job.state = JobState::kRunning;
  job.lease_holder = holder.empty() ? "unknown" : holder;
  job.lease_token = NewCorrelationId();
  job.lease_expires_at = now + svc.options_.lease_timeout_ms;
  if (job.started_at == 0) job.started_at = now;
  job.envelope.clear();
  Append(svc, txn, job, "started",
         {{"worker", CapText(job.lease_holder, 1024)}, {"attempt", job.attempt}});
  Save(txn, job);
  std::string id = job.id, queue = job.queue;
  int64_t deadline = job.lease_expires_at;
  txn.AfterCommit([&svc, id, queue, deadline] {
    svc.SetRunning(queue, id, true);
    svc.ScheduleLease(id, deadline);
  });
  Log(spdlog::level::info, "job leased",
      {{"job_id", std::string(job.id)},
       {"correlation_id", std::string(job.correlation_id)},
       {"queue", std::string(job.queue)},
       {"worker", std::string(job.lease_holder)},
       {"attempt", std::to_string(job.attempt)}});
}

void JobService::TxnOps::ExtendLease(JobService& svc, st::Txn& txn, Job& job) {
  job.lease_expires_at = txn.now_ms() + svc.options_.lease_timeout_ms;
  std::string id = job.id;
  int64_t deadline = job.lease_expires_at;
  txn.AfterCommit([&svc, id, deadline] { svc.ScheduleLease(id, deadline); });
}

void JobService::TxnOps::Enqueue(JobService& svc, st::Txn& txn, Job& job) {
  job.state = JobState::kQueued;
  job.envelope = MakeEnvelope(job, txn.now_ms());
  Save(txn, job);
  // Pushed last: the push may serve a parked BRPOP or lease inside this same write, and
  // that pop's observer must find the record already queued.
  (void)st::lists::Push(txn, svc.queue_key_.Format(job.queue), st::ListEnd::kLeft, {job.envelope},
                        false);
}

void JobService::TxnOps::Requeue(JobService& svc, st::Txn& txn, Job& job,
                                 const std::string& reason) {
  const bool was_running = job.state == JobState::kRunning;
  std::string previous = job.lease_holder;
  if (!previous.empty()) job.former_holders.push_back(previous);
  job.lease_holder.clear();
  job.lease_token.clear();
  job.lease_expires_at = 0;
  job.attempt++;
  Append(svc, txn, job, "retrying",
         {{"attempt", job.attempt},
          {"reason", CapText(reason)},
          {"previous_worker", CapText(previous, 1024)}});
  if (was_running) {
    txn.AfterCommit([&svc, queue = job.queue, id = job.id] { svc.SetRunning(queue, id, false); });
  }
  if (Metrics* m = svc.metrics_) {
    txn.AfterCommit([m, queue = job.queue] { m->jobs_retried->With(queue).Inc(); });
  }
  Log(spdlog::level::warn, "job retrying",
      {{"job_id", std::string(job.id)},
       {"correlation_id", std::string(job.correlation_id)},
       {"queue", std::string(job.queue)},
       {"attempt", std::to_string(job.attempt)},
       {"reason", std::string(reason)}});
  Enqueue(svc, txn, job);
}

bool JobService::TxnOps::Finish(JobService& svc, st::Txn& txn, Job& job, JobState state,
                                nlohmann::json result, std::string error, size_t* data_bytes) {
  // The terminal event first: if it cannot be stored, nothing else changes.
  nlohmann::json data = nlohmann::json::object();
  if (state == JobState::kCompleted) {
    data["result"] = result;
  } else {
    error = CapText(error);
    if (state == JobState::kFailed) data["error"] = error;
  }
  if (Append(svc, txn, job, std::string(StateName(state)), std::move(data), data_bytes) == 0) {
    return false;
  }
  const bool was_running = job.state == JobState::kRunning;
  const bool was_queued = job.state == JobState::kQueued;
  if (was_queued && !job.envelope.empty()) {
    // A canceled queued job leaves its queue so no worker ever sees it.
    (void)st::lists::Rem(txn, svc.queue_key_.Format(job.queue), 1, job.envelope);
  }
  const int64_t now = txn.now_ms();
  job.state = state;
  job.finished_at = now;
  job.envelope.clear();
  job.lease_expires_at = 0;
  if (state == JobState::kCompleted) {
    job.result = std::move(result);
  } else {
    job.error = std::move(error);
  }
  const int64_t expire_at = now + svc.options_.result_ttl_ms;
  Save(txn, job, expire_at);
  (void)st::keys::ExpireAt(txn, EventsKey(job.id), expire_at, {});
  if (!job.idempotency_key.empty()) {
    (void)st::keys::ExpireAt(txn, IdempotencyKey(job.queue, job.idempotency_key, job.owner),
                             expire_at, {});
  }
  if (was_running) {
    txn.AfterCommit([&svc, queue = job.queue, id = job.id] { svc.SetRunning(queue, id, false); });
  }
  if (Metrics* m = svc.metrics_) {
    CounterFamily* counter = state == JobState::kCompleted ? m->jobs_completed
                             : state == JobState::kFailed  ? m->jobs_failed
                                                           : m->jobs_canceled;
    txn.AfterCommit([counter, queue = job.queue] { counter->With(queue).Inc(); });
  }
  Log(spdlog::level::info, "job finished",
      {{"state", std::string(StateName(state))},
       {"job_id", std::string(job.id)},
       {"correlation_id", std::string(job.correlation_id)},
       {"queue", std::string(job.queue)},
       {"attempt", std::to_string(job.attempt)}});
  return true;
}

void JobService::TxnOps::FinishOrFailTooLarge(JobService& svc, st::Txn& txn, Job& job,
                                              nlohmann::json result) {
  size_t bytes = 0;
  if (Finish(svc, txn, job, JobState::kCompleted, std::move(result), "", &bytes)) return;
  std::string why = "the result is " + std::to_string(bytes) +
                    " bytes as JSON, over the event size limit of " +
                    std::to_string(svc.options_.max_event_bytes) + " bytes (--max-event-bytes)";
  Log(spdlog::level::warn, "result refused",
      {{"job_id", std::string(job.id)},
       {"correlation_id", std::string(job.correlation_id)},
       {"client", std::string(txn.client())},
       {"reason", why}});
  Finish(svc, txn, job, JobState::kFailed, nullptr, why);
}

void JobService::TxnOps::MarkRunning(JobService& svc, st::Txn& txn, const Job& job, bool running) {
  txn.AfterCommit(
      [&svc, queue = job.queue, id = job.id, running] { svc.SetRunning(queue, id, running); });
}

void JobService::TxnOps::NoteEnqueued(JobService& svc, st::Txn& txn, const std::string& queue) {
  bool known;
  {
    std::lock_guard lock(svc.queues_mu_);
    known = svc.running_.count(queue) > 0;
  }
  if (!known) txn.PutInternal(std::string(kQueuePrefix) + queue, "");
  txn.AfterCommit([&svc, queue] {
    {
      std::lock_guard lock(svc.queues_mu_);
      svc.running_[queue];  // a known queue from now on
    }
    if (svc.metrics_) svc.metrics_->jobs_enqueued->With(queue).Inc();
  });
}

void JobService::TxnOps::NoteRetried(JobService& svc, st::Txn& txn, const std::string& queue) {
  if (Metrics* m = svc.metrics_) {
    txn.AfterCommit([m, queue] { m->jobs_retried->With(queue).Inc(); });
  }
}

}  // namespace redge::jobs
