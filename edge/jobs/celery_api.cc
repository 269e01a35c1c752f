// The Celery bridge's operations for the HTTP API (revoke, enqueue, the trace view) and
// its reports (queues with priority sub-queues, per-task-name metrics).
#include <unistd.h>

#include <cstdio>

#include "edge/jobs/celery_bridge.h"
#include "edge/jobs/celery_internal.h"
#include "edge/jobs/job_txn.h"
#include "edge/jobs/txn_runner.h"
#include "edge/json_input.h"
#include "edge/log.h"
#include "edge/metrics.h"
#include "store/lists.h"
#include "store/strings.h"

namespace redge::jobs {

namespace st = redge::store;
using celery_internal::DbScope;
using celery_internal::Int;
using celery_internal::Str;
using nlohmann::json;
using Code = Outcome::Code;
using Ops = JobService::TxnOps;

namespace {

// Run times of Celery tasks span milliseconds to hours.
const std::vector<double>& TaskBuckets() {
  static const std::vector<double> kBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                               2.5,   5,     10,   30,    60,   300, 900,  3600};
  return kBuckets;
}

constexpr size_t kMaxTaskNames = 1000;

std::string Origin() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) return "redge";
  return "redge@" + std::string(host);
}

}  // namespace

struct CeleryBridge::TaskStats {
  Counter received, started, succeeded, failed, retried, revoked;
  Histogram wait{TaskBuckets()}, runtime{TaskBuckets()};
};

// Here, where TaskStats is complete.
CeleryBridge::CeleryBridge(st::Store* store, JobService* jobs, CeleryOptions options,
                           Metrics* metrics)
    : store_(store), jobs_(jobs), options_(std::move(options)), metrics_(metrics) {}
CeleryBridge::~CeleryBridge() = default;

TxnOp<CeleryBridge::RevokeResult> CeleryBridge::RevokeOp(std::string id, bool terminate) {
  return [this, id = std::move(id), terminate](st::Txn& txn, RevokeResult* res) {
    auto j = Ops::Load(txn, id);
    if (!j || !j->is_celery()) return Outcome::Ok();
    res->handled = true;
    if (IsTerminal(j->state)) {
      Outcome out = Outcome::Error(Code::kConflict,
                                   "job " + id + " is already " + std::string(StateName(j->state)));
      res->job = std::move(*j);
      return out;
    }
    const int db = static_cast<int>(Int(j->celery, "db"));
    // Exactly what `app.control.revoke(id, terminate=...)` broadcasts: every worker adds
    // the id to its revoked set (a reserved task is then never run), and with terminate
    // the one running it kills it.
    const std::string channel = options_.key_prefix + "/" + std::to_string(db) + "." +
                                options_.control_exchange + ".pidbox";
    store_->PublishInTxn(
        txn, channel,
        celery::BuildRevokeMessage(id, terminate, "SIGTERM", options_.control_exchange, ++clock_,
                                   txn.now_ms()));
    j->celery["revoke"] = {{"requested_at", txn.now_ms()}, {"terminate", terminate}};
    const bool queued = j->state == JobState::kQueued;
    Ops::Save(txn, *j);
    if (queued) {
      // Still in its list: no worker has it. Store the REVOKED result a worker would
      // have stored (so AsyncResult.get() raises TaskRevokedError) and publish it; the
      // result observer then takes the message out and ends the job `canceled`.
      int backend_db = backend_db_.load(std::memory_order_relaxed);
      if (backend_db < 0) backend_db = db;
      const std::string key = options_.result_prefix + id;
      const std::string meta = celery::BuildRevokedMeta(id, "revoked", txn.now_ms());
      {
        DbScope backend(txn, backend_db);
        st::strings::SetOptions o;
        o.expire_at_ms = txn.now_ms() + options_.revoked_result_ttl_ms;
        (void)st::strings::Set(txn, key, meta, o);
      }
      store_->PublishInTxn(txn, key, meta);
    }
    if (auto stored = Ops::Load(txn, id)) res->job = std::move(*stored);
    Log(spdlog::level::info, "celery revoke sent",
        {{"job_id", id},
         {"correlation_id", res->job.correlation_id},
         {"terminate", terminate ? "true" : "false"},
         {"was", queued ? "queued" : "running"},
         {"channel", channel}});
    return Outcome::Ok();
  };
}

Outcome CeleryBridge::Revoke(const std::string& id, bool terminate, Job* job, bool* handled) {
  RevokeResult res;
  Outcome out = RunTxn(store_, RevokeOp(id, terminate), &res);
  // A failed write is this bridge's answer too (503): nothing else may act on the job.
  *handled = res.handled || out.code == Code::kUnavailable;
  *job = std::move(res.job);
  return out;
}

