// HTTP worker routes: POST /v1/queues/{queue}/lease and the lease holder's
// /v1/jobs/{id}/events, /heartbeat, /complete, /fail. Each runs its jobs operation
// asynchronously and answers from the completion, posted back to the loop (OnLoop).
#include <atomic>
#include <chrono>

#include "edge/http/jobs_api.h"
#include "edge/http/route_support.h"
#include "edge/log.h"

namespace redge::http {

using jobs::Job;
using jobs::Outcome;
using nlohmann::json;
using routes::OnLoop;

namespace {

json LeasedJob(const Job& job, int64_t lease_timeout_ms) {
  return {{"id", job.id},
          {"queue", job.queue},
          {"attempt", job.attempt},
          {"correlation_id", job.correlation_id},
          {"payload", job.payload},
          {"lease_token", job.lease_token},
          {"lease_timeout_ms", lease_timeout_ms},
          {"lease", {{"holder", job.lease_holder}, {"expires_at", job.lease_expires_at}}}};
}

}  // namespace

void JobsApi::Lease(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  const std::string queue = req.params[0];
  if (Outcome q = jobs_->CheckQueue(queue); !q.ok()) return ReplyOutcome(*ex, q, corr);
  double wait_s = 0;
  if (auto w = req.Query("wait")) {
    auto parsed = routes::ParseSeconds(*w, 0, 60);
    if (!parsed) return ReplyError(*ex, 400, "bad_request", "wait must be 0..60 seconds", corr);
    wait_s = *parsed;
  }
  auto body = routes::BodyJson(req, *ex, corr, json::object());
  if (!body) return;
  std::string worker;
  if (body->is_object() && body->contains("worker") && (*body)["worker"].is_string()) {
    worker = (*body)["worker"].get<std::string>();
  } else if (auto h = req.Header("x-worker-id")) {
    worker = std::string(*h);
  }
  if (worker.empty() || worker.size() > 128 || !routes::PrintableAscii(worker)) {
    worker = "http:" + req.peer;
  }

  // One lease wait: served by the write that pushes a job (on that writer's thread), by
  // the timeout timer, or withdrawn when the worker disconnects; whichever comes first.
  struct Wait {
    std::atomic<bool> finished{false};
    std::atomic<uint64_t> handle{0};
    std::atomic<uint64_t> drain_hook{0};
    net::EventLoop::TimerId timer = 0;
  };
  if (stopping_) {
    return ReplyError(*ex, 503, "unavailable", "redge is shutting down", corr,
                      {{"Retry-After", "1"}});
  }
  auto wait = std::make_shared<Wait>();
  net::EventLoop* loop = &ex->loop();
  const int64_t lease_timeout_ms = jobs_->options().lease_timeout_ms;
  jobs::JobService* jobs = jobs_;
  auto finish = [this, wait, ex, corr, loop, lease_timeout_ms, jobs, worker](Outcome out,
                                                                             std::string id) {
    if (wait->finished.exchange(true)) return;
    ex->Post([this, wait, ex, corr, loop, out = std::move(out), id = std::move(id),
              lease_timeout_ms, jobs, worker] {
      if (wait->timer) loop->CancelTimer(wait->timer);
      if (uint64_t hook = wait->drain_hook.exchange(0)) RemoveDrainHook(hook);
      if (!out.ok()) return ReplyOutcome(*ex, out, corr);
      if (id.empty()) return ReplyJson(*ex, 204, nullptr, corr);
      // The popped job, read once its lease is committed (and only if still this
      // worker's): a second asynchronous step, answered on the loop as well.
      jobs->LeasedJobAsync(id, worker, [ex, corr, lease_timeout_ms](std::optional<Job> job) {
        routes::PostTo(ex, [ex, corr, lease_timeout_ms, job = std::move(job)] {
          if (!job) return ReplyJson(*ex, 204, nullptr, corr);
          ReplyJson(*ex, 200, LeasedJob(*job, lease_timeout_ms), corr);
        });
      });
    });
  };
  uint64_t handle = jobs_->LeaseAsync(queue, worker, finish);
  wait->handle = handle;
  if (wait->finished.load() || handle == 0) return;  // served at once
  auto withdraw = [this, wait, finish] {
    // Only a wait still parked may answer "nothing"; one being served, or whose first pop
    // has not run yet (wait=0 behind a busy writer), answers through `finish` itself.
    if (jobs_->TimeOutLease(wait->handle.load())) finish(Outcome::Ok(), "");
  };
  if (wait_s <= 0) return withdraw();
  wait->timer = loop->RunAfter(std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000)),
                               [wait, withdraw] {
                                 wait->timer = 0;
                                 withdraw();
                               });
  wait->drain_hook = AddDrainHook([loop, withdraw] { loop->Post(withdraw); });
  ex->OnClose([this, wait, loop] {
    if (wait->timer) loop->CancelTimer(wait->timer);
    wait->timer = 0;
    if (!wait->finished.load()) jobs_->CancelLease(wait->handle.load());
    if (uint64_t hook = wait->drain_hook.exchange(0)) RemoveDrainHook(hook);
  });
}

