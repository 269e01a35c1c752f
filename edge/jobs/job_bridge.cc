// The bridge for legacy Redis workers: mutation observers that turn plain RESP commands on
// the templated keys into job transitions, inside the worker's own write.
#include "edge/jobs/job_service.h"
#include "edge/jobs/job_txn.h"
#include "edge/json_input.h"
#include "edge/log.h"

namespace redge::jobs {

namespace st = redge::store;
using nlohmann::json;

namespace {

bool IsPopEvent(std::string_view event) { return event == "lpop" || event == "rpop"; }

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  for (const auto& s : v) {
    if (s == x) return true;
  }
  return false;
}

// A legacy error value names its message in one of these fields.
std::string ErrorText(const json& j) {
  for (const char* field : {"content", "error", "message"}) {
    if (j.contains(field)) {
      const json& v = j[field];
      return v.is_string() ? v.get<std::string>() : DumpJson(v);
    }
  }
  return "worker reported an error";
}

}  // namespace

void JobService::OnQueuePop(st::Txn& txn, const st::KeyEvent& ev) {
  if (ev.db != 0 || !IsPopEvent(ev.event) || ev.values == nullptr) return;
  if (!queue_key_.Match(ev.key)) return;
  for (const auto& value : *ev.values) {
    json envelope = ParseRecord(value);
    if (!envelope.is_object() || !envelope.contains("id") || !envelope["id"].is_string()) continue;
    std::string id = envelope["id"].get<std::string>();
    auto job = TxnOps::Load(txn, id);
    // Only the envelope the job is queued under starts a lease: a copy pushed back by hand
    // or left over from an earlier attempt must not restart a running job.
    if (!job || job->state != JobState::kQueued || job->envelope != value) {
      Log(spdlog::level::debug, "popped envelope ignored",
          {{"job_id", std::string(id)}, {"client", std::string(txn.client())}});
      continue;
    }
    TxnOps::StartLease(*this, txn, *job, txn.client());
  }
}

void JobService::OnResponseSet(st::Txn& txn, const st::KeyEvent& ev) {
  if (ev.db != 0 || ev.event != "set" || ev.values == nullptr || ev.values->empty()) return;
  if (IsInternalKey(ev.key)) return;
  auto id = response_key_.Match(ev.key);
  if (!id) return;
  auto job = TxnOps::Load(txn, *id);
  if (!job) return;
  const std::string& client = txn.client();
  if (job->state != JobState::kRunning ||
      (client != job->lease_holder && Contains(job->former_holders, client))) {
    // A late answer from a worker whose lease expired (or a job already finished): the
    // job has moved on, and its current attempt must not be overwritten.
    Log(spdlog::level::warn, "late response ignored",
        {{"job_id", std::string(job->id)},
         {"correlation_id", std::string(job->correlation_id)},
         {"state", std::string(StateName(job->state))},
         {"client", std::string(client)},
         {"holder", std::string(job->lease_holder)}});
    return;
  }
  const std::string& value = ev.values->front();
  json parsed;
  JsonError error = ParseJson(value, &parsed);
  if (error == JsonError::kSyntax) parsed = value;  // plain text results stay strings
  if (error == JsonError::kTooDeep) {
    // Refused rather than kept as text: the worker meant JSON, and its reader would get
    // a string it did not send. The job fails with the reason instead of hanging.
    Log(spdlog::level::warn, "response refused",
        {{"job_id", std::string(job->id)},
         {"correlation_id", std::string(job->correlation_id)},
         {"client", std::string(client)},
         {"reason", JsonErrorText(error)}});
    TxnOps::Finish(*this, txn, *job, JobState::kFailed, nullptr,
                   "the worker's response was refused: " + JsonErrorText(error));
  } else if (FlagIsTrue(parsed, "isError")) {
    TxnOps::Finish(*this, txn, *job, JobState::kFailed, nullptr, ErrorText(parsed));
  } else {
    TxnOps::FinishOrFailTooLarge(*this, txn, *job, std::move(parsed));
  }
}

void JobService::OnProgress(st::Txn& txn, std::string_view channel, std::string_view message) {
  auto id = progress_channel_.Match(channel);
  if (!id) return;
  // With a bare "{id}" template every channel matches; only real jobs are affected.
  auto job = TxnOps::Load(txn, *id);
  if (!job || job->state != JobState::kRunning) return;
  const std::string& client = txn.client();
  if (!client.empty() && client != job->lease_holder && Contains(job->former_holders, client)) {
    Log(spdlog::level::warn, "late progress ignored",
        {{"job_id", std::string(job->id)},
         {"correlation_id", std::string(job->correlation_id)},
         {"client", std::string(client)},
         {"holder", std::string(job->lease_holder)}});
    return;
  }
  json msg;
  if (JsonError error = ParseJson(message, &msg); error == JsonError::kTooDeep) {
    // Not stored: nothing recursive may run on it. Still a sign of life.
    Log(spdlog::level::warn, "progress message refused",
        {{"job_id", std::string(job->id)},
         {"correlation_id", std::string(job->correlation_id)},
         {"client", std::string(client)},
         {"reason", JsonErrorText(error)}});
    msg = nullptr;
  }
  if (FlagIsTrue(msg, "complete")) {
    json content = msg.contains("content") ? msg["content"] : json();
    if (FlagIsTrue(msg, "isError")) {
      TxnOps::Finish(*this, txn, *job, JobState::kFailed, nullptr,
                     content.is_string() ? content.get<std::string>() : DumpJson(content));
    } else {
      TxnOps::FinishOrFailTooLarge(*this, txn, *job, std::move(content));
    }
    return;
  }
  std::string type = "progress";
  if (msg.is_object() && msg.contains("event") && msg["event"].is_string()) {
    std::string named = msg["event"].get<std::string>();
    if (!named.empty() && !ValidEventType(named)) {
      // Refused, not renamed: the worker must learn that its name cannot be streamed.
      Log(spdlog::level::warn, "progress message refused",
          {{"job_id", std::string(job->id)},
           {"correlation_id", std::string(job->correlation_id)},
           {"client", std::string(client)},
           {"reason", std::string(kEventTypeRule)}});
      msg = nullptr;
    } else if (!named.empty() && !IsReservedEventType(named)) {
      type = std::move(named);
    }
  }
  // Only a JSON object is an event; any other message is a sign of life.
  size_t bytes = 0;
  if (msg.is_object() &&
      TxnOps::Append(*this, txn, *job, std::move(type), std::move(msg), &bytes) == 0) {
    Log(spdlog::level::warn, "progress message refused",
        {{"job_id", std::string(job->id)},
         {"correlation_id", std::string(job->correlation_id)},
         {"client", std::string(client)},
         {"reason", std::to_string(bytes) + " bytes as JSON, over the event size limit of " +
                        std::to_string(options_.max_event_bytes) + " bytes (--max-event-bytes)"}});
  }
  TxnOps::ExtendLease(*this, txn, *job);
  TxnOps::Save(txn, *job);
}

}  // namespace redge::jobs