void CeleryBridge::RevokeAsync(std::string id, bool terminate,
                               JobService::Done<RevokeResult> done) {
  RunTxnAsync<RevokeResult>(store_, RevokeOp(std::move(id), terminate),
                            [done = std::move(done)](Outcome out, RevokeResult res) {
                              if (out.code == Code::kUnavailable) res.handled = true;
                              done(std::move(out), std::move(res));
                            });
}

Outcome CeleryBridge::ParseEnqueue(const std::string& queue, const json& spec,
                                   celery::NewTask* task) const {
  if (std::string err = celery::ParseNewTask(spec, task); !err.empty()) {
    return Outcome::Error(Code::kBadRequest, err);
  }
  const std::string list = options_.key_prefix + celery::PriorityKey(queue, task->priority);
  if (IsInternalKey(list) || list.rfind("redge:", 0) == 0) {
    return Outcome::Error(Code::kBadRequest,
                          "queue '" + queue + "' would name one of redge's own keys");
  }
  return Outcome::Ok();
}

TxnOp<JobService::EnqueueResult> CeleryBridge::EnqueueOp(std::string queue, celery::NewTask task,
                                                         std::string correlation_id,
                                                         std::string idempotency_key,
                                                         std::string owner) {
  const std::string list = options_.key_prefix + celery::PriorityKey(queue, task.priority);
  return [this, queue = std::move(queue), task = std::move(task),
          correlation_id = std::move(correlation_id), idempotency_key = std::move(idempotency_key),
          owner = std::move(owner), list,
          origin = Origin()](st::Txn& txn, JobService::EnqueueResult* res) {
    std::string idem_key;
    if (!idempotency_key.empty()) {
      idem_key = IdempotencyKey(queue, idempotency_key, owner);
      if (auto existing = st::strings::Get(txn, idem_key); existing.ok()) {
        if (auto j = Ops::Load(txn, *existing)) {
          res->job = std::move(*j);
          return Outcome::Ok();
        }
      }
    }
    const std::string id = celery::NewTaskId();
    const std::string raw =
        celery::BuildTaskMessage(task, id, queue, correlation_id, origin, txn.now_ms());
    // The push's observer (OnList) creates the job in this write, as for any producer.
    auto pushed = st::lists::Push(txn, list, st::ListEnd::kLeft, {raw}, false);
    if (!pushed.ok()) {
      return Outcome::Error(Code::kConflict,
                            "cannot push to '" + list + "': " + pushed.status().message());
    }
    auto j = Ops::Load(txn, id);
    if (!j) return Outcome::Error(Code::kBadRequest, "the task message was not accepted");
    if (!idem_key.empty()) {
      st::strings::SetOptions o;
      o.expire_at_ms = txn.now_ms() + jobs_->options().result_ttl_ms;
      (void)st::strings::Set(txn, idem_key, id, o);
      j->idempotency_key = idempotency_key;
    }
    if (!idem_key.empty() || !owner.empty()) {
      j->owner = owner;  // a JWT user reads and cancels the Celery tasks it enqueued
      Ops::Save(txn, *j);
    }
    res->job = std::move(*j);
    res->created = true;
    return Outcome::Ok();
  };
}

Outcome CeleryBridge::Enqueue(const std::string& queue, const json& spec,
                              const std::string& correlation_id, const std::string& idempotency_key,
                              const std::string& owner, Job* job, bool* created) {
  *created = false;
  celery::NewTask task;
  if (Outcome out = ParseEnqueue(queue, spec, &task); !out.ok()) return out;
  JobService::EnqueueResult res;
  Outcome out = RunTxn(
      store_, EnqueueOp(queue, std::move(task), correlation_id, idempotency_key, owner), &res);
  *job = std::move(res.job);
  *created = res.created;
  return out;
}

void CeleryBridge::EnqueueAsync(std::string queue, json spec, std::string correlation_id,
                                std::string idempotency_key, std::string owner,
                                JobService::Done<JobService::EnqueueResult> done) {
  celery::NewTask task;
  if (Outcome out = ParseEnqueue(queue, spec, &task); !out.ok()) return done(std::move(out), {});
  RunTxnAsync(store_,
              EnqueueOp(std::move(queue), std::move(task), std::move(correlation_id),
                        std::move(idempotency_key), std::move(owner)),
              std::move(done));
}

json CeleryBridge::TraceDetails(const Job& job) {
  json c = job.celery;
  c.erase("list");
  return c;
}

void CeleryBridge::NoteQueue(std::string queue, int db) {
  std::lock_guard lock(mu_);
  queues_[std::move(queue)].insert(db);
}

