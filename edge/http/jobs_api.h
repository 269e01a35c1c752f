// JobsApi: the HTTP routes of docs/http-api.md over a JobService: producers, browsers
// (SSE and long-poll), HTTP workers, operators and the /chat routes of the chat API that
// existing deployments (the API + Redis stack redge replaces) expose to their browsers.
//
// Every handler answers on its connection's event loop and never blocks it: long-polls,
// SSE streams and lease waits are parked on JobService watchers or store waiters and
// resumed by the commit that makes them ready.
//
// Thread-safety: Register() once before the server starts; SetStopping() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "edge/auth_guard.h"
#include "edge/http/http_server.h"
#include "edge/jobs/job_service.h"
#include "edge/metrics.h"

namespace redge::http {

struct JobsApiOptions {
  std::string token;  // --http-token; empty = no auth
  int64_t sse_heartbeat_ms = 15'000;
  int64_t sse_max_streams = 10'000;
  int64_t sse_retry_ms = 3'000;           // the `retry:` hint sent to EventSource clients
  std::vector<std::string> cors_origins;  // --cors-origins; empty = no CORS
};

class JobsApi {
 public:
  // With `metrics` (may be null; must outlive the HTTP server), Register() also adds
  // GET /metrics and exports the API's, the jobs layer's and the store's gauges into it.
  JobsApi(jobs::JobService* jobs, store::Store* store, JobsApiOptions options,
          Metrics* metrics = nullptr);
  void Register(HttpServer& server);
  // /readyz answers 503 from now on (graceful shutdown), and so do new streams,
  // long-polls and lease waits.
  void SetStopping() { stopping_ = true; }
  // Graceful shutdown: every open SSE stream gets a `retry:` hint and ends (EventSource
  // reconnects, to another instance if there is one), parked long-polls answer with the
  // job as it is, parked lease waits answer 204. Then waits up to `timeout` for them all
  // to finish; returns whether they did.
  bool Drain(std::chrono::milliseconds timeout);

  // The parked exchanges Drain() ends: each registers a hook that must post to its loop.
  uint64_t AddDrainHook(std::function<void()> hook);
  void RemoveDrainHook(uint64_t id);
  bool stopping() const { return stopping_.load(); }
  int64_t open_streams() const { return open_streams_.load(); }
  // Long-polls parked waiting for an event.
  int64_t waiting_polls() const { return waiting_polls_.load(); }

  // Used by the route handlers (jobs_api.cc, sse_routes.cc).
  struct Ctx;

 private:
  void Enqueue(Request& req, std::shared_ptr<Exchange> ex, const std::string& queue, bool chat);
  void GetJob(Request& req, std::shared_ptr<Exchange> ex);
  void Events(Request& req, std::shared_ptr<Exchange> ex, const std::string& id);
  void CancelJob(Request& req, std::shared_ptr<Exchange> ex);
  void RetryJob(Request& req, std::shared_ptr<Exchange> ex);
  void ListJobs(Request& req, std::shared_ptr<Exchange> ex);
  void TraceJob(Request& req, std::shared_ptr<Exchange> ex);
  void Lease(Request& req, std::shared_ptr<Exchange> ex);
  void WorkerEvent(Request& req, std::shared_ptr<Exchange> ex);
  void WorkerHeartbeat(Request& req, std::shared_ptr<Exchange> ex);
  void WorkerComplete(Request& req, std::shared_ptr<Exchange> ex);
  void WorkerFail(Request& req, std::shared_ptr<Exchange> ex);
  void ListQueues(Request& req, std::shared_ptr<Exchange> ex);
  void ChatResponse(Request& req, std::shared_ptr<Exchange> ex);
  void Ready(Request& req, std::shared_ptr<Exchange> ex);
  // GET /metrics and the scrape-time collector (ops_routes.cc).
  void RegisterMetrics(HttpServer& server);
  void CollectMetrics(MetricWriter& w);
  void MetricsPage(Request& req, std::shared_ptr<Exchange> ex);

  jobs::JobService* jobs_;
  store::Store* store_;
  JobsApiOptions options_;
  Metrics* metrics_;
  AuthThrottle auth_throttle_{"http"};  // 401s with a wrong token: backoff, logs
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> open_streams_{0};
  std::atomic<int64_t> waiting_polls_{0};
  std::mutex drain_mu_;
  std::condition_variable drained_cv_;
  std::map<uint64_t, std::function<void()>> drain_hooks_;
  uint64_t next_drain_hook_ = 1;
};

// Shared by the handlers: JSON replies that echo the request's X-Correlation-ID
// (`correlation`, empty for none), and error bodies {"error": {"code", "message"}}.
std::string CorrelationOf(const Request& req);
void ReplyJson(Exchange& ex, int status, const nlohmann::json& body, const std::string& correlation,
               Headers extra = {});
void ReplyError(Exchange& ex, int status, std::string_view code, std::string_view message,
                const std::string& correlation, Headers extra = {});
void ReplyOutcome(Exchange& ex, const jobs::Outcome& outcome, const std::string& correlation);

}  // namespace redge::http
