#include "edge/auth/principal.h"

#include "store/glob.h"

namespace redge::auth {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kProducer:
      return "producer";
    case Role::kWorker:
      return "worker";
    case Role::kReader:
      return "reader";
    case Role::kMetrics:
      return "metrics";
  }
  return "?";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kAdmin, Role::kProducer, Role::kWorker, Role::kReader, Role::kMetrics}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

bool ValidQueueGlob(std::string_view glob) {
  if (glob.empty() || glob.size() > 256) return false;
  for (char c : glob) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

std::optional<Grant> ParseGrant(std::string_view text) {
  const size_t colon = text.find(':');
  std::optional<Role> role = ParseRole(text.substr(0, colon));
  if (!role) return std::nullopt;
  Grant g;
  g.role = *role;
  if (colon != std::string_view::npos) {
    std::string_view glob = text.substr(colon + 1);
    if (!ValidQueueGlob(glob)) return std::nullopt;
    g.queue_glob = std::string(glob);
  }
  return g;
}

std::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kEnqueue:
      return "enqueue";
    case Permission::kRead:
      return "read";
    case Permission::kCancel:
      return "cancel";
    case Permission::kRetry:
      return "retry";
    case Permission::kList:
      return "list";
    case Permission::kTrace:
      return "trace";
    case Permission::kLease:
      return "lease";
    case Permission::kWork:
      return "work";
    case Permission::kQueues:
      return "queues";
    case Permission::kMetrics:
      return "metrics";
    case Permission::kSubscribe:
      return "subscribe";
  }
  return "?";
}

bool Principal::Has(Role role) const {
  for (const Grant& g : grants) {
    if (g.role == role) return true;
  }
  return false;
}

bool Principal::HasOnQueue(Role role, std::string_view queue) const {
  for (const Grant& g : grants) {
    if (g.role == role && store::GlobMatch(g.queue_glob, queue)) return true;
  }
  return false;
}

namespace {

// A producer's own job: it has the producer role on the job's queue and the job records
// it as the owner. Jobs without an owner (enqueued over RESP, or before owners existed)
// belong to no producer.
bool OwnsJob(const Principal& p, const JobFacts& job) {
  return !p.owner.empty() && job.owner == p.owner && p.HasOnQueue(Role::kProducer, job.queue);
}

bool IsStreamTokenFor(const Principal& p, const JobFacts& job) {
  return p.kind == Principal::Kind::kStreamToken && !p.stream_job.empty() && p.stream_job == job.id;
}

}  // namespace

Decision DecideQueue(const Principal& p, Permission perm, std::string_view queue) {
  if (p.Has(Role::kAdmin)) return Decision::kAllowed;
  switch (perm) {
    case Permission::kEnqueue:
      return p.HasOnQueue(Role::kProducer, queue) ? Decision::kAllowed : Decision::kForbidden;
    case Permission::kLease:
      return p.HasOnQueue(Role::kWorker, queue) ? Decision::kAllowed : Decision::kForbidden;
    case Permission::kSubscribe:
      return p.HasOnQueue(Role::kReader, queue) || p.HasOnQueue(Role::kProducer, queue)
                 ? Decision::kAllowed
                 : Decision::kForbidden;
    default:
      return Decision::kForbidden;
  }
}

Decision DecideJob(const Principal& p, Permission perm, const JobFacts& job) {
  if (p.Has(Role::kAdmin)) return Decision::kAllowed;
  const bool reader = p.HasOnQueue(Role::kReader, job.queue);
  const bool worker = p.HasOnQueue(Role::kWorker, job.queue);
  const bool owner = OwnsJob(p, job);
  const bool stream = IsStreamTokenFor(p, job);
  if (!reader && !worker && !owner && !stream) return Decision::kInvisible;
  bool allowed = false;
  switch (perm) {
    case Permission::kRead:
      allowed = reader || owner || stream;
      break;
    case Permission::kCancel:
      allowed = owner;
      break;
    case Permission::kTrace:
      allowed = reader;
      break;
    case Permission::kWork:
      allowed = worker;
      break;
    default:  // kRetry is the admin's; the others are not about one job
      allowed = false;
  }
  return allowed ? Decision::kAllowed : Decision::kForbidden;
}

Decision DecideGlobal(const Principal& p, Permission perm) {
  if (p.Has(Role::kAdmin)) return Decision::kAllowed;
  bool allowed = false;
  switch (perm) {
    case Permission::kList:
      allowed = p.Has(Role::kReader) || p.Has(Role::kProducer);
      break;
    case Permission::kQueues:
      allowed = p.Has(Role::kReader) || p.Has(Role::kWorker);
      break;
    case Permission::kMetrics:
      allowed = p.Has(Role::kMetrics);
      break;
    default:
      allowed = false;
  }
  return allowed ? Decision::kAllowed : Decision::kForbidden;
}

bool SeesQueue(const Principal& p, std::string_view queue) {
  return p.Has(Role::kAdmin) || p.HasOnQueue(Role::kReader, queue) ||
         p.HasOnQueue(Role::kWorker, queue);
}

}  // namespace redge::auth
