// The Celery bridge's job transitions, each inside the write of what caused it (see
// celery_bridge.h for the mapping). `txn` is on database 0, where jobs live; a task's
// broker list may be in another database (the record's "db").
#include <algorithm>
#include <cctype>

#include "edge/jobs/celery_bridge.h"
#include "edge/jobs/celery_internal.h"
#include "edge/jobs/job_txn.h"
#include "edge/json_input.h"
#include "edge/log.h"
#include "store/lists.h"

namespace redge::jobs {

namespace st = redge::store;
using celery_internal::Bool;
using celery_internal::DbScope;
using celery_internal::Int;
using celery_internal::OrNull;
using celery_internal::Str;
using nlohmann::json;
using Ops = JobService::TxnOps;

namespace {

bool PrintableCorrelation(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// The ids of a result's "children": [[[id, parent], nested], ...] as Celery encodes them.
json ChildIds(const json& children) {
  json ids = json::array();
  if (!children.is_array()) return ids;
  for (const auto& child : children) {
    if (ids.size() >= 100) break;
    if (child.is_array() && !child.empty() && child[0].is_array() && !child[0].empty() &&
        child[0][0].is_string()) {
      ids.push_back(child[0][0]);
    }
  }
  return ids;
}

// The lower-case name of a custom state, or "" when it cannot be an event name of its own
// (invalid characters, or one of redge's reserved names such as "completed").
std::string CustomEventName(const std::string& state) {
  std::string name = state;
  for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!ValidEventType(name) || IsReservedEventType(name)) return "";
  return name;
}

double SecondsBetween(int64_t from_ms, int64_t to_ms) {
  return from_ms > 0 && to_ms >= from_ms ? static_cast<double>(to_ms - from_ms) / 1000.0 : -1;
}

}  // namespace

void CeleryBridge::Create(st::Txn& txn, int db, std::string_view list, std::string_view queue,
                          const std::string& raw, const celery::TaskMessage& msg) {
  const int64_t now = txn.now_ms();
  Job j;
  j.id = msg.id;
  j.queue = std::string(queue);
  j.correlation_id = PrintableCorrelation(msg.correlation_id) ? msg.correlation_id : msg.id;
  j.attempt = msg.retries + 1;
  j.max_attempts = j.attempt;  // Celery decides about retries, not redge
  j.created_at = j.updated_at = now;
  j.envelope = raw;
  auto size = [](int64_t n) { return n < 0 ? json(nullptr) : json(n); };
  j.celery = {{"task", msg.task},
              {"db", db},
              {"list", std::string(list)},
              {"priority", msg.priority},
              {"retries", msg.retries},
              {"retries_announced", msg.retries},
              {"retry_results", msg.retries},
              {"parent_id", OrNull(msg.parent_id)},
              {"root_id", OrNull(msg.root_id)},
              {"group_id", OrNull(msg.group_id)},
              {"eta", OrNull(msg.eta)},
              {"expires", OrNull(msg.expires)},
              {"ignore_result", msg.ignore_result},
              {"body_bytes", msg.body_bytes},
              {"args_bytes", size(msg.args_bytes)},
              {"kwargs_bytes", size(msg.kwargs_bytes)},
              {"chord_callback_id", OrNull(msg.chord_callback_id)},
              {"callback_ids", msg.callback_ids},
              {"worker", nullptr},
              {"state", "PENDING"},
              {"queued_at", now}};
  Ops::Append(*jobs_, txn, j, "queued",
              {{"queue", j.queue}, {"attempt", j.attempt}, {"task", msg.task}});
  Ops::Save(txn, j);
  Ops::NoteEnqueued(*jobs_, txn, j.queue);
  bool known;
  {
    std::lock_guard lock(mu_);
    auto it = queues_.find(j.queue);
    known = it != queues_.end() && it->second.count(db) > 0;
  }
  if (!known) txn.PutInternal(KnownQueueRecord(j.queue, db), "");
  txn.AfterCommit([this, queue = j.queue, db] { NoteQueue(queue, db); });
  Count(txn, msg.task, "received");
  if (!LogEnabled(spdlog::level::info)) return;  // the fields cost allocations per task
  Log(spdlog::level::info, "celery task queued",
      {{"job_id", j.id},
       {"correlation_id", j.correlation_id},
       {"queue", j.queue},
       {"task", msg.task},
       {"args_bytes", std::to_string(msg.args_bytes)},
       {"kwargs_bytes", std::to_string(msg.kwargs_bytes)},
       {"priority", std::to_string(msg.priority)}});
}

void CeleryBridge::Start(st::Txn& txn, Job& job, const std::string& worker, bool force) {
  json& held = job.celery;
  if (PendingRetries(held) > 0) {
    // Task.retry re-sends the task, then stores RETRY with the reason; another worker
    // process may reserve the new message in between. The `retrying` event (with that
    // reason) must come before `started`: hold the reservation until RETRY arrives.
    if (!force && !Bool(held, "ignore_result")) {
      const std::string held_by = Str(held, "held_reservation");
      if (held_by.empty()) {
        held["held_reservation"] = worker;
      } else if (!worker.empty() && worker.rfind("resp:", 0) != 0) {
        LearnWorker(txn, held_by, worker);  // a worker event names the holder
        held["held_reservation"] = worker;
      }
      job.envelope.clear();
      Ops::Save(txn, job);
      return;
    }
    // It runs: announce without the reason (a RETRY that comes later only records it).
    for (int i = 0; i < 16 && PendingRetries(held) > 0; ++i) {
      AnnounceRetry(txn, job, "the task asked to be retried (Task.retry)", true);
    }
  }
  std::string reserved_by = worker;
  if (auto h = held.find("held_reservation"); h != held.end()) {
    const std::string held_by = h->is_string() ? h->get<std::string>() : "";
    held.erase(h);
    if (force && !worker.empty() && worker.rfind("resp:", 0) != 0) {
      LearnWorker(txn, held_by, worker);  // a STARTED result or event names the worker
    } else {
      reserved_by = held_by;
    }
  }
  const int64_t now = txn.now_ms();
  job.state = JobState::kRunning;
  job.lease_holder = reserved_by.empty() ? "unknown" : WorkerName(reserved_by);
  job.lease_token.clear();  // no lease: HTTP workers cannot act on a Celery task
  job.lease_expires_at = 0;
  if (job.started_at == 0) job.started_at = now;
  job.envelope.clear();
  json& c = job.celery;
  const double wait = SecondsBetween(Int(c, "queued_at"), now);
  c["run_started_at"] = now;
  Ops::Append(*jobs_, txn, job, "started",
              {{"worker", CapText(job.lease_holder, 1024)}, {"attempt", job.attempt}});
  Ops::Save(txn, job);
  Ops::MarkRunning(*jobs_, txn, job, true);
  Count(txn, Str(c, "task"), "started", wait);
  if (!LogEnabled(spdlog::level::info)) return;
  Log(spdlog::level::info, "celery task reserved",
      {{"job_id", job.id},
       {"correlation_id", job.correlation_id},
       {"queue", job.queue},
       {"task", Str(c, "task")},
       {"worker", job.lease_holder},
       {"attempt", std::to_string(job.attempt)}});
}

void CeleryBridge::ToQueued(st::Txn& txn, Job& job, const std::string& raw, bool announce,
                            const std::string& reason, bool task_retry) {
  const bool was_running = job.state == JobState::kRunning;
  json& c = job.celery;
  const std::string previous = job.lease_holder;
  if (!previous.empty() && job.former_holders.size() < 32) job.former_holders.push_back(previous);
  c["previous_worker"] = OrNull(previous);
  job.lease_holder.clear();
  job.attempt++;
  job.max_attempts = std::max(job.max_attempts, job.attempt);
  job.state = JobState::kQueued;
  job.envelope = raw;
  c["queued_at"] = txn.now_ms();
  if (announce) AnnounceRetry(txn, job, reason, task_retry);
  Ops::Save(txn, job);
  if (was_running) Ops::MarkRunning(*jobs_, txn, job, false);
}

void CeleryBridge::AnnounceRetry(st::Txn& txn, Job& job, const std::string& reason,
                                 bool task_retry) {
  json& c = job.celery;
  if (task_retry) c["retries_announced"] = Int(c, "retries_announced") + 1;
  c["retry_reason"] = CapText(reason);
  std::string previous = Str(c, "previous_worker");
  Ops::Append(*jobs_, txn, job, "retrying",
              {{"attempt", job.attempt},
               {"reason", CapText(reason)},
               {"previous_worker", CapText(previous, 1024)}});
  Ops::NoteRetried(*jobs_, txn, job.queue);
  Count(txn, Str(c, "task"), "retried");
  Log(spdlog::level::warn, "celery task retrying",
      {{"job_id", job.id},
       {"correlation_id", job.correlation_id},
       {"queue", job.queue},
       {"task", Str(c, "task")},
       {"attempt", std::to_string(job.attempt)},
       {"reason", CapText(reason, 1024)}});
}

void CeleryBridge::RemoveQueuedMessage(st::Txn& txn, Job& job) {
  if (job.envelope.empty()) return;
  DbScope broker(txn, static_cast<int>(Int(job.celery, "db")));
  (void)st::lists::Rem(txn, Str(job.celery, "list"), 0, job.envelope);
  job.envelope.clear();
}

void CeleryBridge::Finish(st::Txn& txn, Job& job, JobState state, json result,
                          const std::string& error) {
  if (job.state == JobState::kQueued) RemoveQueuedMessage(txn, job);
  job.envelope.clear();  // the jobs layer must not look for it in a redge queue
  const double run = SecondsBetween(Int(job.celery, "run_started_at"), txn.now_ms());
  const std::string task = Str(job.celery, "task");
  if (state == JobState::kCompleted) {
    Ops::FinishOrFailTooLarge(*jobs_, txn, job, std::move(result));
  } else {
    Ops::Finish(*jobs_, txn, job, state, nullptr, error);
  }
  Count(txn, task,
        job.state == JobState::kCompleted ? "succeeded"
        : job.state == JobState::kFailed  ? "failed"
                                          : "revoked",
        run);
}

void CeleryBridge::ApplyResult(st::Txn& txn, Job& job, const celery::ResultMeta& meta, int db) {
  json& c = job.celery;
  c["backend_seen"] = true;
  c["backend_db"] = db;
  c["state"] = meta.status;
  if (!meta.group_id.empty()) c["group_id"] = meta.group_id;
  if (!meta.parent_id.empty()) c["parent_id"] = meta.parent_id;
  if (json ids = ChildIds(meta.children); !ids.empty()) c["children"] = std::move(ids);
  const std::string& s = meta.status;
  auto ensure_started = [&](const std::string& worker) {
    // A result of the running attempt: it was reserved, whatever redge saw of that.
    if (job.state == JobState::kQueued) {
      Start(txn, job, worker.empty() ? txn.client() : worker, /*force=*/true);
    }
  };
  // After the reason of a retry is known: a reservation held for it starts now.
  auto release_held = [&]() {
    if (job.state == JobState::kQueued && job.celery.contains("held_reservation")) {
      Start(txn, job, Str(job.celery, "held_reservation"));
    }
  };
  if (s == "PENDING") {
    Ops::Save(txn, job);
  } else if (s == "STARTED") {
    // task_track_started: the worker's hostname and pid, known only now.
    std::string host = meta.result.is_object() ? Str(meta.result, "hostname") : "";
    if (!host.empty()) c["worker"] = host;
    if (meta.result.is_object() && meta.result.contains("pid")) c["pid"] = meta.result["pid"];
    if (job.state == JobState::kQueued && PendingRetries(c) > 0 && !Bool(c, "ignore_result")) {
      // The new run stored STARTED before the previous run stored RETRY (Task.retry sends
      // the message first): hold this start like a reservation, so that `retrying` comes
      // first and carries its reason; the RETRY releases it.
      const std::string held = Str(c, "held_reservation");
      if (!host.empty()) {
        LearnWorker(txn, held, host);
        c["held_reservation"] = host;
      } else if (held.empty()) {
        c["held_reservation"] = txn.client();
      }
      job.envelope.clear();
      Ops::Save(txn, job);
      return;
    }
    ensure_started(host);
    if (!host.empty()) {
      LearnWorker(txn, job.lease_holder, host);
      job.lease_holder = host;
    }
    Ops::Save(txn, job);
  } else if (s == "SUCCESS") {
    ensure_started("");
    Finish(txn, job, JobState::kCompleted, meta.result, "");
  } else if (s == "FAILURE") {
    ensure_started("");
    if (meta.result.is_object()) {
      c["exception"] = {{"type", meta.result.value("exc_type", json())},
                        {"module", meta.result.value("exc_module", json())},
                        {"message", meta.result.value("exc_message", json())}};
    }
    c["traceback"] = CapText(meta.traceback, 64 * 1024);
    Finish(txn, job, JobState::kFailed, nullptr, celery::ExceptionText(meta.result));
  } else if (s == "RETRY") {
    c["traceback"] = CapText(meta.traceback, 64 * 1024);
    OnRetryReported(txn, job, celery::ExceptionText(meta.result));
    release_held();
  } else if (s == "REVOKED") {
    std::string why = "revoked";
    if (meta.result.is_object()) {
      json m = meta.result.value("exc_message", json());
      if (m.is_array() && !m.empty() && m[0].is_string()) why = m[0].get<std::string>();
      if (m.is_string()) why = m.get<std::string>();
    }
    Finish(txn, job, JobState::kCanceled, nullptr, why.empty() ? "revoked" : why);
  } else {
    // update_state(state=S, meta=M): PROGRESS -> "progress", any other S -> s, with M.
    ensure_started("");
    std::string type = s == "PROGRESS" ? "progress" : CustomEventName(s);
    json data = meta.result;
    if (type.empty()) {
      type = "state";
      data = {{"state", s}, {"meta", meta.result}};
    }
    size_t bytes = 0;
    if (Ops::Append(*jobs_, txn, job, type, std::move(data), &bytes) == 0) {
      Log(spdlog::level::warn, "celery state refused",
          {{"job_id", job.id},
           {"correlation_id", job.correlation_id},
           {"state", CapText(s, 64)},
           {"reason", std::to_string(bytes) + " bytes as JSON, over the event size limit of " +
                          std::to_string(jobs_->options().max_event_bytes) +
                          " bytes (--max-event-bytes)"}});
    }
    Ops::Save(txn, job);
  }
}

void CeleryBridge::LearnWorker(st::Txn& txn, const std::string& client,
                               const std::string& hostname) {
  if (client.rfind("resp:", 0) != 0 || hostname.empty()) return;
  txn.AfterCommit([this, client, hostname = CapText(hostname, 256)] {
    std::lock_guard lock(mu_);
    if (worker_names_.size() >= 10'000) worker_names_.clear();  // bounded; relearnt
    worker_names_[client] = hostname;
  });
}

std::string CeleryBridge::WorkerName(const std::string& client) {
  std::lock_guard lock(mu_);
  auto it = worker_names_.find(client);
  return it == worker_names_.end() ? client : it->second;
}

int64_t CeleryBridge::PendingRetries(const json& c) {
  // "retries": the highest headers.retries seen (re-sends by Task.retry);
  // "retries_announced": how many of them have had their `retrying` event.
  return Int(c, "retries") - Int(c, "retries_announced");
}

void CeleryBridge::OnRetryReported(st::Txn& txn, Job& job, const std::string& reason) {
  json& c = job.celery;
  const int64_t reported = Int(c, "retry_results") + 1;
  c["retry_results"] = reported;
  if (reported <= Int(c, "retries_announced")) {
    // Its reservation ran before this RETRY arrived and announced it: keep the reason.
    c["retry_reason"] = CapText(reason);
    Ops::Save(txn, job);
  } else if (PendingRetries(c) > 0) {
    AnnounceRetry(txn, job, reason, true);
    Ops::Save(txn, job);
  } else if (job.state == JobState::kRunning) {
    // RETRY before the task's new message (or with no new message redge can see).
    ToQueued(txn, job, "", true, reason, true);
  } else {
    c["retry_reason"] = CapText(reason);
    Ops::Save(txn, job);
  }
}

}  // namespace redge::jobs
