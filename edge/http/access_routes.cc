// The access guard of the HTTP API: every route is added through JobsApi::Route with a
// RoutePolicy, and Admit() runs before its handler. One place decides, so no route can
// forget a check: authentication (AccessControl), then auth::DecideGlobal / DecideQueue /
// DecideJob for the route's permission.
//
//   no credential, or an invalid or expired one    401 unauthorized (WWW-Authenticate)
//   a valid credential without the permission       403 forbidden_<permission>
//   a job the credential may not see at all         404 not_found, as for an unknown id
//
// A job route's decision needs the job (its queue and owner): that read is asynchronous
// (nothing on a loop waits for the store), and the handler runs from its completion.
//
// Failed credentials go through the AuthThrottle (a guess is held back per address and
// logged without the credential); an expired but genuine one is logged, never held.
#include <chrono>

#include "edge/http/http_parser.h"
#include "edge/http/jobs_api.h"
#include "edge/http/route_support.h"
#include "edge/json_input.h"
#include "edge/log.h"
#include "edge/net/event_loop.h"

namespace redge::http {

using auth::Decision;
using auth::Permission;
using auth::Principal;
using nlohmann::json;

namespace {

// The credential a request carries: the token of `Authorization: Bearer T`, else the
// `access_token` query parameter (EventSource cannot set headers); nullopt when none.
std::optional<std::string> BearerCredential(const Request& req) {
  if (auto auth = req.Header("authorization")) {
    // RFC 9110 11.1: the scheme is case-insensitive, then one or more spaces.
    std::string_view value = *auth;
    size_t space = value.find(' ');
    std::string_view scheme = value.substr(0, space);
    if (space == std::string_view::npos || !internal::EqualsIgnoreCase(scheme, "bearer")) {
      return std::string();  // another scheme: a credential, and a wrong one
    }
    value.remove_prefix(space);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    return std::string(value);
  }
  return req.Query("access_token");
}

std::shared_ptr<const Principal> AnonymousAdmin() {
  static const auto anonymous = [] {
    auto p = std::make_shared<Principal>();
    p->kind = Principal::Kind::kAnonymous;
    p->name = "anonymous";
    p->grants = {auth::Grant{auth::Role::kAdmin, "*"}};
    return std::shared_ptr<const Principal>(std::move(p));
  }();
  return anonymous;
}

std::string Needs(Permission p) {
  switch (p) {
    case Permission::kEnqueue:
      return "the producer role on a glob matching the queue";
    case Permission::kLease:
    case Permission::kWork:
      return "the worker role on a glob matching the queue";
    case Permission::kRead:
      return "the reader role on the job's queue, or to be the producer that created it";
    case Permission::kCancel:
      return "to be the producer that created the job";
    case Permission::kTrace:
      return "the reader role on the job's queue";
    case Permission::kList:
      return "the reader or producer role";
    case Permission::kQueues:
      return "the reader or worker role";
    case Permission::kMetrics:
      return "the metrics role";
    case Permission::kSubscribe:
      return "the reader or producer role on a glob matching the channel";
    case Permission::kRetry:
      break;
  }
  return "the admin role";
}

}  // namespace

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void ReplyForbidden(Exchange& ex, Permission permission, std::string_view message,
                    const std::string& correlation) {
  const std::string name(auth::PermissionName(permission));
  ReplyJson(
      ex, 403,
      {{"error", {{"code", "forbidden_" + name}, {"permission", name}, {"message", message}}}},
      correlation);
}

void JobsApi::Route(HttpServer& server, std::string method, std::string pattern, RoutePolicy policy,
                    Handler handler) {
  server.Route(std::move(method), std::move(pattern),
               [this, policy = std::move(policy), handler = std::move(handler)](
                   Request& req, std::shared_ptr<Exchange> ex) {
                 Admit(policy, req, std::move(ex), handler);
               });
}

std::shared_ptr<const Principal> JobsApi::Authenticate(Request& req,
                                                       const std::shared_ptr<Exchange>& exchange) {
  Exchange& ex = *exchange;
  auth::AccessControl* access = options_.access;
  if (access == nullptr || !access->enabled()) return AnonymousAdmin();
  auth::AccessControl::Outcome out = access->Authenticate(BearerCredential(req), WallClockMs());
  using Kind = auth::AccessControl::Outcome::Kind;
  if (out.kind == Kind::kOk) return std::move(out.principal);
  const std::string corr = CorrelationOf(req);
  Response r;
  r.status = 401;
  std::string message = "a valid bearer credential is required";
  std::string challenge = "Bearer";
  if (out.kind == Kind::kInvalid) {
    r.hold = auth_throttle_.Failed(req.peer, out.reason);
    challenge = "Bearer error=\"invalid_token\"";
  } else {
    auth_throttle_.Missing(req.peer, out.reason);
    if (out.kind == Kind::kStale) {
      message = "the bearer credential has expired (or is not valid yet, or not for here)";
      challenge = "Bearer error=\"invalid_token\"";
    }
  }
  r.headers = {{"Content-Type", "application/json"}, {"WWW-Authenticate", challenge}};
  if (!corr.empty()) r.headers.emplace_back("X-Correlation-ID", corr);
  r.body = DumpJson({{"error", {{"code", "unauthorized"}, {"message", message}}}}) + "\n";
  if (r.hold.count() > 0) {
    // Held like the server's own filter responses: nothing else on this connection
    // runs meanwhile (the exchange is not answered until then).
    auto held = std::make_shared<Response>(std::move(r));
    ex.loop().RunAfter(held->hold, [exchange, held] { exchange->Reply(std::move(*held)); });
  } else {
    ex.Reply(std::move(r));
  }
  return nullptr;
}

void JobsApi::Admit(const RoutePolicy& policy, Request& req, std::shared_ptr<Exchange> exchange,
                    const Handler& handler) {
  using Scope = RoutePolicy::Scope;
  if (policy.scope == Scope::kPublic) return handler(req, std::move(exchange));
  std::shared_ptr<const Principal> who = Authenticate(req, exchange);
  if (!who) return;  // answered 401
  const std::string corr = CorrelationOf(req);
  const Permission perm = policy.permission;
  Decision d = Decision::kForbidden;
  std::string what;
  switch (policy.scope) {
    case Scope::kPublic:
      break;
    case Scope::kGlobal:
      d = auth::DecideGlobal(*who, perm);
      what = "this credential may not " + std::string(auth::PermissionName(perm));
      break;
    case Scope::kQueue: {
      const std::string& queue = policy.queue.empty() ? req.params[0] : policy.queue;
      d = auth::DecideQueue(*who, perm, queue);
      what = "this credential may not " + std::string(auth::PermissionName(perm)) + " on queue '" +
             queue + "'";
      break;
    }
    case Scope::kJob: {
      // The decision needs the job's queue and owner: read it without waiting, and decide
      // (and run the handler) in the completion, on this loop. The request is kept until
      // then (the server's copy ends with this call).
      auto held = std::make_shared<Request>(req);
      jobs_->GetAsync(req.params[0],
                      routes::OnLoop<jobs::Job>(exchange, [held, exchange, who, corr, perm, handler,
                                                           stream_token = policy.stream_token](
                                                              jobs::Outcome found, jobs::Job job) {
                        if (!found.ok()) {
                          return ReplyOutcome(*exchange, found, corr);  // unknown or expired: a 404
                        }
                        Decision d = auth::DecideJob(*who, perm, {job.id, job.queue, job.owner});
                        if (d == Decision::kAllowed && who->kind == Principal::Kind::kStreamToken &&
                            !stream_token) {
                          d = Decision::kForbidden;  // a stream token reads; it never mints or acts
                        }
                        if (d == Decision::kInvisible) {
                          // Exactly what an unknown id gets (JobService::Read's message), so the
                          // answer says nothing about whether the job exists.
                          return ReplyOutcome(*exchange,
                                              jobs::Outcome::Error(jobs::Outcome::Code::kNotFound,
                                                                   "no job " + held->params[0] +
                                                                       " (unknown or expired)"),
                                              corr);
                        }
                        if (d != Decision::kAllowed) {
                          return ReplyForbidden(
                              *exchange, perm,
                              "this credential may not " + std::string(auth::PermissionName(perm)) +
                                  " job " + job.id + " (it needs " + Needs(perm) + ")",
                              corr);
                        }
                        held->principal = std::move(who);
                        handler(*held, exchange);
                      }));
      return;
    }
  }
  if (d != Decision::kAllowed)
    return ReplyForbidden(*exchange, perm, what + " (it needs " + Needs(perm) + ")", corr);
  req.principal = std::move(who);
  handler(req, std::move(exchange));
}

void JobsApi::AddStreamToken(json* body, const std::string& job_id) const {
  if (options_.access == nullptr) return;
  int64_t expires = 0;
  std::string token = options_.access->MintStreamToken(job_id, WallClockMs(), &expires);
  if (token.empty()) return;
  (*body)["stream_token"] = std::move(token);
  (*body)["stream_token_expires_at"] = expires;
}

void JobsApi::NewStreamToken(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  json body = json::object();
  AddStreamToken(&body, req.params[0]);
  if (body.empty()) {
    return ReplyError(*ex, 404, "not_found", "stream tokens are not enabled", corr);
  }
  ReplyJson(*ex, 200, body, corr);
}

uint64_t JobsApi::AddAuthHook(std::function<void()> hook) {
  std::lock_guard lock(auth_hooks_mu_);
  uint64_t id = next_auth_hook_++;
  auth_hooks_.emplace(id, std::move(hook));
  return id;
}

void JobsApi::RemoveAuthHook(uint64_t id) {
  std::lock_guard lock(auth_hooks_mu_);
  auth_hooks_.erase(id);
}

void JobsApi::RecheckCredentials() {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(auth_hooks_mu_);
    for (auto& [id, hook] : auth_hooks_) hooks.push_back(hook);
  }
  for (auto& hook : hooks) hook();
}

}  // namespace redge::http
