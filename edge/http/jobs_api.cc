#include "edge/http/jobs_api.h"

#include <chrono>
#include <cstdlib>

#include "edge/auth_guard.h"
#include "edge/decimal.h"
#include "edge/http/http_parser.h"
#include "edge/http/static_assets.h"
#include "edge/json_input.h"
#include "edge/log.h"
#include "edge/net/event_loop.h"

namespace redge::http {

using jobs::Job;
using jobs::Outcome;
using nlohmann::json;

namespace {

constexpr size_t kMaxCorrelationId = 128;
constexpr size_t kMaxIdempotencyKey = 256;
constexpr int kMaxListLimit = 1000;

bool PrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Seconds with fractions, in (lo, hi]; nullopt when malformed or out of range.
std::optional<double> ParseSeconds(const std::string& v, double lo, double hi) {
  double d = 0;
  if (!ParseDecimal(v, &d) || !(d >= lo && d <= hi)) return std::nullopt;
  return d;
}

json JobCreated(const Job& job) {
  return {{"id", job.id},
          {"queue", job.queue},
          {"state", jobs::StateName(job.state)},
          {"correlation_id", job.correlation_id},
          {"events_url", "/v1/jobs/" + job.id + "/events"},
          {"status_url", "/v1/jobs/" + job.id}};
}

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

// Parses a JSON request body; an empty body is `fallback`. Replies 400 and returns
// nullopt when it is not JSON or nests deeper than kMaxJsonInputDepth.
std::optional<json> BodyJson(const Request& req, Exchange& ex, const std::string& corr,
                             json fallback) {
  if (req.body.empty()) return fallback;
  json j;
  if (JsonError e = ParseJson(req.body, &j); e != JsonError::kNone) {
    ReplyError(ex, 400, "invalid_json", "the request body is " + JsonErrorText(e), corr);
    return std::nullopt;
  }
  return j;
}

std::string LeaseToken(const Request& req) {
  auto t = req.Header("x-lease-token");
  return t ? std::string(*t) : std::string();
}

}  // namespace

std::string CorrelationOf(const Request& req) {
  auto h = req.Header("x-correlation-id");
  if (!h || h->empty() || h->size() > kMaxCorrelationId || !PrintableAscii(*h)) return "";
  return std::string(*h);
}

void ReplyJson(Exchange& ex, int status, const json& body, const std::string& correlation,
               Headers extra) {
  Response r;
  r.status = status;
  r.headers = std::move(extra);
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Cache-Control", "no-store");
  if (!correlation.empty()) r.headers.emplace_back("X-Correlation-ID", correlation);
  if (status != 204) r.body = DumpJson(body) + "\n";
  ex.Reply(std::move(r));
}

void ReplyError(Exchange& ex, int status, std::string_view code, std::string_view message,
                const std::string& correlation, Headers extra) {
  ReplyJson(ex, status, {{"error", {{"code", code}, {"message", message}}}}, correlation,
            std::move(extra));
}

void ReplyOutcome(Exchange& ex, const Outcome& outcome, const std::string& correlation) {
  using Code = Outcome::Code;
  switch (outcome.code) {
    case Code::kOk:
      return ReplyJson(ex, 200, json::object(), correlation);
    case Code::kNotFound:
      return ReplyError(ex, 404, "not_found", outcome.message, correlation);
    case Code::kBadRequest:
      return ReplyError(ex, 400, "bad_request", outcome.message, correlation);
    case Code::kConflict:
      return ReplyError(ex, 409, "conflict", outcome.message, correlation);
    case Code::kLeaseLost:
      return ReplyError(ex, 409, "lease_lost", outcome.message, correlation);
    case Code::kTooLarge:
      return ReplyError(ex, 413, "payload_too_large", outcome.message, correlation);
    case Code::kUnavailable:
      return ReplyError(ex, 503, "unavailable", outcome.message, correlation,
                        {{"Retry-After", "5"}});
  }
}

JobsApi::JobsApi(jobs::JobService* jobs, store::Store* store, JobsApiOptions options,
                 Metrics* metrics)
    : jobs_(jobs), store_(store), options_(std::move(options)), metrics_(metrics) {}

void JobsApi::Register(HttpServer& server) {
  // CORS first: a preflight carries no credentials, and a 401 needs the CORS headers for
  // the page to read it. Credentials are checked per route (Route, access_routes.cc).
  server.SetFilter([this](Request& req) -> std::optional<Response> {
    return ApplyCors(options_.cors_origins, req);
  });
  auto bind = [this](auto method) {
    return [this, method](Request& req, std::shared_ptr<Exchange> ex) {
      (this->*method)(req, std::move(ex));
    };
  };
  using auth::Permission;
  using P = RoutePolicy;
  const RoutePolicy read_job = P::Job(Permission::kRead, /*stream_token=*/true);
  auto job = [](Permission p) { return P::Job(p); };
  Route(server, "POST", "/v1/queues/{queue}/jobs", P::Queue(Permission::kEnqueue),
        [this](Request& req, std::shared_ptr<Exchange> ex) {
          Enqueue(req, std::move(ex), req.params[0], false);
        });
  Route(server, "POST", "/v1/queues/{queue}/lease", P::Queue(Permission::kLease),
        bind(&JobsApi::Lease));
  Route(server, "GET", "/v1/queues", P::Global(Permission::kQueues), bind(&JobsApi::ListQueues));
  Route(server, "GET", "/v1/jobs", P::Global(Permission::kList), bind(&JobsApi::ListJobs));
  Route(server, "GET", "/v1/jobs/{id}", read_job, bind(&JobsApi::GetJob));
  Route(server, "DELETE", "/v1/jobs/{id}", job(Permission::kCancel), bind(&JobsApi::CancelJob));
  Route(server, "GET", "/v1/jobs/{id}/trace", job(Permission::kTrace), bind(&JobsApi::TraceJob));
  Route(server, "GET", "/v1/jobs/{id}/events", read_job,
        [this](Request& req, std::shared_ptr<Exchange> ex) {
          Events(req, std::move(ex), req.params[0]);
        });
  Route(server, "POST", "/v1/jobs/{id}/stream-token", job(Permission::kRead),
        bind(&JobsApi::NewStreamToken));
  Route(server, "POST", "/v1/jobs/{id}/retry", job(Permission::kRetry), bind(&JobsApi::RetryJob));
  Route(server, "POST", "/v1/jobs/{id}/events", job(Permission::kWork),
        bind(&JobsApi::WorkerEvent));
  Route(server, "POST", "/v1/jobs/{id}/heartbeat", job(Permission::kWork),
        bind(&JobsApi::WorkerHeartbeat));
  Route(server, "POST", "/v1/jobs/{id}/complete", job(Permission::kWork),
        bind(&JobsApi::WorkerComplete));
  Route(server, "POST", "/v1/jobs/{id}/fail", job(Permission::kWork), bind(&JobsApi::WorkerFail));
  Route(server, "GET", "/healthz", P::Public(), [](Request& req, std::shared_ptr<Exchange> ex) {
    ReplyJson(*ex, 200, {{"status", "ok"}}, CorrelationOf(req));
  });
  Route(server, "GET", "/readyz", P::Public(), bind(&JobsApi::Ready));
  Route(server, "POST", "/chat", P::Queue(Permission::kEnqueue, "chat"),
        [this](Request& req, std::shared_ptr<Exchange> ex) {
          Enqueue(req, std::move(ex), "chat", true);
        });
  Route(server, "GET", "/chat/stream/{id}", read_job,
        [this](Request& req, std::shared_ptr<Exchange> ex) {
          Events(req, std::move(ex), req.params[0]);
        });
  Route(server, "GET", "/chat/response/{id}", read_job, bind(&JobsApi::ChatResponse));
  // The browser files hold no data: public, so a page can load before it has a token.
  for (const char* path : {"/v1/client.js", "/ui", "/ui/", "/ui/{file}"}) {
    Route(server, "GET", path, P::Public(), StaticRouteHandler(path));
  }
  if (metrics_) RegisterMetrics(server);
}

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
    if (h->empty() || h->size() > kMaxIdempotencyKey || !PrintableAscii(*h)) {
      return ReplyError(*ex, 400, "bad_request",
                        "Idempotency-Key must be 1-256 printable ASCII characters", corr);
    }
    idem = std::string(*h);
  }
  if (req.body.empty()) {
    return ReplyError(*ex, 400, "invalid_json", "the request body must be a JSON payload", corr);
  }
  auto payload = BodyJson(req, *ex, corr, nullptr);
  if (!payload) return;
  const std::string owner = req.principal ? req.principal->owner : "";
  Job job;
  bool created = false;
  Outcome out;
  if (!chat && options_.celery && payload->is_object() && payload->size() == 1 &&
      payload->contains("celery")) {
    // {"celery": {"task", "args", "kwargs", ...}}: a Celery task message for a stock worker.
    out = options_.celery->Enqueue(queue, (*payload)["celery"], corr, idem, owner, &job, &created);
  } else {
    jobs::JobService::EnqueueRequest r{queue, std::move(*payload), corr, idem, owner};
    out = jobs_->Enqueue(r, &job, &created);
  }
  if (!out.ok()) return ReplyOutcome(*ex, out, corr);
  const std::string& echoed = job.correlation_id;
  json body = chat ? json{{"correlation_id", job.id}, {"id", job.id}} : JobCreated(job);
  // The token a page watches this job with (an app backend hands it over instead of its
  // own key). A repeat with the same Idempotency-Key gets a fresh one.
  AddStreamToken(&body, job.id);
  if (chat) return ReplyJson(*ex, created ? 202 : 200, body, echoed);
  ReplyJson(*ex, created ? 202 : 200, body, echoed, {{"Location", "/v1/jobs/" + job.id}});
}

