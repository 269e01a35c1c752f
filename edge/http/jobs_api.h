// JobsApi: the HTTP routes of docs/http-api.md over a JobService: producers, browsers
// (SSE and long-poll), HTTP workers, operators and the seed chat compatibility routes.
//
// Every handler answers on its connection's event loop and never blocks it: long-polls,
// SSE streams and lease waits are parked on JobService watchers or store waiters and
// resumed by the commit that makes them ready.
//
// Thread-safety: Register() once before the server starts; SetStopping() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "edge/http/http_server.h"
#include "edge/jobs/job_service.h"

namespace redge::http {

struct JobsApiOptions {
  std::string token;  // --http-token; empty = no auth
  int64_t sse_heartbeat_ms = 15'000;
  int64_t sse_max_streams = 10'000;
  int64_t sse_retry_ms = 3'000;  // the `retry:` hint sent to EventSource clients
};

class JobsApi {
 public:
  JobsApi(jobs::JobService* jobs, store::Store* store, JobsApiOptions options);
  void Register(HttpServer& server);
  // /readyz answers 503 from now on (graceful shutdown).
  void SetStopping() { stopping_ = true; }
  int64_t open_streams() const { return open_streams_.load(); }

  // Used by the route handlers (jobs_api.cc, sse_routes.cc).
  struct Ctx;

 private:
  void Enqueue(Request& req, std::shared_ptr<Exchange> ex, const std::string& queue, bool chat);
  void GetJob(Request& req, std::shared_ptr<Exchange> ex);
  void Events(Request& req, std::shared_ptr<Exchange> ex, const std::string& id);
  void CancelJob(Request& req, std::shared_ptr<Exchange> ex);
  void Lease(Request& req, std::shared_ptr<Exchange> ex);
  void WorkerEvent(Request& req, std::shared_ptr<Exchange> ex);
  void WorkerHeartbeat(Request& req, std::shared_ptr<Exchange> ex);
  void WorkerComplete(Request& req, std::shared_ptr<Exchange> ex);
  void WorkerFail(Request& req, std::shared_ptr<Exchange> ex);
  void ListQueues(Request& req, std::shared_ptr<Exchange> ex);
  void ChatResponse(Request& req, std::shared_ptr<Exchange> ex);
  void Ready(Request& req, std::shared_ptr<Exchange> ex);

  jobs::JobService* jobs_;
  store::Store* store_;
  JobsApiOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> open_streams_{0};
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
