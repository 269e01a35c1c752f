#include "edge/jobs/job.h"

#include "edge/json_input.h"
#include "edge/log.h"

namespace redge::jobs {

using nlohmann::json;

std::string_view StateName(JobState s) {
  switch (s) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kCompleted:
      return "completed";
    case JobState::kFailed:
      return "failed";
    case JobState::kCanceled:
      return "canceled";
  }
  return "unknown";
}

bool IsTerminal(JobState s) {
  return s == JobState::kCompleted || s == JobState::kFailed || s == JobState::kCanceled;
}

namespace {

std::optional<JobState> ParseState(std::string_view s) {
  for (JobState st : {JobState::kQueued, JobState::kRunning, JobState::kCompleted,
                      JobState::kFailed, JobState::kCanceled}) {
    if (StateName(st) == s) return st;
  }
  return std::nullopt;
}

}  // namespace

std::string Job::ToRecord() const {
  json j = {{"id", id},
            {"queue", queue},
            {"correlation_id", correlation_id},
            {"state", StateName(state)},
            {"attempt", attempt},
            {"max_attempts", max_attempts},
            {"created_at", created_at},
            {"updated_at", updated_at},
            {"started_at", started_at},
            {"finished_at", finished_at},
            {"last_event_id", last_event_id},
            {"lease_holder", lease_holder},
            {"lease_token", lease_token},
            {"lease_expires_at", lease_expires_at},
            {"former_holders", former_holders},
            {"payload", payload},
            {"result", result},
            {"error", error},
            {"envelope", envelope},
            {"idempotency_key", idempotency_key}};
  if (!celery.is_null()) j["celery"] = celery;
  if (!owner.empty()) j["owner"] = owner;  // absent when empty, as in older records
  return DumpJson(j);
}

std::optional<Job> Job::FromRecord(std::string_view record) {
  json j = ParseRecord(record);
  if (!j.is_object() || !j.contains("id") || !j.contains("state")) return std::nullopt;
  try {
    Job job;
    job.id = j.at("id").get<std::string>();
    job.queue = j.value("queue", "");
    job.correlation_id = j.value("correlation_id", "");
    auto st = ParseState(j.at("state").get<std::string>());
    if (!st) return std::nullopt;
    job.state = *st;
    job.attempt = j.value("attempt", 1);
    job.max_attempts = j.value("max_attempts", 3);
    job.created_at = j.value("created_at", int64_t{0});
    job.updated_at = j.value("updated_at", int64_t{0});
    job.started_at = j.value("started_at", int64_t{0});
    job.finished_at = j.value("finished_at", int64_t{0});
    job.last_event_id = j.value("last_event_id", int64_t{0});
    job.lease_holder = j.value("lease_holder", "");
    job.lease_token = j.value("lease_token", "");
    job.lease_expires_at = j.value("lease_expires_at", int64_t{0});
    job.former_holders = j.value("former_holders", std::vector<std::string>{});
    job.payload = j.value("payload", json());
    job.result = j.value("result", json());
    job.error = j.value("error", "");
    job.envelope = j.value("envelope", "");
    job.idempotency_key = j.value("idempotency_key", "");
    if (auto c = j.find("celery"); c != j.end() && c->is_object()) job.celery = *c;
    job.owner = j.value("owner", "");
    return job;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

json Job::ToApi() const {
  json j = {{"id", id},
            {"queue", queue},
            {"state", StateName(state)},
            {"attempt", attempt},
            {"max_attempts", max_attempts},
            {"correlation_id", correlation_id},
            {"created_at", created_at},
            {"updated_at", updated_at},
            {"started_at", started_at},
            {"finished_at", finished_at},
            {"last_event_id", last_event_id},
            {"owner", owner.empty() ? nlohmann::json(nullptr) : nlohmann::json(owner)}};
  if (state == JobState::kRunning) {
    j["lease"] = {{"holder", lease_holder}, {"expires_at", lease_expires_at}};
  } else {
    j["lease"] = nullptr;
  }
  if (state == JobState::kCompleted) j["result"] = result;
  if (state == JobState::kFailed || state == JobState::kCanceled) j["error"] = error;
  if (is_celery()) {
    json c = celery;
    // The traceback is for the trace route only; the rest is the bridge's bookkeeping.
    for (const char* internal :
         {"traceback", "list", "db", "backend_db", "queued_at", "run_started_at",
          "retries_announced", "retry_results", "held_reservation", "previous_worker"}) {
      c.erase(internal);
    }
    j["celery"] = std::move(c);
  }
  return j;
}

std::string Event::ToRecord() const {
  return DumpJson(json{{"id", id}, {"event", type}, {"data", data}, {"ts", ts}});
}

std::string Event::ToRecord(std::string_view data_json) const {
  std::string out = "{\"id\":" + std::to_string(id) + ",\"event\":" + DumpJson(type) + ",\"data\":";
  out.append(data_json);
  out.append(",\"ts\":").append(std::to_string(ts)).push_back('}');
  return out;
}

std::optional<Event> Event::FromRecord(std::string_view record) {
  json j = ParseRecord(record);
  if (!j.is_object()) return std::nullopt;
  try {
    Event e;
    e.id = j.at("id").get<int64_t>();
    e.type = j.at("event").get<std::string>();
    e.data = j.value("data", json());
    e.ts = j.value("ts", int64_t{0});
    return e;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

json Event::ToApi() const { return json{{"id", id}, {"event", type}, {"data", data}, {"ts", ts}}; }

std::string MakeEnvelope(const Job& job, int64_t now_ms) {
  return DumpJson(json{{"id", job.id},
                       {"queue", job.queue},
                       {"correlation_id", job.correlation_id},
                       {"attempt", job.attempt},
                       {"enqueued_at", now_ms},
                       {"payload", job.payload}});
}

std::string CapText(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  // Back off to the first byte of a UTF-8 character (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

bool ValidEventType(std::string_view type) {
  if (type.empty() || type.size() > kMaxEventTypeLength) return false;
  for (char c : type) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-' || c == '.' || c == ':')) {
      return false;
    }
  }
  return true;
}

bool FlagIsTrue(const json& j, const char* key) {
  if (!j.is_object()) return false;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

bool IsReservedEventType(std::string_view type) {
  return type == "queued" || type == "started" || type == "retrying" || type == "completed" ||
         type == "failed" || type == "canceled" || type == "gone";
}

}  // namespace redge::jobs
