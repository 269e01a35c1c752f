// Who is calling the HTTP API and what they may do: roles with queue globs, the
// permissions routes need, and the one decision function every route goes through.
//
// Roles (docs/security.md):
//   admin     everything.
//   producer  enqueue on its queues; read and cancel the jobs it created (the job's owner
//             is the principal's owner).
//   worker    lease on its queues, then heartbeat, events, complete, fail.
//   reader    read jobs of its queues (records, events, SSE, long-poll, trace, lists).
//   metrics   GET /metrics.
// A grant is a role on a queue glob (Redis glob rules, store/glob.h); "*" is every queue.
// A per-job stream token is a principal with no grant that may read exactly one job.
//
// Thread-safety: values; the functions are pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redge::auth {

enum class Role { kAdmin, kProducer, kWorker, kReader, kMetrics };

std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

struct Grant {
  Role role = Role::kReader;
  std::string queue_glob = "*";

  bool operator==(const Grant&) const = default;
};

// Parses "ROLE" or "ROLE:QUEUE_GLOB" (the glob defaults to "*"); nullopt for an unknown
// role or a glob with spaces or control characters.
std::optional<Grant> ParseGrant(std::string_view text);
// Queue globs: 1-256 printable ASCII characters without spaces.
bool ValidQueueGlob(std::string_view glob);

// What a route needs. The names are the error codes' suffixes (403 forbidden_<name>).
enum class Permission {
  kEnqueue,  // POST /v1/queues/{q}/jobs, POST /chat
  kRead,     // GET /v1/jobs/{id} (long-poll too), its SSE, /chat/stream, /chat/response
  kCancel,   // DELETE /v1/jobs/{id}
  kRetry,    // POST /v1/jobs/{id}/retry
  kList,     // GET /v1/jobs (filtered to the jobs the caller may read)
  kTrace,    // GET /v1/jobs/{id}/trace
  kLease,    // POST /v1/queues/{q}/lease
  kWork,     // POST /v1/jobs/{id}/events|heartbeat|complete|fail
  kQueues,   // GET /v1/queues (filtered to the caller's queues)
  kMetrics,  // GET /metrics
  // GET /v1/channels/{channel}/events|messages: a reader or producer whose queue glob
  // matches the channel's name (durable channels have no queue; the glob names them).
  kSubscribe,
};

std::string_view PermissionName(Permission p);

struct Principal {
  enum class Kind { kAnonymous, kHttpToken, kApiKey, kJwt, kStreamToken };
  Kind kind = Kind::kAnonymous;
  // For logs and traces: "anonymous", "http-token", "key:<name>", "jwt:<sub>",
  // "stream-token". Never a secret.
  std::string name;
  // Recorded as the owner of the jobs this principal enqueues; a producer reads and
  // cancels only jobs whose owner is its own. Empty for principals that own nothing
  // (anonymous, the --http-token admin, stream tokens).
  std::string owner;
  std::vector<Grant> grants;
  // Milliseconds since the epoch after which the credential is no longer valid (a JWT's
  // exp, a stream token's expiry); 0 for none. An SSE stream ends with `auth_expired` then.
  int64_t expires_at_ms = 0;
  // A stream token's job: the only job it may read.
  std::string stream_job;
  // The SHA-256 hex of an API key, so a reload can tell whether it is still valid.
  std::string key_hash;

  bool Has(Role role) const;
  bool HasOnQueue(Role role, std::string_view queue) const;
};

// The facts about a job that decisions depend on.
struct JobFacts {
  std::string_view id;
  std::string_view queue;
  std::string_view owner;
};

enum class Decision {
  kAllowed,
  kForbidden,  // 403 forbidden_<permission>
  kInvisible,  // 404: the caller may not know the job exists
};

// May `p` use `perm` on queue `queue` (kEnqueue, kLease; kSubscribe on a channel's name)?
// Never kInvisible.
Decision DecideQueue(const Principal& p, Permission perm, std::string_view queue);
// May `p` use `perm` on the job? kInvisible when `p` may not even see it: then the job
// answers as if it did not exist, so ids are not an oracle.
Decision DecideJob(const Principal& p, Permission perm, const JobFacts& job);
// May `p` use a route that is not about one queue or job (kList, kQueues, kMetrics)?
// kList and kQueues are then filtered with DecideJob(kRead) and SeesQueue.
Decision DecideGlobal(const Principal& p, Permission perm);
// Whether GET /v1/queues shows `queue` to `p`.
bool SeesQueue(const Principal& p, std::string_view queue);

}  // namespace redge::auth