void JobsApi::TraceJob(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  Job job;
  std::vector<jobs::Event> events;
  std::vector<json> deliveries;
  Outcome out = jobs_->Trace(req.params[0], &job, &events, &deliveries);
  if (!out.ok()) return ReplyOutcome(*ex, out, corr);
  const bool celery = job.is_celery();
  // One timeline: what the jobs layer recorded (enqueue, each lease and its holder, every
  // event, the end) and who received the end.
  json timeline = json::array();
  for (const auto& e : events) {
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
  for (auto& d : deliveries) {
    d["what"] = "terminal state delivered";
    timeline.push_back(std::move(d));
  }
  json body = job.ToApi();
  if (celery) body["celery"] = jobs::CeleryBridge::TraceDetails(job);  // with its traceback
  body["timeline"] = std::move(timeline);
  ReplyJson(*ex, 200, body, corr);
}

void JobsApi::CancelJob(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  Job job;
  if (options_.celery) {
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
    bool handled = false;
    Outcome out = options_.celery->Revoke(req.params[0], terminate, &job, &handled);
    if (handled) {
      if (!out.ok()) return ReplyOutcome(*ex, out, corr);
      Log(spdlog::level::info, "job cancel requested",
          {{"job_id", std::string(job.id)},
           {"correlation_id", std::string(job.correlation_id)},
           {"celery_revoke", terminate ? "terminate" : "revoke"},
           {"peer", std::string(req.peer)}});
      return ReplyJson(*ex, jobs::IsTerminal(job.state) ? 200 : 202, job.ToApi(), corr);
    }
  }
  Outcome out = jobs_->Cancel(req.params[0], &job);
  if (!out.ok()) return ReplyOutcome(*ex, out, corr);
  Log(spdlog::level::info, "job cancel requested",
      {{"job_id", std::string(job.id)},
       {"correlation_id", std::string(job.correlation_id)},
       {"peer", std::string(req.peer)}});
  ReplyJson(*ex, 200, job.ToApi(), corr);
}

void JobsApi::RetryJob(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  Job job;
  Outcome out = jobs_->Retry(req.params[0], &job);
  if (!out.ok()) return ReplyOutcome(*ex, out, corr);
  Log(spdlog::level::info, "job retry requested",
      {{"job_id", std::string(job.id)},
       {"correlation_id", std::string(job.correlation_id)},
       {"attempt", std::to_string(job.attempt)},
       {"peer", std::string(req.peer)}});
  ReplyJson(*ex, 200, job.ToApi(), corr);
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
    if (!ok || limit < 1 || limit > kMaxListLimit) {
      return ReplyError(*ex, 400, "bad_request",
                        "limit must be 1.." + std::to_string(kMaxListLimit), corr);
    }
    r.limit = limit;
  }
  if (auto c = req.Query("cursor")) {
    if (c->size() > 128 || !PrintableAscii(*c)) {
      return ReplyError(*ex, 400, "bad_request", "cursor must be a job id", corr);
    }
    r.cursor = std::string(*c);
  }
  jobs::JobService::ListPage page;
  Outcome out = jobs_->List(r, &page);
  if (!out.ok()) return ReplyOutcome(*ex, out, corr);
  json list = json::array();
  for (const auto& job : page.jobs) {
    // Only the jobs the caller may read (a producer's own, a reader's queues).
    if (auth::DecideJob(*req.principal, auth::Permission::kRead, {job.id, job.queue, job.owner}) ==
        auth::Decision::kAllowed) {
      list.push_back(job.ToApi());
    }
  }
  ReplyJson(*ex, 200,
            {{"jobs", std::move(list)},
             {"next_cursor", page.next_cursor.empty() ? json(nullptr) : json(page.next_cursor)}},
            corr);
}

