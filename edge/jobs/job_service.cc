#include "edge/jobs/job_service.h"

#include <sys/random.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "edge/auth_guard.h"
#include "edge/jobs/job_txn.h"
#include "edge/json_input.h"
#include "edge/log.h"
#include "edge/metrics.h"
#include "store/keys.h"
#include "store/lists.h"
#include "store/strings.h"

namespace redge::jobs {

namespace st = redge::store;
using Code = Outcome::Code;

namespace {

void RandomBytes(unsigned char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out + got, n - got, 0);
    if (r > 0) got += static_cast<size_t>(r);
  }
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

}  // namespace

std::string NewJobId(int64_t now_ms) {
  // 48-bit millisecond prefix (ids sort by creation time) + 96 random bits (unguessable).
  char prefix[13];
  std::snprintf(prefix, sizeof(prefix), "%012llx",
                static_cast<unsigned long long>(now_ms) & 0xffffffffffffull);
  unsigned char r[12];
  RandomBytes(r, sizeof(r));
  return std::string(prefix) + Hex(r, sizeof(r));
}

std::string NewCorrelationId() {
  unsigned char r[16];
  RandomBytes(r, sizeof(r));
  return Hex(r, sizeof(r));
}

bool ValidQueueName(std::string_view queue) {
  if (queue.empty() || queue.size() > 128 || queue == "." || queue == "..") return false;
  for (char c : queue) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
          c == ':')) {
      return false;
    }
  }
  return true;
}

JobService::JobService(st::Store* store, JobsOptions options, Metrics* metrics)
    : store_(store),
      options_(std::move(options)),
      metrics_(metrics),
      queue_key_(options_.queue_key_template, "{queue}"),
      response_key_(options_.response_key_template, "{id}"),
      progress_channel_(options_.progress_channel_template, "{id}") {}

JobService::~JobService() { Stop(); }

Outcome JobService::Unavailable(const st::Status& s) {
  return Outcome::Error(Code::kUnavailable, "the store cannot write: " + s.message());
}

st::Status JobService::Start() {
  store_->AddKeyObserver(queue_key_.prefix(),
                         [this](st::Txn& txn, const st::KeyEvent& ev) { OnQueuePop(txn, ev); });
  store_->AddKeyObserver(response_key_.prefix(),
                         [this](st::Txn& txn, const st::KeyEvent& ev) { OnResponseSet(txn, ev); });
  store_->AddChannelObserver(progress_channel_.prefix(),
                             [this](st::Txn& txn, std::string_view ch, std::string_view msg) {
                               OnProgress(txn, ch, msg);
                             });
  // Job records deleted behind the jobs layer's back (a RESP client's DEL or FLUSHALL):
  // gauges and readers must not keep waiting for them.
  store_->AddKeyObserver(std::string(JobKey("")), [this](st::Txn& txn, const st::KeyEvent& ev) {
    if (ev.db != 0) return;
    if (ev.event != "del" && ev.event != "expired" && ev.event != "rename_from") return;
    std::string id(ev.key.substr(JobKey("").size()));
    txn.AfterCommit([this, id] { OnJobGone(id); });
  });
  store_->AddFlushObserver([this](int db) {
    if (db == 0) OnJobsFlushed();
  });
  // Rebuild what lives only in memory: lease deadlines and per-queue running counts.
  std::vector<std::pair<std::string, int64_t>> leases;
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    for (const auto& key : st::keys::Keys(txn, "redge:job:*")) {
      auto job = TxnOps::Load(txn, std::string_view(key).substr(10));
      if (!job) continue;
      std::lock_guard lock(queues_mu_);
      auto& running = running_[job->queue];
      if (job->state == JobState::kRunning) {
        running.insert(job->id);
        running_queue_[job->id] = job->queue;
        leases.emplace_back(job->id, job->lease_expires_at);
      }
    }
  });
  if (!s.ok()) return s;
  {
    std::lock_guard lock(reaper_mu_);
    for (auto& [id, deadline] : leases) deadlines_.emplace(deadline, id);
    stopping_ = false;
  }
  reaper_ = std::thread([this] { ReaperLoop(); });
  started_ = true;
  Log(spdlog::level::info, "jobs ready",
      {{"running_leases", std::to_string(leases.size())},
       {"lease_timeout_ms", std::to_string(options_.lease_timeout_ms)},
       {"max_attempts", std::to_string(options_.max_attempts)}});
  return st::Status::OK();
}

