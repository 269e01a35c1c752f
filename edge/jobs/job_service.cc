#include "edge/jobs/job_service.h"

#include <sys/random.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "base/thread_name.h"
#include "edge/auth_guard.h"
#include "edge/jobs/event_stream_view.h"
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
  events_view_ = std::make_shared<EventStreamView>(options_.events_stream_template);
  events_view_is_list_ = events_view_->KeyOf("x") == EventsKey("x");
  store_->SetStreamView(events_view_);
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
    // A running job's record has no TTL, so only a DEL or RENAME can take one away.
    if (ev.event != "expired") txn.DeleteInternal(std::string(kRunningIndexPrefix) + id);
    txn.AfterCommit([this, id] { OnJobGone(id); });
  });
  store_->AddFlushObserver([this](int db) {
    if (db == 0) OnJobsFlushed();
  });
  // Rebuild what lives only in memory: lease deadlines and per-queue running counts.
  std::vector<std::pair<std::string, int64_t>> leases;
  bool full_scan = false;
  size_t stale = 0;
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    auto note_running = [&](const Job& job) {
      std::lock_guard lock(queues_mu_);
      running_[job.queue].insert(job.id);
      running_queue_[job.id] = job.queue;
      // A Celery task has no lease: Celery's acknowledgements and results drive it.
      if (!job.is_celery()) leases.emplace_back(job.id, job.lease_expires_at);
    };
    auto format = txn.GetInternal(kJobsFormatName);
    if (format.ok() && *format == kJobsFormat) {
      // The index names every running job: reading those alone keeps a restart short
      // however many jobs are queued or finished. An entry whose job is gone or no longer
      // running (deleted by FLUSHALL, moved by SWAPDB) is dropped.
      std::vector<std::string> ids;
      st::Status scan =
          txn.ScanInternal(kRunningIndexPrefix, [&](std::string_view name, std::string_view) {
            ids.emplace_back(name.substr(kRunningIndexPrefix.size()));
            return true;
          });
      if (!scan.ok()) return;
      (void)txn.ScanInternal(kQueuePrefix, [&](std::string_view name, std::string_view) {
        std::lock_guard lock(queues_mu_);
        running_[std::string(name.substr(kQueuePrefix.size()))];  // a known queue
        return true;
      });
      for (const auto& id : ids) {
        auto job = TxnOps::Load(txn, id);
        if (!job || job->state != JobState::kRunning) {
          txn.DeleteInternal(std::string(kRunningIndexPrefix) + id);
          stale++;
          continue;
        }
        note_running(*job);
      }
      return;
    }
    // Data from before the index: read every job once and build it.
    full_scan = true;
    for (const auto& key : st::keys::Keys(txn, "redge:job:*")) {
      auto job = TxnOps::Load(txn, std::string_view(key).substr(10));
      if (!job) continue;
      {
        std::lock_guard lock(queues_mu_);
        if (running_.try_emplace(job->queue).second) {  // a known queue
          txn.PutInternal(std::string(kQueuePrefix) + job->queue, "");
        }
      }
      if (job->state != JobState::kRunning) continue;
      note_running(*job);
      txn.PutInternal(std::string(kRunningIndexPrefix) + job->id, job->queue);
    }
    txn.PutInternal(kJobsFormatName, kJobsFormat);
  });
  if (!s.ok()) return s;
  {
    std::lock_guard lock(reaper_mu_);
    for (auto& [id, deadline] : leases) deadlines_.emplace(deadline, id);
    stopping_ = false;
  }
  reaper_ = base::StartNamedThread("redge-leases", [this] { ReaperLoop(); });
  started_ = true;
  Log(spdlog::level::info, "jobs ready",
      {{"running_leases", std::to_string(leases.size())},
       {"read_every_job", full_scan ? "true" : "false"},
       {"stale_index_entries", std::to_string(stale)},
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

void JobService::RecordDelivery(const std::string& id, const std::string& reader,
                                const std::string& peer) {
  {
    std::lock_guard lock(deliveries_mu_);
    pending_deliveries_.push_back(PendingDelivery{id, reader, peer});
    if (deliveries_write_queued_) return;  // the queued write takes this one too
    deliveries_write_queued_ = true;
  }
  auto ran = std::make_shared<bool>(false);
  store_->ExecAsync(
      0,
      [this, ran](st::Txn& txn) {
        *ran = true;
        std::vector<PendingDelivery> batch;
        {
          std::lock_guard lock(deliveries_mu_);
          batch.swap(pending_deliveries_);
          deliveries_write_queued_ = false;
        }
        for (const auto& d : batch) {
          auto job = TxnOps::Load(txn, d.id);
          if (!job || !IsTerminal(job->state)) continue;
          const std::string key = DeliveriesKey(d.id);
          // Bounded: a page polling a finished job forever must not grow its trace forever.
          auto len = st::lists::Len(txn, key);
          if (len.ok() && *len >= 100) continue;
          nlohmann::json rec = {{"reader", d.reader}, {"peer", d.peer}, {"at", txn.now_ms()}};
          (void)st::lists::Push(txn, key, st::ListEnd::kRight, {DumpJson(rec)}, false);
          (void)st::keys::ExpireAt(txn, key, job->finished_at + options_.result_ttl_ms, {});
        }
      },
      [this, ran](st::Status) {
        if (*ran) return;
        // Never ran (the store is closing): let a later delivery queue a write again.
        std::lock_guard lock(deliveries_mu_);
        deliveries_write_queued_ = false;
      });
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
        // A timed-out wait whose one attempt found the queue empty: nothing leased.
        if (!r.ok() && r.status().code() == st::Status::Code::kTimeout) {
          return done(Outcome::Ok(), "");
        }
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

bool JobService::CancelLease(uint64_t handle) { return store_->CancelBlockedPop(handle); }

bool JobService::TimeOutLease(uint64_t handle) { return store_->TimeOutBlocked(handle); }

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

bool JobService::HasWatchers(const std::string& id) {
  std::lock_guard lock(watch_mu_);
  return watchers_.count(id) > 0;
}

void JobService::OnEventCommitted(const std::string& id,
                                  std::chrono::steady_clock::time_point appended,
                                  std::shared_ptr<const CommittedEvent> event) {
  // AfterCommit hooks run once the write is durable (store.h), so this is the moment the
  // event became visible to readers.
  const auto committed = std::chrono::steady_clock::now();
  if (metrics_) {
    metrics_->event_append_seconds->Observe(
        std::chrono::duration<double>(committed - appended).count());
  }
  WakeWatchers(id, committed, std::move(event));
}

void JobService::WakeWatchers(const std::string& id,
                              std::chrono::steady_clock::time_point committed,
                              std::shared_ptr<const CommittedEvent> event) {
  std::vector<WatchFn> fns;
  {
    std::lock_guard lock(watch_mu_);
    auto it = watchers_.find(id);
    if (it == watchers_.end()) return;
    for (auto& [token, fn] : it->second) fns.push_back(fn);
  }
  for (auto& fn : fns) fn(committed, event);
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
