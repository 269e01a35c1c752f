// JobsApi: the HTTP routes of docs/http-api.md over a JobService: producers, browsers
// (SSE and long-poll), HTTP workers, operators and the /chat routes of the chat API that
// existing deployments (the API + Redis stack redge replaces) expose to their browsers.
// One file per audience: producer_routes.cc, sse_routes.cc (readers), worker_routes.cc,
// operator_routes.cc, ops_routes.cc (/metrics), access_routes.cc (the guard).
//
// Every handler answers on its connection's event loop and never blocks it: nothing here
// waits for the store (the jobs layer's ...Async operations; completions are posted back to
// the exchange's loop, route_support.h), and long-polls, SSE streams and lease waits are
// parked on JobService watchers or store waiters and resumed by the commit that makes them
// ready.
//
// Access control: every route is registered with a RoutePolicy (Route() below is the only
// way routes are added), and one guard (access_routes.cc) authenticates the request and
// decides with auth::Decide* before any handler runs: 401 for a missing or invalid
// credential, 403 `forbidden_<permission>` when the caller lacks the permission, 404 for a
// job the caller may not see at all. Handlers find the caller in Request::principal.
//
// Thread-safety: Register() once before the server starts; SetStopping() and
// RecheckCredentials() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "edge/auth/access_control.h"
#include "edge/auth/principal.h"
#include "edge/auth_guard.h"
#include "edge/http/http_server.h"
#include "edge/jobs/celery_bridge.h"
#include "edge/jobs/job_service.h"
#include "edge/metrics.h"

namespace redge::http {

struct JobsApiOptions {
  // Credentials and stream tokens (must outlive the API); null = no access control: every
  // request is the anonymous admin and no stream tokens are minted.
  auth::AccessControl* access = nullptr;
  int64_t sse_heartbeat_ms = 15'000;
  int64_t sse_max_streams = 10'000;
  int64_t sse_retry_ms = 3'000;           // the `retry:` hint sent to EventSource clients
  std::vector<std::string> cors_origins;  // --cors-origins; empty = no CORS
  // --celery-bridge on: Celery bodies on enqueue, revokes on DELETE (may be null).
  jobs::CeleryBridge* celery = nullptr;
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
  // For the SSE streams and long-polls of other routes (durable channels): a slot among
  // --sse-max-streams (false when all are taken; release each slot taken once), and the
  // parked long-poll count of the redge_longpoll_waiting gauge.
  bool AcquireStreamSlot();
  void ReleaseStreamSlot() { open_streams_.fetch_sub(1); }
  // Takes a stream slot and starts `ex` as an event stream (200, text/event-stream, no
  // caching or proxy buffering, the correlation id, then the `retry:` line). When every slot
  // is taken it answers 503 too_many_streams with Retry-After instead and returns false.
  // On true the caller owns the slot: ReleaseStreamSlot() once when the stream ends.
  // REQUIRES: on ex's loop, before anything was written to ex.
  bool StartEventStream(Exchange& ex, const std::string& correlation_id);
  void AddWaitingPolls(int64_t delta) { waiting_polls_.fetch_add(delta); }

  // After a reload of the credentials (SIGHUP): every open SSE stream whose credential is
  // no longer valid (an API key removed from the file or given other grants) gets
  // `auth_expired` and ends.
  void RecheckCredentials();
  // Open streams register a check for RecheckCredentials (posting to their loop).
  uint64_t AddAuthHook(std::function<void()> hook);
  void RemoveAuthHook(uint64_t id);
  auth::AccessControl* access() const { return options_.access; }

  // What a route needs from its caller (see the file comment).
  struct RoutePolicy {
    enum class Scope {
      kPublic,  // no credential (health, readiness, the browser files)
      kGlobal,  // DecideGlobal(permission)
      kQueue,   // DecideQueue(permission, the {queue} parameter or `queue`)
      kJob,     // DecideJob(permission, the job named by the {id} parameter)
    };
    Scope scope = Scope::kPublic;
    auth::Permission permission = auth::Permission::kRead;
    std::string queue;  // kQueue with a fixed queue (POST /chat)
    // Whether a per-job stream token may be used (the read routes of its job). Stream
    // tokens grant nothing else, so elsewhere they get 403 (or 404 for other jobs).
    bool stream_token = false;