void JobService::Stop() {
  {
    std::lock_guard lock(reaper_mu_);
    stopping_ = true;
  }
  reaper_cv_.notify_all();
  if (reaper_.joinable()) reaper_.join();
}

Outcome JobService::Enqueue(const EnqueueRequest& request, Job* job, bool* created) {
  Outcome out = CheckQueue(request.queue);
  if (!out.ok()) return out;
  *created = false;
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    const int64_t now = txn.now_ms();
    std::string idem_key;
    if (!request.idempotency_key.empty()) {
      idem_key = IdempotencyKey(request.queue, request.idempotency_key);
      auto existing = st::strings::Get(txn, idem_key);
      if (existing.ok()) {
        if (auto j = TxnOps::Load(txn, *existing)) {
          *job = std::move(*j);
          return;
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
    TxnOps::Append(*this, txn, j, "queued", {{"queue", j.queue}, {"attempt", j.attempt}});
    if (!idem_key.empty()) {
      st::strings::SetOptions o;
      o.expire_at_ms = now + options_.result_ttl_ms;
      (void)st::strings::Set(txn, idem_key, j.id, o);
    }
    TxnOps::Enqueue(*this, txn, j);
    // The push may have leased it at once (a parked worker): report what is stored.
    if (auto stored = TxnOps::Load(txn, j.id)) j = std::move(*stored);
    *job = std::move(j);
    *created = true;
    std::string queue = job->queue;
    txn.AfterCommit([this, queue] {
      {
        std::lock_guard lock(queues_mu_);
        running_[queue];  // a known queue from now on
      }
      if (metrics_) metrics_->jobs_enqueued->With(queue).Inc();
    });
  });
  if (!s.ok()) return Unavailable(s);
  if (*created) {
    Log(spdlog::level::info, "job enqueued",
        {{"job_id", std::string(job->id)},
         {"correlation_id", std::string(job->correlation_id)},
         {"queue", std::string(job->queue)}});
  }
  return out;
}

Outcome JobService::Get(const std::string& id, Job* job) {
  std::vector<Event> none;
  return Read(id, -1, job, &none);
}

Outcome JobService::Read(const std::string& id, int64_t after, Job* job, std::vector<Event>* events,
                         size_t max_bytes) {
  Outcome out = Outcome::Error(Code::kNotFound, "no job " + id + " (unknown or expired)");
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    auto j = TxnOps::Load(txn, id);
    if (!j) return;
    out = Outcome::Ok();
    // A few records at a time, so a reader that takes little (a paced SSE stream) never
    // loads a long backlog of big events at once.
    constexpr int64_t kWindow = 16;
    size_t bytes = 0;
    for (int64_t start = std::max<int64_t>(after, 0);
         after >= 0 && start < j->last_event_id && bytes < max_bytes; start += kWindow) {
      auto raw = st::lists::Range(txn, EventsKey(id), start, start + kWindow - 1);
      if (!raw.ok() || raw->empty()) break;
      for (const auto& r : *raw) {
        if (bytes >= max_bytes) break;
        bytes += r.size();
        if (auto e = Event::FromRecord(r)) events->push_back(std::move(*e));
      }
    }
    *job = std::move(*j);
  });
  if (!s.ok()) return Unavailable(s);
  return out;
}

Outcome JobService::Trace(const std::string& id, Job* job, std::vector<Event>* events,
                          std::vector<nlohmann::json>* deliveries) {
  Outcome out = Read(id, 0, job, events);
  if (!out.ok()) return out;
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    auto raw = st::lists::Range(txn, DeliveriesKey(id), 0, -1);
    if (!raw.ok()) return;
    for (const auto& r : *raw) {
      auto j = ParseRecord(r);
      if (!j.is_discarded()) deliveries->push_back(std::move(j));
    }
  });
  if (!s.ok()) return Unavailable(s);
  return out;
}