void JobsApi::Lease(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  const std::string queue = req.params[0];
  if (Outcome q = jobs_->CheckQueue(queue); !q.ok()) return ReplyOutcome(*ex, q, corr);
  double wait_s = 0;
  if (auto w = req.Query("wait")) {
    auto parsed = ParseSeconds(*w, 0, 60);
    if (!parsed) return ReplyError(*ex, 400, "bad_request", "wait must be 0..60 seconds", corr);
    wait_s = *parsed;
  }
  auto body = BodyJson(req, *ex, corr, json::object());
  if (!body) return;
  std::string worker;
  if (body->is_object() && body->contains("worker") && (*body)["worker"].is_string()) {
    worker = (*body)["worker"].get<std::string>();
  } else if (auto h = req.Header("x-worker-id")) {
    worker = std::string(*h);
  }
  if (worker.empty() || worker.size() > 128 || !PrintableAscii(worker)) worker = "http:" + req.peer;

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
    loop->Post([this, wait, ex, corr, loop, out = std::move(out), id = std::move(id),
                lease_timeout_ms, jobs, worker] {
      if (wait->timer) loop->CancelTimer(wait->timer);
      if (uint64_t hook = wait->drain_hook.exchange(0)) RemoveDrainHook(hook);
      if (!out.ok()) return ReplyOutcome(*ex, out, corr);
      std::optional<Job> job = jobs->LeasedJob(id, worker);
      if (!job) return ReplyJson(*ex, 204, nullptr, corr);
      ReplyJson(*ex, 200, LeasedJob(*job, lease_timeout_ms), corr);
    });
  };
  uint64_t handle = jobs_->LeaseAsync(queue, worker, finish);
  wait->handle = handle;
  if (wait->finished.load() || handle == 0) return;  // served at once
  auto withdraw = [this, wait, finish] {
    // Only a wait still parked may answer "nothing"; one being served answers with it.
    if (jobs_->CancelLease(wait->handle.load())) finish(Outcome::Ok(), "");
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
  auto body = BodyJson(req, *ex, corr, json::object());
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
    data = (*body)["data"];
  } else if (body->is_object()) {
    data = *body;
    data.erase("event");
  } else {
    data = *body;
  }
  int64_t event_id = 0;
  bool canceled = false;
  Outcome out =
      jobs_->AppendEvent(req.params[0], LeaseToken(req), type, data, &event_id, &canceled);
  if (!out.ok()) return ReplyOutcome(*ex, out, corr);
  ReplyJson(*ex, 200,
            {{"event_id", canceled ? json(nullptr) : json(event_id)}, {"canceled", canceled}},
            corr);
}

