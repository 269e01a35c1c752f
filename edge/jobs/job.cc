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