void JobService::RecordDelivery(const std::string& id, const std::string& reader,
                                const std::string& peer) {
  store_->ExecAsync(
      0,
      [this, id, reader, peer](st::Txn& txn) {
        auto job = TxnOps::Load(txn, id);
        if (!job || !IsTerminal(job->state)) return;
        const std::string key = DeliveriesKey(id);
        // Bounded: a page polling a finished job forever must not grow its trace forever.
        auto len = st::lists::Len(txn, key);
        if (len.ok() && *len >= 100) return;
        nlohmann::json d = {{"reader", reader}, {"peer", peer}, {"at", txn.now_ms()}};
        (void)st::lists::Push(txn, key, st::ListEnd::kRight, {DumpJson(d)}, false);
        (void)st::keys::ExpireAt(txn, key, job->finished_at + options_.result_ttl_ms, {});
      },
      [](st::Status) {});
}

Outcome JobService::Cancel(const std::string& id, Job* job) {
  Outcome out = Outcome::Error(Code::kNotFound, "no job " + id + " (unknown or expired)");
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    auto j = TxnOps::Load(txn, id);
    if (!j) return;
    if (IsTerminal(j->state)) {
      out = Outcome::Error(Code::kConflict,
                           "job " + id + " is already " + std::string(StateName(j->state)));
      *job = std::move(*j);
      return;
    }
    TxnOps::Finish(*this, txn, *j, JobState::kCanceled, nullptr, "canceled");
    out = Outcome::Ok();
    *job = std::move(*j);
  });
  if (!s.ok()) return Unavailable(s);
  return out;
}

Outcome JobService::Retry(const std::string& id, Job* job) {
  Outcome out = Outcome::Error(Code::kNotFound, "no job " + id + " (unknown or expired)");
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    auto j = TxnOps::Load(txn, id);
    if (!j) return;
    if (j->state != JobState::kFailed && j->state != JobState::kCanceled) {
      out =
          Outcome::Error(Code::kConflict, "job " + id + " is " + std::string(StateName(j->state)) +
                                              "; only failed or canceled jobs can be retried");
      *job = std::move(*j);
      return;
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
      (void)st::keys::ExpireAt(txn, IdempotencyKey(j->queue, j->idempotency_key),
                               txn.now_ms() + options_.result_ttl_ms, {});
    }
    TxnOps::Requeue(*this, txn, *j, "manual retry");
    (void)st::keys::Persist(txn, JobKey(id));
    // The push may have leased it at once (a parked worker): report what is stored.
    if (auto stored = TxnOps::Load(txn, id)) *j = std::move(*stored);
    out = Outcome::Ok();
    *job = std::move(*j);
  });
  if (!s.ok()) return Unavailable(s);
  return out;
}

Outcome JobService::List(const ListRequest& request, ListPage* page) {
  static constexpr std::string_view kPrefix = "redge:job:";
  page->jobs.clear();
  page->next_cursor.clear();
  // Keys are visited from `start` inclusive; the cursor's key plus a NUL byte is the
  // first key after it.
  std::string start(kPrefix);
  if (!request.cursor.empty()) start = JobKey(request.cursor) + std::string(1, '\0');
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    page->jobs.clear();
    page->next_cursor.clear();
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
      auto job = TxnOps::Load(txn, id);
      if (!job) return true;
      if (!request.queue.empty() && job->queue != request.queue) return true;
      if (request.state && job->state != *request.state) return true;
      page->jobs.push_back(std::move(*job));
      full = static_cast<int>(page->jobs.size()) >= request.limit;
      return true;
    });
  });
  if (!s.ok()) return Unavailable(s);
  return Outcome::Ok();
}