void JobsApi::WorkerHeartbeat(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  Job job;
  bool canceled = false;
  Outcome out = jobs_->Heartbeat(req.params[0], LeaseToken(req), &job, &canceled);
  if (!out.ok()) return ReplyOutcome(*ex, out, corr);
  json lease = canceled ? json(nullptr)
                        : json{{"holder", job.lease_holder}, {"expires_at", job.lease_expires_at}};
  ReplyJson(*ex, 200, {{"canceled", canceled}, {"lease", lease}}, corr);
}

void JobsApi::WorkerComplete(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  auto body = BodyJson(req, *ex, corr, json::object());
  if (!body) return;
  json result = body->is_object() && body->contains("result") ? (*body)["result"] : json();
  Job job;
  Outcome out = jobs_->Complete(req.params[0], LeaseToken(req), result, &job);
  if (!out.ok()) return ReplyOutcome(*ex, out, corr);
  ReplyJson(*ex, 200, job.ToApi(), corr);
}

void JobsApi::WorkerFail(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  auto body = BodyJson(req, *ex, corr, json::object());
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
  Job job;
  Outcome out = jobs_->Fail(req.params[0], LeaseToken(req), error, retry, &job);
  if (!out.ok()) return ReplyOutcome(*ex, out, corr);
  ReplyJson(*ex, 200, job.ToApi(), corr);
}

