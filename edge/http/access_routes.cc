// The access guard of the HTTP API: every route is added through JobsApi::Route with a
// RoutePolicy, and Admit() runs before its handler. One place decides, so no route can
// forget a check: authentication (AccessControl), then auth::DecideGlobal / DecideQueue /
// DecideJob for the route's permission.
//
//   no credential, or an invalid or expired one    401 unauthorized (WWW-Authenticate)
//   a valid credential without the permission       403 forbidden_<permission>
//   a job the credential may not see at all         404 not_found, as for an unknown id
//
// Failed credentials go through the AuthThrottle (a guess is held back per address and
// logged without the credential); an expired but genuine one is logged, never held.
#include <chrono>

#include "edge/http/http_parser.h"
#include "edge/http/jobs_api.h"
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
                 if (Admit(policy, req, ex)) handler(req, std::move(ex));
               });
}

bool JobsApi::Admit(const RoutePolicy& policy, Request& req,
                    const std::shared_ptr<Exchange>& exchange) {
  Exchange& ex = *exchange;
  using Scope = RoutePolicy::Scope;
  if (policy.scope == Scope::kPublic) return true;
  const std::string corr = CorrelationOf(req);
  auth::AccessControl* access = options_.access;
  std::shared_ptr<const Principal> who;
  if (access == nullptr || !access->enabled()) {
    who = AnonymousAdmin();
  } else {
    auth::AccessControl::Outcome out = access->Authenticate(BearerCredential(req), WallClockMs());
    using Kind = auth::AccessControl::Outcome::Kind;
    if (out.kind != Kind::kOk) {
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
      return false;
    }
    who = std::move(out.principal);
  }
  const Principal& p = *who;
  const Permission perm = policy.permission;
  Decision d = Decision::kForbidden;
  std::string what;
  switch (policy.scope) {
    case Scope::kPublic:
      break;
    case Scope::kGlobal:
      d = auth::DecideGlobal(p, perm);
      what = "this credential may not " + std::string(auth::PermissionName(perm));
      break;
    case Scope::kQueue: {
      const std::string& queue = policy.queue.empty() ? req.params[0] : policy.queue;
      d = auth::DecideQueue(p, perm, queue);
      what = "this credential may not " + std::string(auth::PermissionName(perm)) + " on queue '" +
             queue + "'";
      break;
    }
    case Scope::kJob: {
      jobs::Job job;
      jobs::Outcome found = jobs_->Get(req.params[0], &job);
      if (!found.ok()) {
        ReplyOutcome(ex, found, corr);  // unknown or expired: the same 404 as below
        return false;
      }
      d = auth::DecideJob(p, perm, {job.id, job.queue, job.owner});
      if (d == Decision::kAllowed && p.kind == Principal::Kind::kStreamToken &&
          !policy.stream_token) {
        d = Decision::kForbidden;  // a stream token reads; it never mints or acts
      }
      if (d == Decision::kInvisible) {
        // Exactly what an unknown id gets (JobService::Read's message), so the answer
        // says nothing about whether the job exists.
        ReplyOutcome(ex,
                     jobs::Outcome::Error(jobs::Outcome::Code::kNotFound,
                                          "no job " + req.params[0] + " (unknown or expired)"),
                     corr);
        return false;
      }
      what =
          "this credential may not " + std::string(auth::PermissionName(perm)) + " job " + job.id;
      break;
    }
  }
  if (d != Decision::kAllowed) {
    ReplyForbidden(ex, perm, what + " (it needs " + Needs(perm) + ")", corr);
    return false;
  }
  req.principal = std::move(who);
  return true;
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