uint64_t JobService::LeaseAsync(const std::string& queue, const std::string& worker,
                                LeaseCallback done) {
  st::PopRequest request;
  request.db = 0;
  request.keys = {queue_key_.Format(queue)};
  request.from = st::ListEnd::kRight;  // LPUSH + pop from the right: oldest first
  request.client = worker;
  return store_->BlockPopAsync(
      std::move(request), [this, worker, done](st::Result<st::PopResult> r) {
        if (!r.ok()) return done(Unavailable(r.status()), "");
        // The queue observer started the lease inside the write that popped it.
        auto envelope = ParseRecord(r->values.empty() ? "" : r->values[0]);
        std::string id;
        if (envelope.is_object() && envelope.contains("id") && envelope["id"].is_string()) {
          id = envelope["id"].get<std::string>();
        } else {
          Log(spdlog::level::warn, "lease popped an entry that is not a job envelope",
              {{"queue_key", std::string(r->key)}, {"worker", std::string(worker)}});
        }
        done(Outcome::Ok(), std::move(id));
      });
}

std::optional<Job> JobService::LeasedJob(const std::string& id, const std::string& worker) {
  Job job;
  if (id.empty() || !Get(id, &job).ok() || job.state != JobState::kRunning ||
      job.lease_holder != worker) {
    return std::nullopt;
  }
  return job;
}

bool JobService::CancelLease(uint64_t handle) { return store_->CancelBlockedPop(handle); }

namespace {

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

}  // namespace

Outcome JobService::AppendEvent(const std::string& id, const std::string& token,
                                const std::string& type, const nlohmann::json& data,
                                int64_t* event_id, bool* canceled) {
  Outcome out = Outcome::Error(Code::kNotFound, "no job " + id);
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    auto j = TxnOps::Load(txn, id);
    if (!j) return;
    out = CheckLease(*j, token, txn.now_ms(), canceled);
    if (!out.ok() || *canceled) return;
    size_t bytes = 0;
    *event_id = TxnOps::Append(*this, txn, *j, type, data, &bytes);
    if (*event_id == 0) {
      out = TooLarge("event data", bytes);
      return;
    }
    TxnOps::ExtendLease(*this, txn, *j);
    TxnOps::Save(txn, *j);
  });
  if (!s.ok()) return Unavailable(s);
  return out;
}

Outcome JobService::Heartbeat(const std::string& id, const std::string& token, Job* job,
                              bool* canceled) {
  Outcome out = Outcome::Error(Code::kNotFound, "no job " + id);
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    auto j = TxnOps::Load(txn, id);
    if (!j) return;
    out = CheckLease(*j, token, txn.now_ms(), canceled);
    if (out.ok() && !*canceled) {
      TxnOps::ExtendLease(*this, txn, *j);
      j->updated_at = txn.now_ms();
      TxnOps::Save(txn, *j);
    }
    *job = std::move(*j);
  });
  if (!s.ok()) return Unavailable(s);
  return out;
}

Outcome JobService::Complete(const std::string& id, const std::string& token,
                             const nlohmann::json& result, Job* job) {
  Outcome out = Outcome::Error(Code::kNotFound, "no job " + id);
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    auto j = TxnOps::Load(txn, id);
    if (!j) return;
    out = CheckFinishingLease(*j, token, txn.now_ms());
    size_t bytes = 0;
    if (out.ok() && !TxnOps::Finish(*this, txn, *j, JobState::kCompleted, result, "", &bytes)) {
      out = TooLarge("the completed event ({\"result\": ...})", bytes);
    }
    *job = std::move(*j);
  });
  if (!s.ok()) return Unavailable(s);
  return out;
}

Outcome JobService::Fail(const std::string& id, const std::string& token, const std::string& error,
                         bool retry, Job* job) {
  Outcome out = Outcome::Error(Code::kNotFound, "no job " + id);
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    auto j = TxnOps::Load(txn, id);
    if (!j) return;
    out = CheckFinishingLease(*j, token, txn.now_ms());
    if (!out.ok()) {
      *job = std::move(*j);
      return;
    }
    if (retry && j->attempt < j->max_attempts) {
      TxnOps::Requeue(*this, txn, *j, "worker failed: " + error);
      if (auto stored = TxnOps::Load(txn, id)) *j = std::move(*stored);
    } else {
      TxnOps::Finish(*this, txn, *j, JobState::kFailed, nullptr, error);
    }
    *job = std::move(*j);
  });
  if (!s.ok()) return Unavailable(s);
  return out;
}