void JobsApi::ListQueues(Request& req, std::shared_ptr<Exchange> ex) {
  json queues = json::array();
  for (const auto& q : jobs_->Queues()) {
    if (!auth::SeesQueue(*req.principal, q.queue)) continue;
    json entry = {{"queue", q.queue},
                  {"depth", q.depth},
                  {"running", q.running},
                  {"oldest_age_ms", q.oldest_age_ms}};
    if (q.extra.is_object()) entry.update(q.extra);
    queues.push_back(std::move(entry));
  }
  ReplyJson(*ex, 200, {{"queues", queues}}, CorrelationOf(req));
}

void JobsApi::ChatResponse(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  Job job;
  Outcome out = jobs_->Get(req.params[0], &job);
  if (!out.ok()) return ReplyOutcome(*ex, out, corr);
  json body = {{"correlation_id", job.id}, {"state", jobs::StateName(job.state)}};
  if (job.state == jobs::JobState::kCompleted) body["response"] = job.result;
  if (job.state == jobs::JobState::kFailed || job.state == jobs::JobState::kCanceled) {
    body["error"] = job.error;
  }
  ReplyJson(*ex, jobs::IsTerminal(job.state) ? 200 : 202, body, corr);
}

bool JobsApi::AcquireStreamSlot() {
  if (open_streams_.fetch_add(1) < options_.sse_max_streams) return true;
  open_streams_.fetch_sub(1);
  return false;
}

uint64_t JobsApi::AddDrainHook(std::function<void()> hook) {
  std::lock_guard lock(drain_mu_);
  uint64_t id = next_drain_hook_++;
  drain_hooks_.emplace(id, std::move(hook));
  return id;
}

void JobsApi::RemoveDrainHook(uint64_t id) {
  std::lock_guard lock(drain_mu_);
  drain_hooks_.erase(id);
  if (drain_hooks_.empty()) drained_cv_.notify_all();
}

bool JobsApi::Drain(std::chrono::milliseconds timeout) {
  stopping_ = true;
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(drain_mu_);
    for (auto& [id, hook] : drain_hooks_) hooks.push_back(hook);
  }
  Log(spdlog::level::info, "draining", {{"parked_requests", std::to_string(hooks.size())}});
  for (auto& hook : hooks) hook();
  std::unique_lock lock(drain_mu_);
  return drained_cv_.wait_for(lock, timeout, [this] { return drain_hooks_.empty(); });
}

void JobsApi::Ready(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  if (stopping_) {
    return ReplyJson(*ex, 503, {{"ready", false}, {"reason", "shutting down"}}, corr);
  }
  if (!store_->Writable()) {
    return ReplyJson(*ex, 503, {{"ready", false}, {"reason", "the store cannot write"}}, corr,
                     {{"Retry-After", "5"}});
  }
  ReplyJson(*ex, 200, {{"ready", true}}, corr);
}

}  // namespace redge::http
