// Job and Event: the records the jobs layer keeps in the store, and their JSON forms.
//
// A job record is one JSON string at `redge:job:{id}`; its events are a list at
// `redge:events:{id}` whose element i is the event with id i + 1. Both are plain store
// keys, so they are durable, replicated by nothing, and visible over RESP for debugging.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redge::jobs {

// The values are stored in job records (edge/jobs/job_record.cc): never renumber one.
enum class JobState { kQueued = 0, kRunning = 1, kCompleted = 2, kFailed = 3, kCanceled = 4 };

std::string_view StateName(JobState s);
bool IsTerminal(JobState s);

struct Job {
  std::string id;
  std::string queue;
  std::string correlation_id;
  JobState state = JobState::kQueued;
  int attempt = 1;  // the attempt that is queued or running (1-based)
  int max_attempts = 3;
  int64_t created_at = 0, updated_at = 0, started_at = 0, finished_at = 0;
  int64_t last_event_id = 0;
  // While running: who holds the lease, its secret token (HTTP workers must show it) and
  // when it expires.
  std::string lease_holder, lease_token;
  int64_t lease_expires_at = 0;
  // Holders of earlier, expired leases: their late completions are ignored.
  std::vector<std::string> former_holders;
  nlohmann::json payload;
  nlohmann::json result;  // null until completed
  std::string error;      // set when failed or canceled
  std::string envelope;   // the exact queue entry while queued (for cancel's LREM)
  std::string idempotency_key;
  // A Celery task's details (edge/jobs/celery_bridge.h): task name, parent/root/group ids,
  // argument sizes, its broker list, ...; null for every other job. No lease: Celery's
  // own acknowledgements and the result backend drive such a job.
  nlohmann::json celery;
  // Who enqueued it (auth::Principal::owner: "key:<name>", "jwt:<sub>"); empty for jobs
  // enqueued without an owning credential, over RESP, or before owners were recorded
  // (records without the field read as empty).
  std::string owner;
  // Not stored: whether the job's stored record says running (set when it is read and
  // when it is saved), so a save knows whether the running-jobs index must change.
  mutable bool stored_running = false;

  // Storage form (everything): a versioned binary record (edge/jobs/job_record.cc);
  // FromRecord also reads the JSON records of earlier versions. nullopt for a record that
  // is neither (overwritten over RESP).
  std::string ToRecord() const;
  static std::optional<Job> FromRecord(std::string_view record);
  // API form (docs/http-api.md): no token, no envelope, no payload; a Celery task's
  // details without its traceback (the trace route adds that).
  nlohmann::json ToApi() const;
  bool is_celery() const { return celery.is_object(); }
};

struct Event {
  int64_t id = 0;
  std::string type;
  nlohmann::json data;
  int64_t ts = 0;

  std::string ToRecord() const;
  // ToRecord() with `data_json` (DumpJson(data), already made) in place of `data`.
  std::string ToRecord(std::string_view data_json) const;
  static std::optional<Event> FromRecord(std::string_view record);
  nlohmann::json ToApi() const;
};

// The queue envelope legacy workers pop: {"id","queue","correlation_id","attempt",
// "enqueued_at","payload"}.
std::string MakeEnvelope(const Job& job, int64_t now_ms);

// Event types a worker may not send itself (the jobs layer writes them).
bool IsReservedEventType(std::string_view type);

// Whether `j` is an object whose `key` is JSON true. Never throws: a flag of a client's or
// worker's JSON ("isError", "complete") may hold any type, and json::value<bool>() throws
// on a non-boolean, which inside a store write or on an event loop would end the process.
bool FlagIsTrue(const nlohmann::json& j, const char* key);

// Event names a worker may choose: 1-64 characters of A-Z a-z 0-9 _ - . : (so a name is
// one token on an SSE `event:` line and in logs, and cannot carry a line break).
inline constexpr size_t kMaxEventTypeLength = 64;
inline constexpr std::string_view kEventTypeRule =
    "event names are 1-64 characters of A-Z a-z 0-9 _ - . :";
bool ValidEventType(std::string_view type);

// Error texts and retry reasons are cut to this many bytes (at a UTF-8 character boundary,
// with "..." appended), so an event carrying one always fits --max-event-bytes.
inline constexpr size_t kMaxErrorTextBytes = 16 * 1024;
std::string CapText(std::string_view text, size_t max_bytes = kMaxErrorTextBytes);

}  // namespace redge::jobs
