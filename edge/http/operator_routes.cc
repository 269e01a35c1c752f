// Operator routes: GET /v1/jobs (list), GET /v1/queues, GET /v1/jobs/{id}/trace and POST
// /v1/jobs/{id}/retry. Each runs its jobs operation asynchronously and answers from the
// completion, posted back to the loop (OnLoop).
#include "edge/auth/access_control.h"
#include "edge/http/jobs_api.h"
#include "edge/http/route_support.h"
#include "edge/log.h"

namespace redge::http {

using jobs::Job;
using jobs::Outcome;
using nlohmann::json;
using routes::OnLoop;

void JobsApi::TraceJob(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  using Result = jobs::JobService::TraceResult;
  jobs_->TraceAsync(
      req.params[0], OnLoop<Result>(ex, [ex, corr](Outcome out, Result res) {
        if (!out.ok()) return ReplyOutcome(*ex, out, corr);
        const Job& job = res.job;
        const bool celery = job.is_celery();
        // One timeline: what the jobs layer recorded (enqueue, each lease and
        // its holder, every event, the end) and who received the end.
        json timeline = json::array();
        for (const auto& e : res.events) {
          json step = {{"at", e.ts}, {"event_id", e.id}, {"event", e.type}};
          if (e.type == "queued") {
            step["what"] = "enqueued";
            step["correlation_id"] = job.correlation_id;
            step["queue"] = job.queue;
          } else if (e.type == "started") {
            step["what"] = celery ? "reserved by a Celery worker" : "leased";
            step["holder"] = e.data.value("worker", "");
            step["attempt"] = e.data.value("attempt", 0);
          } else if (e.type == "retrying") {
            step["what"] = "lease ended, retrying";
            step["detail"] = e.data;
          } else if (e.type == "completed" || e.type == "failed" || e.type == "canceled") {
            step["what"] = "finished";
            step["state"] = e.type;
            if (e.type == "failed") step["error"] = e.data.value("error", "");
          } else {
            step["what"] = "event";
          }
          timeline.push_back(std::move(step));
        }
        for (auto& d : res.deliveries) {
          d["what"] = "terminal state delivered";
          timeline.push_back(std::move(d));
        }
        json body = job.ToApi();
        // With its traceback.
        if (celery) body["celery"] = jobs::CeleryBridge::TraceDetails(job);
        body["timeline"] = std::move(timeline);
        ReplyJson(*ex, 200, body, corr);
      }));
}

void JobsApi::RetryJob(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  jobs_->RetryAsync(req.params[0],
                    OnLoop<Job>(ex, [ex, corr, peer = req.peer](Outcome out, Job job) {
                      if (!out.ok()) return ReplyOutcome(*ex, out, corr);
                      Log(spdlog::level::info, "job retry requested",
                          {{"job_id", std::string(job.id)},
                           {"correlation_id", std::string(job.correlation_id)},
                           {"attempt", std::to_string(job.attempt)},
                           {"peer", peer}});
                      ReplyJson(*ex, 200, job.ToApi(), corr);
                    }));
}

void JobsApi::ListJobs(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  jobs::JobService::ListRequest r;
  if (auto q = req.Query("queue")) {
    if (Outcome check = jobs_->CheckQueue(*q); !check.ok()) {
      return ReplyOutcome(*ex, check, corr);
    }
    r.queue = std::string(*q);
  }
  if (auto st = req.Query("state")) {
    for (auto s : {jobs::JobState::kQueued, jobs::JobState::kRunning, jobs::JobState::kCompleted,
                   jobs::JobState::kFailed, jobs::JobState::kCanceled}) {
      if (jobs::StateName(s) == *st) r.state = s;
    }
    if (!r.state) {
      return ReplyError(*ex, 400, "bad_request",
                        "state must be one of queued, running, completed, failed, canceled", corr);
    }
  }
  if (auto l = req.Query("limit")) {
    int limit = 0;
    bool ok = !l->empty() && l->size() <= 4;
    for (char c : *l) {
      if (c < '0' || c > '9') ok = false;
      if (ok) limit = limit * 10 + (c - '0');
    }
    if (!ok || limit < 1 || limit > routes::kMaxListLimit) {
      return ReplyError(*ex, 400, "bad_request",
                        "limit must be 1.." + std::to_string(routes::kMaxListLimit), corr);
    }
    r.limit = limit;
  }
  if (auto c = req.Query("cursor")) {
    if (c->size() > 128 || !routes::PrintableAscii(*c)) {
      return ReplyError(*ex, 400, "bad_request", "cursor must be a job id", corr);
    }
    r.cursor = std::string(*c);
  }
  using Page = jobs::JobService::ListPage;
  jobs_->ListAsync(
      std::move(r), OnLoop<Page>(ex, [ex, corr, principal = req.principal](Outcome out, Page page) {
        if (!out.ok()) return ReplyOutcome(*ex, out, corr);
        json list = json::array();
        for (const auto& job : page.jobs) {
          // Only the jobs the caller may read (a producer's own, a reader's queues).
          if (auth::DecideJob(*principal, auth::Permission::kRead,
                              {job.id, job.queue, job.owner}) == auth::Decision::kAllowed) {
            list.push_back(job.ToApi());
          }
        }
        ReplyJson(
            *ex, 200,
            {{"jobs", std::move(list)},
             {"next_cursor", page.next_cursor.empty() ? json(nullptr) : json(page.next_cursor)}},
            corr);
      }));
}

void JobsApi::ListQueues(Request& req, std::shared_ptr<Exchange> ex) {
  using Queues = std::vector<jobs::QueueInfo>;
  // As before the read became asynchronous: a failed read lists what it could (nothing).
  jobs_->QueuesAsync(OnLoop<Queues>(
      ex, [ex, corr = CorrelationOf(req), principal = req.principal](Outcome, Queues infos) {
        json queues = json::array();
        for (const auto& q : infos) {
          if (!auth::SeesQueue(*principal, q.queue)) continue;
          json entry = {{"queue", q.queue},
                        {"depth", q.depth},
                        {"running", q.running},
                        {"oldest_age_ms", q.oldest_age_ms}};
          if (q.extra.is_object()) entry.update(q.extra);
          queues.push_back(std::move(entry));
        }
        ReplyJson(*ex, 200, {{"queues", queues}}, corr);
      }));
}

}  // namespace redge::http