uint64_t JobService::Watch(const std::string& id, WatchFn fn) {
  std::lock_guard lock(watch_mu_);
  uint64_t token = next_watch_++;
  watchers_[id].emplace(token, std::move(fn));
  return token;
}

void JobService::Unwatch(const std::string& id, uint64_t token) {
  std::lock_guard lock(watch_mu_);
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return;
  it->second.erase(token);
  if (it->second.empty()) watchers_.erase(it);
}

void JobService::OnEventCommitted(const std::string& id,
                                  std::chrono::steady_clock::time_point appended) {
  // AfterCommit hooks run once the write is durable (store.h), so this is the moment the
  // event became visible to readers.
  const auto committed = std::chrono::steady_clock::now();
  if (metrics_) {
    metrics_->event_append_seconds->Observe(
        std::chrono::duration<double>(committed - appended).count());
  }
  WakeWatchers(id, committed);
}

void JobService::WakeWatchers(const std::string& id,
                              std::chrono::steady_clock::time_point committed) {
  std::vector<WatchFn> fns;
  {
    std::lock_guard lock(watch_mu_);
    auto it = watchers_.find(id);
    if (it == watchers_.end()) return;
    for (auto& [token, fn] : it->second) fns.push_back(fn);
  }
  for (auto& fn : fns) fn(committed);
}

std::vector<QueueInfo> JobService::Queues() {
  std::map<std::string, int64_t> running;
  {
    std::lock_guard lock(queues_mu_);
    for (auto& [queue, ids] : running_) running[queue] = static_cast<int64_t>(ids.size());
  }
  std::vector<QueueInfo> out;
  (void)store_->Exec(0, [&](st::Txn& txn) {
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
      out.push_back(std::move(q));
    }
  });
  return out;
}

// --- LeaseReaper ---------------------------------------------------------------------

void JobService::ScheduleLease(const std::string& id, int64_t deadline_ms) {
  {
    std::lock_guard lock(reaper_mu_);
    deadlines_.emplace(deadline_ms, id);
  }
  reaper_cv_.notify_all();
}

void JobService::ReaperLoop() {
  std::unique_lock lock(reaper_mu_);
  while (!stopping_) {
    if (deadlines_.empty()) {
      reaper_cv_.wait(lock);
      continue;
    }
    const int64_t due = deadlines_.begin()->first;
    const int64_t now = store_->NowMs();
    if (due > now) {
      // Woken early by a new, earlier deadline or by Stop(); a renewed lease leaves its
      // old entry here and is rechecked against the record when that entry falls due.
      reaper_cv_.wait_for(lock, std::chrono::milliseconds(due - now));
      continue;
    }
    std::string id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    lock.unlock();
    ExpireLease(id);
    lock.lock();
  }
}

void JobService::ExpireLease(const std::string& id) {
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    auto j = TxnOps::Load(txn, id);
    if (!j || j->state != JobState::kRunning || j->lease_expires_at > txn.now_ms()) return;
    // Counted once the write commits: a failed write is retried below and must not count
    // twice.
    txn.AfterCommit([this] { lease_expiries_++; });
    Log(spdlog::level::warn, "lease expired",
        {{"job_id", std::string(j->id)},
         {"correlation_id", std::string(j->correlation_id)},
         {"queue", std::string(j->queue)},
         {"worker", std::string(j->lease_holder)},
         {"attempt", std::to_string(j->attempt)}});
    if (j->attempt < j->max_attempts) {
      TxnOps::Requeue(*this, txn, *j, "lease expired");
    } else {
      j->former_holders.push_back(j->lease_holder);
      TxnOps::Finish(*this, txn, *j, JobState::kFailed, nullptr, "worker lost");
    }
  });
  if (!s.ok()) {
    // The store cannot write: try again shortly rather than lose the expiry.
    Log(spdlog::level::err, "lease expiry failed",
        {{"job_id", std::string(id)}, {"error", std::string(s.message())}});
    std::lock_guard lock(reaper_mu_);
    deadlines_.emplace(store_->NowMs() + 1000, id);
  }
}

}  // namespace redge::jobs
