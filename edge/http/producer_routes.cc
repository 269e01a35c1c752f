// Producer and chat routes: POST /v1/queues/{queue}/jobs (and its Celery form), POST
// /chat, DELETE /v1/jobs/{id}, GET /chat/response/{id}. Each parses and checks its request
// on the loop, then runs its jobs operation asynchronously and answers from the completion,
// posted back to the loop (route_support.h: OnLoop).
#include "edge/http/jobs_api.h"
#include "edge/http/route_support.h"
#include "edge/log.h"

namespace redge::http {

using jobs::Job;
using jobs::Outcome;
using nlohmann::json;
using routes::OnLoop;

namespace {

json JobCreated(const Job& job) {
  return {{"id", job.id},
          {"queue", job.queue},
          {"state", jobs::StateName(job.state)},
          {"correlation_id", job.correlation_id},
          {"events_url", "/v1/jobs/" + job.id + "/events"},
          {"status_url", "/v1/jobs/" + job.id}};
}

}  // namespace

void JobsApi::Enqueue(Request& req, std::shared_ptr<Exchange> ex, const std::string& queue,
                      bool chat) {
  const std::string corr = CorrelationOf(req);
  if (Outcome q = jobs_->CheckQueue(queue); !q.ok()) return ReplyOutcome(*ex, q, corr);
  if (auto h = req.Header("x-correlation-id"); h && corr.empty()) {
    return ReplyError(*ex, 400, "bad_request",
                      "X-Correlation-ID must be 1-128 printable ASCII characters", corr);
  }
  std::string idem;
  if (auto h = req.Header("idempotency-key")) {
    if (h->empty() || h->size() > routes::kMaxIdempotencyKey || !routes::PrintableAscii(*h)) {
      return ReplyError(*ex, 400, "bad_request",
                        "Idempotency-Key must be 1-256 printable ASCII characters", corr);
    }
    idem = std::string(*h);
  }
  if (req.body.empty()) {
    return ReplyError(*ex, 400, "invalid_json", "the request body must be a JSON payload", corr);
  }
  auto payload = routes::BodyJson(req, *ex, corr, nullptr);
  if (!payload) return;
  const std::string owner = req.principal ? req.principal->owner : "";
  using Result = jobs::JobService::EnqueueResult;
  auto done = OnLoop<Result>(ex, [this, ex, corr, chat](Outcome out, Result res) {
    if (!out.ok()) return ReplyOutcome(*ex, out, corr);
    const Job& job = res.job;
    const std::string& echoed = job.correlation_id;
    json body = chat ? json{{"correlation_id", job.id}, {"id", job.id}} : JobCreated(job);
    // The token a page watches this job with (an app backend hands it over instead of its
    // own key). A repeat with the same Idempotency-Key gets a fresh one.
    AddStreamToken(&body, job.id);
    if (chat) return ReplyJson(*ex, res.created ? 202 : 200, body, echoed);
    ReplyJson(*ex, res.created ? 202 : 200, body, echoed, {{"Location", "/v1/jobs/" + job.id}});
  });
  if (!chat && options_.celery && payload->is_object() && payload->size() == 1 &&
      payload->contains("celery")) {
    // {"celery": {"task", "args", "kwargs", ...}}: a Celery task message for a stock worker.
    return options_.celery->EnqueueAsync(queue, std::move((*payload)["celery"]), corr, idem, owner,
                                         std::move(done));
  }
  jobs_->EnqueueAsync({queue, std::move(*payload), corr, idem, owner}, std::move(done));
}

void JobsApi::CancelJob(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  const std::string id = req.params[0];
  const std::string peer = req.peer;
  // The jobs layer's own cancel: for every job that is not a Celery task.
  auto cancel = [this, ex, corr, id, peer] {
    jobs_->CancelAsync(id, OnLoop<Job>(ex, [ex, corr, peer](Outcome out, Job job) {
                         if (!out.ok()) return ReplyOutcome(*ex, out, corr);
                         Log(spdlog::level::info, "job cancel requested",
                             {{"job_id", std::string(job.id)},
                              {"correlation_id", std::string(job.correlation_id)},
                              {"peer", peer}});
                         ReplyJson(*ex, 200, job.ToApi(), corr);
                       }));
  };
  if (!options_.celery) return cancel();
  // A Celery task is revoked over Celery's control channel (?terminate=true also kills
  // it if it runs); 202 while its worker has yet to report the end.
  bool terminate = false;
  if (auto t = req.Query("terminate")) {
    if (*t == "true" || *t == "1") {
      terminate = true;
    } else if (*t != "false" && *t != "0") {
      return ReplyError(*ex, 400, "bad_request", "terminate must be true or false", corr);
    }
  }
  using Revoked = jobs::CeleryBridge::RevokeResult;
  options_.celery->RevokeAsync(
      id, terminate,
      OnLoop<Revoked>(ex, [ex, corr, peer, terminate, cancel](Outcome out, Revoked res) {
        if (!res.handled) return cancel();
        if (!out.ok()) return ReplyOutcome(*ex, out, corr);
        const Job& job = res.job;
        Log(spdlog::level::info, "job cancel requested",
            {{"job_id", std::string(job.id)},
             {"correlation_id", std::string(job.correlation_id)},
             {"celery_revoke", terminate ? "terminate" : "revoke"},
             {"peer", peer}});
        ReplyJson(*ex, jobs::IsTerminal(job.state) ? 200 : 202, job.ToApi(), corr);
      }));
}

void JobsApi::ChatResponse(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  jobs_->GetAsync(
      req.params[0], OnLoop<Job>(ex, [ex, corr](Outcome out, Job job) {
        if (!out.ok()) return ReplyOutcome(*ex, out, corr);
        json body = {{"correlation_id", job.id}, {"state", jobs::StateName(job.state)}};
        if (job.state == jobs::JobState::kCompleted) body["response"] = job.result;
        if (job.state == jobs::JobState::kFailed || job.state == jobs::JobState::kCanceled) {
          body["error"] = job.error;
        }
        ReplyJson(*ex, jobs::IsTerminal(job.state) ? 200 : 202, body, corr);
      }));
}

}  // namespace redge::http
