#include "edge/http/jobs_api.h"

#include <cassert>
#include <chrono>
#include <cstdlib>

#include "edge/auth_guard.h"
#include "edge/decimal.h"
#include "edge/http/http_parser.h"
#include "edge/http/http_response.h"
#include "edge/http/route_support.h"
#include "edge/http/sse.h"
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

}  // namespace

namespace routes {

void CompletionFailed(Exchange& ex, const char* what) {
  Log(spdlog::level::err, "http handler threw", {{"peer", ex.peer()}, {"error", what}});
  ex.Reply(internal::ErrorResponse(500, "internal_server_error", "internal server error"));
}

}  // namespace routes

std::string CorrelationOf(const Request& req) {
  auto h = req.Header("x-correlation-id");
  if (!h || h->empty() || h->size() > kMaxCorrelationId || !routes::PrintableAscii(*h)) return "";
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

bool JobsApi::AcquireStreamSlot() {
  if (open_streams_.fetch_add(1) < options_.sse_max_streams) return true;
  open_streams_.fetch_sub(1);
  return false;
}

bool JobsApi::StartEventStream(Exchange& ex, const std::string& correlation_id) {
  assert(ex.loop().InLoopThread());
  if (!AcquireStreamSlot()) {
    ReplyError(ex, 503, "too_many_streams",
               "the server holds its maximum of open event streams; retry shortly", correlation_id,
               {{"Retry-After", "2"}});
    return false;
  }
  Headers headers = {{"Content-Type", "text/event-stream; charset=utf-8"},
                     {"Cache-Control", "no-cache"},
                     {"X-Accel-Buffering", "no"}};
  if (!correlation_id.empty()) headers.emplace_back("X-Correlation-ID", correlation_id);
  ex.StartStream(200, std::move(headers));
  std::string retry;
  AppendSseRetry(&retry, options_.sse_retry_ms);
  ex.Write(retry);
  return true;
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