void JobsApi::WorkerEvent(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  auto body = routes::BodyJson(req, *ex, corr, json::object());
  if (!body) return;
  std::string type = "progress";
  json data;
  if (body->is_object() && body->contains("event")) {
    if (!(*body)["event"].is_string() || (*body)["event"].get<std::string>().empty()) {
      return ReplyError(*ex, 400, "bad_request", "\"event\" must be a non-empty string", corr);
    }
    type = (*body)["event"].get<std::string>();
    if (!jobs::ValidEventType(type)) {
      return ReplyError(*ex, 400, "bad_request", std::string(jobs::kEventTypeRule), corr);
    }
    if (jobs::IsReservedEventType(type)) {
      return ReplyError(
          *ex, 400, "bad_request",
          "event type '" + type + "' is reserved; use /complete or /fail to finish a job", corr);
    }
  }
  if (body->is_object() && body->contains("data")) {
    data = std::move((*body)["data"]);
  } else if (body->is_object()) {
    data = std::move(*body);
    data.erase("event");
  } else {
    data = std::move(*body);
  }
  using Result = jobs::JobService::EventResult;
  jobs_->AppendEventAsync(req.params[0], routes::LeaseToken(req), std::move(type), std::move(data),
                          OnLoop<Result>(ex, [ex, corr](Outcome out, Result res) {
                            if (!out.ok()) return ReplyOutcome(*ex, out, corr);
                            ReplyJson(
                                *ex, 200,
                                {{"event_id", res.canceled ? json(nullptr) : json(res.event_id)},
                                 {"canceled", res.canceled}},
                                corr);
                          }));
}

void JobsApi::WorkerHeartbeat(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  using Result = jobs::JobService::HeartbeatResult;
  jobs_->HeartbeatAsync(req.params[0], routes::LeaseToken(req),
                        OnLoop<Result>(ex, [ex, corr](Outcome out, Result res) {
                          if (!out.ok()) return ReplyOutcome(*ex, out, corr);
                          json lease = res.canceled
                                           ? json(nullptr)
                                           : json{{"holder", res.job.lease_holder},
                                                  {"expires_at", res.job.lease_expires_at}};
                          ReplyJson(*ex, 200, {{"canceled", res.canceled}, {"lease", lease}}, corr);
                        }));
}

namespace {

// The reply of /complete and /fail: the job as it is after the write.
auto ReplyFinished(std::shared_ptr<Exchange> ex, std::string corr) {
  return OnLoop<Job>(ex, [ex, corr](Outcome out, Job job) {
    if (!out.ok()) return ReplyOutcome(*ex, out, corr);
    ReplyJson(*ex, 200, job.ToApi(), corr);
  });
}

}  // namespace

void JobsApi::WorkerComplete(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  auto body = routes::BodyJson(req, *ex, corr, json::object());
  if (!body) return;
  json result = body->is_object() && body->contains("result") ? (*body)["result"] : json();
  jobs_->CompleteAsync(req.params[0], routes::LeaseToken(req), std::move(result),
                       ReplyFinished(ex, corr));
}

void JobsApi::WorkerFail(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  auto body = routes::BodyJson(req, *ex, corr, json::object());
  if (!body) return;
  if (!body->is_object()) {
    return ReplyError(*ex, 400, "bad_request", "the body must be {\"error\", \"retry\"}", corr);
  }
  std::string error = "worker failed";
  if (body->contains("error")) {
    const json& e = (*body)["error"];
    error = e.is_string() ? e.get<std::string>() : DumpJson(e);
  }
  bool retry = false;
  if (auto it = body->find("retry"); it != body->end()) {
    if (!it->is_boolean()) {
      return ReplyError(*ex, 400, "bad_request", "\"retry\" must be true or false", corr);
    }
    retry = it->get<bool>();
  }
  jobs_->FailAsync(req.params[0], routes::LeaseToken(req), std::move(error), retry,
                   ReplyFinished(ex, corr));
}

}  // namespace redge::http
