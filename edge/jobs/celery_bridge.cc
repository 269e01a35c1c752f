// The Celery bridge's observers: what kombu and Celery write (task messages pushed and
// popped, the `unacked` hash, results, worker events) turned into job transitions inside
// the same write. The transitions themselves are in celery_transitions.cc.
#include "edge/jobs/celery_bridge.h"

#include <cstdlib>

#include "edge/jobs/celery_internal.h"
#include "edge/jobs/job_txn.h"
#include "edge/json_input.h"
#include "edge/log.h"
#include "edge/metrics.h"
#include "store/keys.h"
#include "store/strings.h"

namespace redge::jobs {

namespace st = redge::store;
using celery_internal::Bool;
using celery_internal::DbScope;
using celery_internal::Str;
using nlohmann::json;

bool ValidCeleryTaskId(std::string_view id) {
  // The alphabet of queue names: one URL path segment, never "." or "..".
  return ValidQueueName(id);
}

std::string CeleryBridge::KnownQueueRecord(std::string_view queue, int db) {
  return std::string(kKnownQueuePrefix) + std::to_string(db) + ":" + std::string(queue);
}

st::Status CeleryBridge::Start() {
  // Queue lists can have any name, so the push/pop observer watches every key under
  // kombu's prefix, for those four events only (other writes do not pay for it).
  store_->AddKeyObserver(options_.key_prefix,
                         [this](st::Txn& txn, const st::KeyEvent& ev) { OnList(txn, ev); },
                         {"lpush", "rpush", "lpop", "rpop"});
  store_->AddKeyObserver(options_.key_prefix + options_.unacked_key,
                         [this](st::Txn& txn, const st::KeyEvent& ev) { OnUnacked(txn, ev); },
                         {"hset", "hdel"});
  store_->AddKeyObserver(options_.result_prefix,
                         [this](st::Txn& txn, const st::KeyEvent& ev) { OnResult(txn, ev); },
                         {"set"});
  // Worker events (celery worker -E) are PUBLISHed on "/<db>.celeryev/<type>".
  store_->AddChannelObserver(
      options_.key_prefix + "/",
      [this](st::Txn& txn, std::string_view ch, std::string_view msg) { OnChannel(txn, ch, msg); });
  jobs_->SetQueueProbe([this](st::Txn& txn, QueueInfo* info) { ProbeQueue(txn, info); });
  if (metrics_) metrics_->registry.AddCollector([this](MetricWriter& w) { CollectMetrics(w); });

  // The Celery queues of the jobs already stored (their broker databases included): one
  // internal record each, written with the first task of the queue. Data from before
  // those records has them built once from every job.
  std::vector<std::pair<std::string, int>> known;
  st::Status s = store_->Exec(0, [&](st::Txn& txn) {
    known.clear();
    auto format = txn.GetInternal(kKnownQueuesFormatName);
    if (format.ok() && *format == "1") {
      (void)txn.ScanInternal(kKnownQueuePrefix, [&](std::string_view name, std::string_view) {
        // <db>:<queue>
        std::string_view rest = name.substr(kKnownQueuePrefix.size());
        size_t colon = rest.find(':');
        if (colon == std::string_view::npos) return true;
        int db = std::atoi(std::string(rest.substr(0, colon)).c_str());
        known.emplace_back(std::string(rest.substr(colon + 1)), db);
        return true;
      });
      return;
    }
    for (const auto& key : st::keys::Keys(txn, "redge:job:*")) {
      auto job = JobService::TxnOps::Load(txn, std::string_view(key).substr(10));
      if (job && job->is_celery()) {
        int db = static_cast<int>(celery_internal::Int(job->celery, "db"));
        known.emplace_back(job->queue, db);
        txn.PutInternal(KnownQueueRecord(job->queue, db), "");
      }
    }
    txn.PutInternal(kKnownQueuesFormatName, "1");
  });
  if (!s.ok()) return s;
  for (auto& [queue, db] : known) NoteQueue(queue, db);
  Log(spdlog::level::info, "celery bridge ready",
      {{"result_prefix", options_.result_prefix},
       {"unacked_key", options_.key_prefix + options_.unacked_key},
       {"control_exchange", options_.control_exchange},
       {"known_queues", std::to_string(queues_.size())}});
  return st::Status::OK();
}

void CeleryBridge::OnList(st::Txn& txn, const st::KeyEvent& ev) {
  if (ev.values == nullptr || ev.values->empty() || IsInternalKey(ev.key)) return;
  const bool push = ev.event == "lpush" || ev.event == "rpush";
  for (const auto& raw : *ev.values) {
    // A pop needs only the task id: the body was read when the message was pushed.
    auto msg = celery::ParseTaskMessage(raw, /*with_body=*/push);
    if (!msg) continue;
    if (push) {
      OnPushed(txn, ev.db, ev.key, raw, *msg);
    } else {
      // A worker's BRPOP (or a basic_get's RPOP) reserves the message: the blocked
      // client is named by txn.client() (CLIENT SETNAME, else resp:<id>).
      OnReserved(txn, *msg, txn.client());
    }
  }
}

void CeleryBridge::OnPushed(st::Txn& txn, int db, std::string_view list, const std::string& raw,
                            const celery::TaskMessage& msg) {
  std::string_view unprefixed = list.substr(options_.key_prefix.size());
  std::string_view queue = celery::SplitPriorityKey(unprefixed).first;
  if (!ValidQueueName(queue) || !ValidCeleryTaskId(msg.id)) {
    Log(spdlog::level::debug, "celery message not bridged",
        {{"list", std::string(list)},
         {"reason", "the queue name or task id is not 1-128 characters of A-Z a-z 0-9 _ - . :"}});
    return;
  }
  DbScope jobs_db(txn, 0);
  auto job = JobService::TxnOps::Load(txn, msg.id);
  if (!job) return Create(txn, db, list, queue, raw, msg);
  if (!job->is_celery()) {
    Log(spdlog::level::warn, "celery message ignored: its task id names a redge job",
        {{"job_id", msg.id}, {"list", std::string(list)}});
    return;
  }
  if (IsTerminal(job->state)) {
    // Celery keeps a SUCCESS for good (later results are not stored), so a copy of a
    // finished task restored or sent again would leave the job running forever.
    Log(spdlog::level::info, "celery message for a finished task",
        {{"job_id", job->id},
         {"correlation_id", job->correlation_id},
         {"state", std::string(StateName(job->state))},
         {"redelivered", msg.redelivered ? "true" : "false"}});
    return;
  }
  json& c = job->celery;
  const int64_t old_retries = celery_internal::Int(c, "retries");
  c["db"] = db;
  c["list"] = std::string(list);
  c["priority"] = msg.priority;
  c["retries"] = std::max<int64_t>(old_retries, msg.retries);
  c["eta"] = celery_internal::OrNull(msg.eta);
  if (job->state == JobState::kQueued) {
    // Another copy while the first waits: the latest is the one a cancel takes out.
    job->envelope = raw;
    JobService::TxnOps::Save(txn, *job);
    return;
  }
  if (msg.retries > old_retries) {
    // Task.retry sends the task again before storing RETRY: the event waits for the
    // reason that RETRY carries (PendingRetries > 0 until then).
    ToQueued(txn, *job, raw, false, "");
    return;
  }
  if (msg.redelivered) {
    // kombu's restore: a reservation older than the visibility timeout (its worker died)
    // or one a stopping worker gave back.
    ToQueued(txn, *job, raw, true,
             "the message was returned to its queue unacknowledged (its worker was lost or "
             "stopped); kombu restored it",
             false);
    return;
  }
  Log(spdlog::level::debug, "celery message for a running task ignored",
      {{"job_id", job->id}, {"list", std::string(list)}});
}

void CeleryBridge::OnReserved(st::Txn& txn, const celery::TaskMessage& msg,
                              const std::string& worker) {
  DbScope jobs_db(txn, 0);
  auto job = JobService::TxnOps::Load(txn, msg.id);
  if (!job || !job->is_celery() || job->state != JobState::kQueued) return;
  Start(txn, *job, worker);
}

void CeleryBridge::OnUnacked(st::Txn& txn, const st::KeyEvent& ev) {
  if (ev.key != options_.key_prefix + options_.unacked_key || ev.values == nullptr) return;
  const std::vector<std::string>& v = *ev.values;
  if (ev.event == "hdel") {
    // An acknowledgement. Only tasks that ignore their results need it: it is the last
    // thing redge sees of them without worker events.
    for (const auto& tag : v) {
      std::string id;
      {
        std::lock_guard lock(mu_);
        auto it = ignored_tags_.find(tag);
        if (it == ignored_tags_.end()) continue;
        id = it->second;
        ignored_tags_.erase(it);
      }
      DbScope jobs_db(txn, 0);
      auto job = JobService::TxnOps::Load(txn, id);
      if (!job || !job->is_celery() || job->state != JobState::kRunning ||
          Bool(job->celery, "backend_seen")) {
        continue;
      }
      job->celery["acked"] = true;
      JobService::TxnOps::Append(
          *jobs_, txn, *job, "acked",
          {{"worker", job->lease_holder},
           {"note",
            "the task ignores its result: redge does not see how it ends (start the worker "
            "with -E to send task events)"}});
      const int64_t expire_at = txn.now_ms() + jobs_->options().result_ttl_ms;
      JobService::TxnOps::Save(txn, *job, expire_at);
      (void)st::keys::ExpireAt(txn, EventsKey(job->id), expire_at, {});
      JobService::TxnOps::MarkRunning(*jobs_, txn, *job, false);
    }
    return;
  }
  // hset: tag, [message, exchange, routing_key], ... (kombu's QoS.append).
  for (size_t i = 0; i + 1 < v.size(); i += 2) {
    json entry;
    if (ParseJson(v[i + 1], &entry) != JsonError::kNone || !entry.is_array() || entry.empty()) {
      continue;
    }
    auto msg = celery::TaskMessageFromJson(entry[0], /*with_body=*/false);
    if (!msg || !ValidCeleryTaskId(msg->id)) continue;
    DbScope jobs_db(txn, 0);
    auto job = JobService::TxnOps::Load(txn, msg->id);
    if (!job || !job->is_celery() || IsTerminal(job->state)) continue;
    // Normally the pop came first and started it; a reservation redge did not see pop
    // (bridge turned on meanwhile) starts it here.
    if (job->state == JobState::kQueued) Start(txn, *job, txn.client());
    if (msg->ignore_result) {
      std::lock_guard lock(mu_);
      // Bounded: tags of workers that died unacknowledged are dropped by a restore.
      if (ignored_tags_.size() < 100'000) ignored_tags_[v[i]] = msg->id;
    }
  }
}

void CeleryBridge::OnResult(st::Txn& txn, const st::KeyEvent& ev) {
  if (ev.values == nullptr || ev.values->empty()) return;
  std::string_view id = ev.key.substr(options_.result_prefix.size());
  if (!ValidCeleryTaskId(id)) return;
  auto meta = celery::ParseResultMeta(ev.values->front());
  if (!meta) {
    Log(spdlog::level::debug, "celery result not understood", {{"job_id", std::string(id)}});
    return;
  }
  backend_db_.store(ev.db, std::memory_order_relaxed);
  DbScope jobs_db(txn, 0);
  auto job = JobService::TxnOps::Load(txn, id);
  if (!job || !job->is_celery() || IsTerminal(job->state)) return;
  ApplyResult(txn, *job, *meta, ev.db);
}

void CeleryBridge::OnChannel(st::Txn& txn, std::string_view channel, std::string_view message) {
  // "/<db>.celeryev/task.succeeded": only task events matter here.
  size_t at = channel.find(".celeryev/task.");
  if (at == std::string_view::npos) return;
  json envelope;
  if (ParseJson(message, &envelope) != JsonError::kNone || !envelope.is_object()) return;
  std::string body = Str(envelope, "body");
  const json* props = envelope.contains("properties") ? &envelope["properties"] : nullptr;
  std::optional<std::string> decoded = body;
  if (props && props->is_object() && Str(*props, "body_encoding") == "base64") {
    decoded = celery::Base64Decode(body);
  }
  json event;
  if (!decoded || ParseJson(*decoded, &event) != JsonError::kNone) return;
  // A dispatcher may send a batch (a list of events) in one message.
  if (event.is_array()) {
    for (const auto& e : event) OnWorkerEvent(txn, e);
  } else {
    OnWorkerEvent(txn, event);
  }
}

void CeleryBridge::OnWorkerEvent(st::Txn& txn, const json& event) {
  if (!event.is_object()) return;
  const std::string type = Str(event, "type");
  const std::string id = Str(event, "uuid");
  if (type.rfind("task-", 0) != 0 || !ValidCeleryTaskId(id)) return;
  DbScope jobs_db(txn, 0);
  auto job = JobService::TxnOps::Load(txn, id);
  if (!job || !job->is_celery() || IsTerminal(job->state)) return;
  json& c = job->celery;
  const std::string hostname = Str(event, "hostname");
  if (type == "task-received" || type == "task-started") {
    if (!hostname.empty()) c["worker"] = hostname;
    if (auto pid = event.find("pid"); type == "task-started" && pid != event.end()) {
      c["pid"] = *pid;
    }
    if (job->state == JobState::kQueued) {
      // task-started runs the attempt, unless the previous run's RETRY (with the reason the
      // `retrying` event carries) is still to come: then it is held like a reservation.
      const bool retry_due = CeleryBridge::PendingRetries(c) > 0 && !Bool(c, "ignore_result");
      Start(txn, *job, hostname.empty() ? txn.client() : hostname,
            type == "task-started" && !retry_due);
      return;
    }
    if (!hostname.empty()) {
      LearnWorker(txn, job->lease_holder, hostname);
      job->lease_holder = hostname;
    }
    JobService::TxnOps::Save(txn, *job);
    return;
  }
  // The outcome from events only when the result backend says nothing about this task
  // (ignore_result, or results stored elsewhere): otherwise the backend's JSON result,
  // which arrives first, is the one kept.
  if (Bool(c, "backend_seen") && !Bool(c, "ignore_result")) return;
  c["outcome_source"] = "worker events";
  if (type == "task-succeeded") {
    if (job->state == JobState::kQueued) {
      Start(txn, *job, hostname.empty() ? txn.client() : hostname, /*force=*/true);
    }
    // A Python repr: events carry no serialized result.
    Finish(txn, *job, JobState::kCompleted, event.value("result", json()), "");
  } else if (type == "task-failed") {
    if (job->state == JobState::kQueued) {
      Start(txn, *job, hostname.empty() ? txn.client() : hostname, /*force=*/true);
    }
    c["traceback"] = CapText(Str(event, "traceback"), 64 * 1024);
    Finish(txn, *job, JobState::kFailed, nullptr, Str(event, "exception"));
  } else if (type == "task-retried") {
    OnRetryReported(txn, *job, Str(event, "exception"));
    if (job->state == JobState::kQueued && job->celery.contains("held_reservation")) {
      Start(txn, *job, Str(job->celery, "held_reservation"));
    }
  } else if (type == "task-revoked") {
    if (job->state == JobState::kQueued) RemoveQueuedMessage(txn, *job);
    std::string why = Bool(event, "terminated") ? "terminated"
                      : Bool(event, "expired")  ? "expired"
                                                : "revoked";
    Finish(txn, *job, JobState::kCanceled, nullptr, why);
  }
}

}  // namespace redge::jobs