    static RoutePolicy Public() { return {}; }
    static RoutePolicy Global(auth::Permission p) { return {Scope::kGlobal, p, "", false}; }
    static RoutePolicy Queue(auth::Permission p, std::string fixed = "") {
      return {Scope::kQueue, p, std::move(fixed), false};
    }
    static RoutePolicy Job(auth::Permission p, bool stream_token = false) {
      return {Scope::kJob, p, "", stream_token};
    }
  };

  // Used by the route handlers (jobs_api.cc, sse_routes.cc).
  struct Ctx;

  // Adds a route behind the access guard (access_routes.cc); other route sets
  // (channels_api.cc) use it too, so that every route has a policy.
  void Route(HttpServer& server, std::string method, std::string pattern, RoutePolicy policy,
             Handler handler);

 private:
  void Enqueue(Request& req, std::shared_ptr<Exchange> ex, const std::string& queue, bool chat);
  void GetJob(Request& req, std::shared_ptr<Exchange> ex);
  void Events(Request& req, std::shared_ptr<Exchange> ex, const std::string& id);
  // The parts of Events and GetJob that run once the job was read (sse_routes.cc).
  void OpenStream(const std::shared_ptr<Exchange>& ex, const std::string& id,
                  const std::string& corr, int64_t after, const std::string& peer,
                  const std::shared_ptr<const auth::Principal>& principal, const jobs::Job& job);
  void AnswerOrPark(const std::shared_ptr<Exchange>& ex, const std::string& id,
                    const std::string& corr, std::optional<int64_t> after, double wait_s,
                    const std::string& peer,
                    const std::shared_ptr<const auth::Principal>& principal, const jobs::Job& job,
                    const std::vector<jobs::Event>& events);
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
  void NewStreamToken(Request& req, std::shared_ptr<Exchange> ex);
  // The guard: authenticates and authorizes `req` for `policy`; on refusal replies, else
  // sets req.principal and runs `handler` (at once; for a job route from the completion of
  // the job's asynchronous read, on the exchange's loop, with a copy of the request).
  void Admit(const RoutePolicy& policy, Request& req, std::shared_ptr<Exchange> exchange,
             const Handler& handler);
  // The caller's principal (the anonymous admin without access control), or null once a
  // 401 has been sent (held by the AuthThrottle for a wrong credential).
  std::shared_ptr<const auth::Principal> Authenticate(Request& req,
                                                      const std::shared_ptr<Exchange>& exchange);
  // The caller's stream token for `job_id` ({"stream_token", "stream_token_expires_at"}),
  // or nothing when access control is off.
  void AddStreamToken(nlohmann::json* body, const std::string& job_id) const;
  // GET /metrics and the scrape-time collector (ops_routes.cc).
  void RegisterMetrics(HttpServer& server);
  void CollectMetrics(MetricWriter& w);
  void MetricsPage(Request& req, std::shared_ptr<Exchange> ex);

  jobs::JobService* jobs_;
  store::Store* store_;
  JobsApiOptions options_;
  Metrics* metrics_;
  AuthThrottle auth_throttle_{"http"};  // 401s with a wrong credential: backoff, logs
  std::mutex auth_hooks_mu_;
  std::map<uint64_t, std::function<void()>> auth_hooks_;
  uint64_t next_auth_hook_ = 1;
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
// 403 {"error": {"code": "forbidden_<permission>", "permission", "message"}}.
void ReplyForbidden(Exchange& ex, auth::Permission permission, std::string_view message,
                    const std::string& correlation);
// Milliseconds since the Unix epoch (credential expiries, stream tokens).
int64_t WallClockMs();
void ReplyOutcome(Exchange& ex, const jobs::Outcome& outcome, const std::string& correlation);

}  // namespace redge::http
