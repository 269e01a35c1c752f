// The operations of JobService that producers, readers, workers and operators call: each is
// one transaction body (a TxnOp, txn_runner.h) shared by its synchronous form (threads,
// tests) and its asynchronous form (event loops), so the load-check-mutate steps exist
// once. Effects outside the store (logs of what committed, counters, wake-ups) are
// AfterCommit hooks, so they happen only if the write did.
#include <algorithm>

#include "edge/auth_guard.h"
#include "edge/jobs/job_service.h"
#include "edge/jobs/job_txn.h"
#include "edge/jobs/txn_runner.h"
#include "edge/json_input.h"
#include "edge/log.h"
#include "edge/metrics.h"
#include "store/keys.h"
#include "store/lists.h"
#include "store/strings.h"

namespace redge::jobs {

namespace st = redge::store;
using Code = Outcome::Code;
using Ops = JobService::TxnOps;

namespace {

Outcome NoJob(const std::string& id) {
  return Outcome::Error(Code::kNotFound, "no job " + id + " (unknown or expired)");
}

// Whether `token` holds the job's lease now. A job canceled under this very lease reports
// *canceled (events and heartbeats then succeed without effect; completions are refused).
Outcome CheckLease(const Job& job, const std::string& token, int64_t now, bool* canceled) {
  *canceled = false;
  if (token.empty()) {
    return Outcome::Error(Code::kLeaseLost, "X-Lease-Token is required");
  }
  if (!SecretEquals(token, job.lease_token)) {
    return Outcome::Error(Code::kLeaseLost, "this lease of job " + job.id + " is no longer valid");
  }
  if (job.state == JobState::kCanceled) {
    *canceled = true;
    return Outcome::Ok();
  }
  if (job.state != JobState::kRunning || job.lease_expires_at < now) {
    return Outcome::Error(Code::kLeaseLost, "the lease of job " + job.id + " expired");
  }
  return Outcome::Ok();
}

// CheckLease for complete/fail: a job canceled under this lease cannot be finished.
Outcome CheckFinishingLease(const Job& job, const std::string& token, int64_t now) {
  bool canceled = false;
  Outcome out = CheckLease(job, token, now, &canceled);
  if (out.ok() && canceled)
    return Outcome::Error(Code::kLeaseLost, "job " + job.id + " was canceled");
  return out;
}

// Reads the job's events with id > after into *events (see JobService::Read).
void ReadEvents(st::Txn& txn, const Job& job, int64_t after, size_t max_bytes,
                std::vector<Event>* events) {
  // A few records at a time, so a reader that takes little (a paced SSE stream) never
  // loads a long backlog of big events at once.
  constexpr int64_t kWindow = 16;
  size_t bytes = 0;
  for (int64_t start = std::max<int64_t>(after, 0);
       after >= 0 && start < job.last_event_id && bytes < max_bytes; start += kWindow) {
    auto raw = st::lists::Range(txn, EventsKey(job.id), start, start + kWindow - 1);
    if (!raw.ok() || raw->empty()) break;
    for (const auto& r : *raw) {
      if (bytes >= max_bytes) break;
      bytes += r.size();
      if (auto e = Event::FromRecord(r)) events->push_back(std::move(*e));
    }
  }
}

}  // namespace

// --- The transaction bodies ----------------------------------------------------------

TxnOp<JobService::EnqueueResult> JobService::EnqueueOp(EnqueueRequest request) {
  return [this, request = std::move(request)](st::Txn& txn, EnqueueResult* res) {
    const int64_t now = txn.now_ms();
    std::string idem_key;
    if (!request.idempotency_key.empty()) {
      idem_key = IdempotencyKey(request.queue, request.idempotency_key, request.owner);
      auto existing = st::strings::Get(txn, idem_key);
      if (existing.ok()) {
        if (auto j = Ops::Load(txn, *existing)) {
          res->job = std::move(*j);
          return Outcome::Ok();
        }
      }
    }
    Job j;
    j.id = NewJobId(now);
    j.queue = request.queue;
    j.correlation_id = request.correlation_id.empty() ? NewCorrelationId() : request.correlation_id;
    j.max_attempts = options_.max_attempts;
    j.created_at = j.updated_at = now;
    j.payload = request.payload;
    j.idempotency_key = request.idempotency_key;
    j.owner = request.owner;
    Ops::Append(*this, txn, j, "queued", {{"queue", j.queue}, {"attempt", j.attempt}});
    if (!idem_key.empty()) {
      st::strings::SetOptions o;
      o.expire_at_ms = now + options_.result_ttl_ms;
      (void)st::strings::Set(txn, idem_key, j.id, o);
    }
    Ops::Enqueue(*this, txn, j);
    Ops::NoteEnqueued(*this, txn, j.queue);
    txn.AfterCommit([id = j.id, corr = j.correlation_id, queue = j.queue] {
      Log(spdlog::level::info, "job enqueued",
          {{"job_id", id}, {"correlation_id", corr}, {"queue", queue}});
    });
    // The push may have leased it at once (a parked worker): report what is stored.
    if (auto stored = Ops::Load(txn, j.id)) j = std::move(*stored);
    res->job = std::move(j);
    res->created = true;
    return Outcome::Ok();
  };
}

TxnOp<JobService::ReadResult> JobService::ReadOp(std::string id, int64_t after, size_t max_bytes) {
  return [id = std::move(id), after, max_bytes](st::Txn& txn, ReadResult* res) {
    auto j = Ops::Load(txn, id);
    if (!j) return NoJob(id);
    ReadEvents(txn, *j, after, max_bytes, &res->events);
    res->job = std::move(*j);
    return Outcome::Ok();
  };
}

TxnOp<JobService::TraceResult> JobService::TraceOp(std::string id) {
  return [id = std::move(id)](st::Txn& txn, TraceResult* res) {
    auto j = Ops::Load(txn, id);
    if (!j) return NoJob(id);
    ReadEvents(txn, *j, 0, SIZE_MAX, &res->events);
    res->job = std::move(*j);
    auto raw = st::lists::Range(txn, DeliveriesKey(id), 0, -1);
    if (raw.ok()) {
      for (const auto& r : *raw) {
        auto d = ParseRecord(r);
        if (!d.is_discarded()) res->deliveries.push_back(std::move(d));
      }
    }
    return Outcome::Ok();
  };
}

TxnOp<Job> JobService::CancelOp(std::string id) {
  return [this, id = std::move(id)](st::Txn& txn, Job* job) {
    auto j = Ops::Load(txn, id);
    if (!j) return NoJob(id);
    if (IsTerminal(j->state)) {
      Outcome out = Outcome::Error(Code::kConflict,
                                   "job " + id + " is already " + std::string(StateName(j->state)));
      *job = std::move(*j);
      return out;
    }
    Ops::Finish(*this, txn, *j, JobState::kCanceled, nullptr, "canceled");
    *job = std::move(*j);
    return Outcome::Ok();
  };
}

TxnOp<Job> JobService::RetryOp(std::string id) {
  return [this, id = std::move(id)](st::Txn& txn, Job* job) {
    auto j = Ops::Load(txn, id);
    if (!j) return NoJob(id);
    if (j->is_celery()) {
      // Its message is Celery's to send: redge has no copy of the arguments to re-send.
      *job = std::move(*j);
      return Outcome::Error(Code::kConflict, "job " + id +
                                                 " is a Celery task; send it again from Celery "
                                                 "(a new task id) to run it again");
    }
    if (j->state != JobState::kFailed && j->state != JobState::kCanceled) {
      Outcome out =
          Outcome::Error(Code::kConflict, "job " + id + " is " + std::string(StateName(j->state)) +
                                              "; only failed or canceled jobs can be retried");
      *job = std::move(*j);
      return out;
    }
    // A job failed by the reaper already lists its last holder among the former ones;
    // Requeue adds it again.
    if (!j->former_holders.empty() && j->former_holders.back() == j->lease_holder) {
      j->former_holders.pop_back();
    }
    // The next attempt gets a full lease: the reaper requeues only below max_attempts.
    j->max_attempts = std::max(j->max_attempts, j->attempt + 1);
    j->error.clear();
    j->finished_at = 0;
    // Undo Finish's result TTL: the record lives until the job ends again.
    (void)st::keys::Persist(txn, EventsKey(id));
    (void)st::keys::Persist(txn, DeliveriesKey(id));
    if (!j->idempotency_key.empty()) {
      // As at enqueue: the key deduplicates for --result-ttl from now.
      (void)st::keys::ExpireAt(txn, IdempotencyKey(j->queue, j->idempotency_key, j->owner),
                               txn.now_ms() + options_.result_ttl_ms, {});
    }
    Ops::Requeue(*this, txn, *j, "manual retry");
    (void)st::keys::Persist(txn, JobKey(id));
    // The push may have leased it at once (a parked worker): report what is stored.
    if (auto stored = Ops::Load(txn, id)) *j = std::move(*stored);
    *job = std::move(*j);
    return Outcome::Ok();
  };
}

TxnOp<JobService::ListPage> JobService::ListOp(ListRequest request) {
  return [request = std::move(request)](st::Txn& txn, ListPage* page) {
    static constexpr std::string_view kPrefix = "redge:job:";
    // Keys are visited from `start` inclusive; the cursor's key plus a NUL byte is the
    // first key after it.
    std::string start(kPrefix);
    if (!request.cursor.empty()) start = JobKey(request.cursor) + std::string(1, '\0');
    int examined = 0;
    std::string last_id;
    bool full = false;
    (void)txn.ScanKeys(start, [&](std::string_view key, const st::Meta&) {
      if (key.substr(0, kPrefix.size()) != kPrefix) return false;  // past the job records
      std::string_view id = key.substr(kPrefix.size());
      if (full || examined >= kListScanBudget) {
        // There is at least one more record: the client goes on from the last one seen.
        page->next_cursor = last_id;
        return false;
      }
      ++examined;
      last_id = std::string(id);
      auto job = Ops::Load(txn, id);
      if (!job) return true;
      if (!request.queue.empty() && job->queue != request.queue) return true;
      if (request.state && job->state != *request.state) return true;
      page->jobs.push_back(std::move(*job));
      full = static_cast<int>(page->jobs.size()) >= request.limit;
      return true;
    });
    return Outcome::Ok();
  };
}

TxnOp<JobService::EventResult> JobService::AppendEventOp(std::string id, std::string token,
                                                         std::string type, nlohmann::json data) {
  return [this, id = std::move(id), token = std::move(token), type = std::move(type),
          data = std::move(data)](st::Txn& txn, EventResult* res) {
    auto j = Ops::Load(txn, id);
    if (!j) return Outcome::Error(Code::kNotFound, "no job " + id);
    Outcome out = CheckLease(*j, token, txn.now_ms(), &res->canceled);
    if (!out.ok() || res->canceled) return out;
    size_t bytes = 0;
    res->event_id = Ops::Append(*this, txn, *j, type, data, &bytes);
    if (res->event_id == 0) return TooLarge("event data", bytes);
    Ops::ExtendLease(*this, txn, *j);
    Ops::Save(txn, *j);
    return out;
  };
}

TxnOp<JobService::HeartbeatResult> JobService::HeartbeatOp(std::string id, std::string token) {
  return [this, id = std::move(id), token = std::move(token)](st::Txn& txn, HeartbeatResult* res) {
    auto j = Ops::Load(txn, id);
    if (!j) return Outcome::Error(Code::kNotFound, "no job " + id);
    Outcome out = CheckLease(*j, token, txn.now_ms(), &res->canceled);
    if (out.ok() && !res->canceled) {
      Ops::ExtendLease(*this, txn, *j);
      j->updated_at = txn.now_ms();
      Ops::Save(txn, *j);
    }
    res->job = std::move(*j);
    return out;
  };
}

TxnOp<Job> JobService::CompleteOp(std::string id, std::string token, nlohmann::json result) {
  return [this, id = std::move(id), token = std::move(token), result = std::move(result)](
             st::Txn& txn, Job* job) {
    auto j = Ops::Load(txn, id);
    if (!j) return Outcome::Error(Code::kNotFound, "no job " + id);
    Outcome out = CheckFinishingLease(*j, token, txn.now_ms());
    size_t bytes = 0;
    if (out.ok() && !Ops::Finish(*this, txn, *j, JobState::kCompleted, result, "", &bytes)) {
      out = TooLarge("the completed event ({\"result\": ...})", bytes);
    }
    *job = std::move(*j);
    return out;
  };
}

TxnOp<Job> JobService::FailOp(std::string id, std::string token, std::string error, bool retry) {
  return [this, id = std::move(id), token = std::move(token), error = std::move(error), retry](
             st::Txn& txn, Job* job) {
    auto j = Ops::Load(txn, id);
    if (!j) return Outcome::Error(Code::kNotFound, "no job " + id);
    Outcome out = CheckFinishingLease(*j, token, txn.now_ms());
    if (!out.ok()) {
      *job = std::move(*j);
      return out;
    }
    if (retry && j->attempt < j->max_attempts) {
      Ops::Requeue(*this, txn, *j, "worker failed: " + error);
      if (auto stored = Ops::Load(txn, id)) *j = std::move(*stored);
    } else {
      Ops::Finish(*this, txn, *j, JobState::kFailed, nullptr, error);
    }
    *job = std::move(*j);
    return out;
  };
}

TxnOp<std::vector<QueueInfo>> JobService::QueuesOp() {
  return [this](st::Txn& txn, std::vector<QueueInfo>* out) {
    std::map<std::string, int64_t> running;
    {
      std::lock_guard lock(queues_mu_);
      for (auto& [queue, ids] : running_) running[queue] = static_cast<int64_t>(ids.size());
    }
    const int64_t now = txn.now_ms();
    for (auto& [queue, n] : running) {
      QueueInfo q;
      q.queue = queue;
      q.running = n;
      std::string key = queue_key_.Format(queue);
      auto len = st::lists::Len(txn, key);
      q.depth = len.ok() ? *len : 0;
      if (q.depth > 0) {
        auto oldest = st::lists::Index(txn, key, -1);
        if (oldest.ok()) {
          auto env = ParseRecord(*oldest);
          if (env.is_object() && env.contains("enqueued_at") &&
              env["enqueued_at"].is_number_integer()) {
            q.oldest_age_ms = std::max<int64_t>(0, now - env["enqueued_at"].get<int64_t>());
          }
        }
      }
      if (queue_probe_) {
        queue_probe_(txn, &q);
        txn.SwitchDb(0);
      }
      out->push_back(std::move(q));
    }
    return Outcome::Ok();
  };
}

// --- Synchronous forms (threads and tests) -------------------------------------------

Outcome JobService::Enqueue(const EnqueueRequest& request, Job* job, bool* created) {
  *created = false;
  Outcome out = CheckQueue(request.queue);
  if (!out.ok()) return out;
  EnqueueResult res;
  out = RunTxn(store_, EnqueueOp(request), &res);
  *job = std::move(res.job);
  *created = res.created;
  return out;
}

Outcome JobService::Get(const std::string& id, Job* job) {
  std::vector<Event> none;
  return Read(id, -1, job, &none);
}

Outcome JobService::Read(const std::string& id, int64_t after, Job* job, std::vector<Event>* events,
                         size_t max_bytes) {
  ReadResult res;
  Outcome out = RunTxn(store_, ReadOp(id, after, max_bytes), &res);
  if (out.ok()) {
    *job = std::move(res.job);
    for (auto& e : res.events) events->push_back(std::move(e));
  }
  return out;
}

Outcome JobService::Trace(const std::string& id, Job* job, std::vector<Event>* events,
                          std::vector<nlohmann::json>* deliveries) {
  TraceResult res;
  Outcome out = RunTxn(store_, TraceOp(id), &res);
  if (out.ok()) {
    *job = std::move(res.job);
    *events = std::move(res.events);
    *deliveries = std::move(res.deliveries);
  }
  return out;
}

Outcome JobService::Cancel(const std::string& id, Job* job) {
  return RunTxn(store_, CancelOp(id), job);
}

Outcome JobService::Retry(const std::string& id, Job* job) {
  return RunTxn(store_, RetryOp(id), job);
}

Outcome JobService::List(const ListRequest& request, ListPage* page) {
  return RunTxn(store_, ListOp(request), page);
}

Outcome JobService::AppendEvent(const std::string& id, const std::string& token,
                                const std::string& type, const nlohmann::json& data,
                                int64_t* event_id, bool* canceled) {
  EventResult res;
  Outcome out = RunTxn(store_, AppendEventOp(id, token, type, data), &res);
  *event_id = res.event_id;
  *canceled = res.canceled;
  return out;
}

Outcome JobService::Heartbeat(const std::string& id, const std::string& token, Job* job,
                              bool* canceled) {
  HeartbeatResult res;
  Outcome out = RunTxn(store_, HeartbeatOp(id, token), &res);
  *job = std::move(res.job);
  *canceled = res.canceled;
  return out;
}

Outcome JobService::Complete(const std::string& id, const std::string& token,
                             const nlohmann::json& result, Job* job) {
  return RunTxn(store_, CompleteOp(id, token, result), job);
}

Outcome JobService::Fail(const std::string& id, const std::string& token, const std::string& error,
                         bool retry, Job* job) {
  return RunTxn(store_, FailOp(id, token, error, retry), job);
}

std::vector<QueueInfo> JobService::Queues() {
  std::vector<QueueInfo> out;
  (void)RunTxn(store_, QueuesOp(), &out);
  return out;
}

std::optional<Job> JobService::LeasedJob(const std::string& id, const std::string& worker) {
  Job job;
  if (id.empty() || !Get(id, &job).ok()) return std::nullopt;
  return IsLeasedTo(job, worker) ? std::optional<Job>(std::move(job)) : std::nullopt;
}

// --- Asynchronous forms (event loops) ------------------------------------------------

void JobService::EnqueueAsync(EnqueueRequest request, Done<EnqueueResult> done) {
  if (Outcome out = CheckQueue(request.queue); !out.ok()) return done(std::move(out), {});
  RunTxnAsync(store_, EnqueueOp(std::move(request)), std::move(done));
}

void JobService::GetAsync(std::string id, Done<Job> done) {
  RunTxnAsync<ReadResult>(store_, ReadOp(std::move(id), -1, SIZE_MAX),
                          [done = std::move(done)](Outcome out, ReadResult res) {
                            done(std::move(out), std::move(res.job));
                          });
}

void JobService::ReadAsync(std::string id, int64_t after, size_t max_bytes, Done<ReadResult> done) {
  RunTxnAsync(store_, ReadOp(std::move(id), after, max_bytes), std::move(done));
}

void JobService::TraceAsync(std::string id, Done<TraceResult> done) {
  RunTxnAsync(store_, TraceOp(std::move(id)), std::move(done));
}

void JobService::CancelAsync(std::string id, Done<Job> done) {
  RunTxnAsync(store_, CancelOp(std::move(id)), std::move(done));
}

void JobService::RetryAsync(std::string id, Done<Job> done) {
  RunTxnAsync(store_, RetryOp(std::move(id)), std::move(done));
}

void JobService::ListAsync(ListRequest request, Done<ListPage> done) {
  RunTxnAsync(store_, ListOp(std::move(request)), std::move(done));
}

void JobService::AppendEventAsync(std::string id, std::string token, std::string type,
                                  nlohmann::json data, Done<EventResult> done) {
  RunTxnAsync(store_,
              AppendEventOp(std::move(id), std::move(token), std::move(type), std::move(data)),
              std::move(done));
}

void JobService::HeartbeatAsync(std::string id, std::string token, Done<HeartbeatResult> done) {
  RunTxnAsync(store_, HeartbeatOp(std::move(id), std::move(token)), std::move(done));
}

void JobService::CompleteAsync(std::string id, std::string token, nlohmann::json result,
                               Done<Job> done) {
  RunTxnAsync(store_, CompleteOp(std::move(id), std::move(token), std::move(result)),
              std::move(done));
}

void JobService::FailAsync(std::string id, std::string token, std::string error, bool retry,
                           Done<Job> done) {
  RunTxnAsync(store_, FailOp(std::move(id), std::move(token), std::move(error), retry),
              std::move(done));
}

void JobService::QueuesAsync(Done<std::vector<QueueInfo>> done) {
  RunTxnAsync(store_, QueuesOp(), std::move(done));
}

void JobService::LeasedJobAsync(std::string id, std::string worker,
                                std::function<void(std::optional<Job>)> done) {
  if (id.empty()) return done(std::nullopt);
  GetAsync(std::move(id),
           [worker = std::move(worker), done = std::move(done)](Outcome out, Job job) {
             if (!out.ok() || !IsLeasedTo(job, worker)) return done(std::nullopt);
             done(std::move(job));
           });
}

bool JobService::IsLeasedTo(const Job& job, const std::string& worker) {
  return job.state == JobState::kRunning && job.lease_holder == worker;
}

}  // namespace redge::jobs