void CeleryBridge::ProbeQueue(st::Txn& txn, QueueInfo* info) {
  std::set<int> dbs;
  {
    std::lock_guard lock(mu_);
    auto it = queues_.find(info->queue);
    if (it == queues_.end()) return;
    dbs = it->second;
  }
  const int64_t now = txn.now_ms();
  json by_priority = json::object();
  int64_t depth = 0;
  int64_t oldest_created = 0;
  for (int db : dbs) {
    for (int step : celery::kPrioritySteps) {
      const std::string key = options_.key_prefix + celery::PriorityKey(info->queue, step);
      std::string tail;
      {
        DbScope broker(txn, db);
        auto len = st::lists::Len(txn, key);
        if (!len.ok() || *len == 0) continue;
        depth += *len;
        const std::string name = std::to_string(step);
        by_priority[name] = by_priority.value(name, int64_t{0}) + *len;
        // kombu LPUSHes and BRPOPs: the oldest message is the last element.
        auto last = st::lists::Index(txn, key, -1);
        if (last.ok()) tail = std::move(*last);
      }
      auto msg = celery::ParseTaskMessage(tail);
      if (!msg) continue;
      auto job = Ops::Load(txn, msg->id);  // database 0 again
      if (job && (oldest_created == 0 || job->created_at < oldest_created)) {
        oldest_created = job->created_at;
      }
    }
  }
  info->depth += depth;
  if (oldest_created > 0) {
    info->oldest_age_ms = std::max(info->oldest_age_ms, std::max<int64_t>(0, now - oldest_created));
  }
  info->extra = {{"celery", {{"depth_by_priority", std::move(by_priority)}}}};
}

CeleryBridge::TaskStats& CeleryBridge::Stats(const std::string& task) {
  std::lock_guard lock(mu_);
  auto it = stats_.find(task);
  if (it != stats_.end()) return *it->second;
  // Task names come from messages anyone can push: a bounded set, the rest in one series.
  const std::string name = stats_.size() >= kMaxTaskNames ? "(other)" : task;
  auto& slot = stats_[name];
  if (!slot) slot = std::make_unique<TaskStats>();
  return *slot;
}

void CeleryBridge::Count(st::Txn& txn, const std::string& task, const char* what, double seconds) {
  if (!metrics_) return;
  std::string name = CapText(task, 200);
  std::string w = what;
  txn.AfterCommit([this, name, w, seconds] {
    TaskStats& s = Stats(name);
    if (w == "received") s.received.Inc();
    if (w == "started") {
      s.started.Inc();
      if (seconds >= 0) s.wait.Observe(seconds);
    }
    if (w == "succeeded") s.succeeded.Inc();
    if (w == "failed") s.failed.Inc();
    if (w == "retried") s.retried.Inc();
    if (w == "revoked") s.revoked.Inc();
    if ((w == "succeeded" || w == "failed" || w == "revoked") && seconds >= 0) {
      s.runtime.Observe(seconds);
    }
  });
}

void CeleryBridge::CollectMetrics(MetricWriter& w) {
  std::vector<std::pair<std::string, TaskStats*>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, stats] : stats_) all.emplace_back(name, stats.get());
  }
  w.Begin("redge_celery_task_events_total", "counter",
          "Celery task lifecycle events seen by the Celery bridge, by task name: received (a "
          "task message pushed to a queue), started (reserved by a worker), succeeded, "
          "failed, retried, revoked.");
  for (auto& [name, s] : all) {
    const std::pair<const char*, const Counter*> counters[] = {
        {"received", &s->received}, {"started", &s->started}, {"succeeded", &s->succeeded},
        {"failed", &s->failed},     {"retried", &s->retried}, {"revoked", &s->revoked}};
    for (auto& [event, counter] : counters) {
      w.Sample("redge_celery_task_events_total", static_cast<double>(counter->value()),
               {{"task", name}, {"event", event}});
    }
  }
  auto histogram = [&](const char* metric, const char* help, Histogram TaskStats::*which) {
    w.Begin(metric, "histogram", help);
    const std::string base(metric);
    for (auto& [name, s] : all) {
      Histogram::Snapshot snap = (s->*which).Read();
      for (size_t i = 0; i < snap.bounds.size(); ++i) {
        char le[32];
        std::snprintf(le, sizeof(le), "%g", snap.bounds[i]);
        w.Sample(base + "_bucket", static_cast<double>(snap.cumulative[i]),
                 {{"task", name}, {"le", le}});
      }
      w.Sample(base + "_bucket", static_cast<double>(snap.count), {{"task", name}, {"le", "+Inf"}});
      w.Sample(base + "_sum", snap.sum, {{"task", name}});
      w.Sample(base + "_count", static_cast<double>(snap.count), {{"task", name}});
    }
  };
  histogram("redge_celery_task_wait_seconds",
            "Seconds a Celery task waited in its queue before a worker reserved it (each "
            "attempt), by task name.",
            &TaskStats::wait);
  histogram("redge_celery_task_runtime_seconds",
            "Seconds from a Celery task's reservation to its result (SUCCESS, FAILURE or "
            "REVOKED), by task name.",
            &TaskStats::runtime);
}

}  // namespace redge::jobs
