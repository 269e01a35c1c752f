// The storage form of a job (Job::ToRecord / Job::FromRecord).
//
// Version 1, binary (written since 2026-11-29): a job record is read and written at every
// transition, and parsing and printing it as a JSON object was a fifth of redge's CPU per
// job (profiled with tools/bench/e2e). The layout:
//   [kMagic][kVersion1]
//   id, queue, correlation_id              strings
//   state                                  one byte (JobState)
//   attempt, max_attempts, created_at, updated_at, started_at, finished_at,
//   last_event_id                          integers
//   lease_holder, lease_token              strings
//   lease_expires_at                       integer
//   former_holders                         [count] strings
//   payload, result                        JSON text (compact), empty for null
//   error, envelope, idempotency_key       strings
//   celery                                 JSON text, empty for none
//   owner                                  string
//   then extensions: [tag][length][bytes]..., each skipped by a reader that does not know
//   its tag, so a later version can add fields without breaking an older binary.
// Integers are zigzag varints, strings [varint length][bytes].
//
// Records written before (a JSON object, first byte '{') are still read; the job's next
// save writes version 1. GET redge:job:<id> over RESP thus shows bytes, not JSON:
// GET /v1/jobs/<id> and /trace are the readable views.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "edge/jobs/job.h"
#include "edge/json_input.h"

namespace redge::jobs {

namespace {

using nlohmann::json;

constexpr char kMagic = '\xB7';
constexpr char kVersion1 = '\x01';

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void PutInt(std::string* out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}
void PutJson(std::string* out, const json& j) {
  if (j.is_null()) return PutVarint(out, 0);
  PutString(out, DumpJson(j));
}

// Reads the fields back in order; any shortfall or malformed value fails the record.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool empty() const { return in_.empty(); }

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (in_.empty()) break;
      const auto byte = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }
  int64_t Int() {
    const uint64_t z = Varint();
    return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  std::string_view Bytes() {
    const uint64_t n = Varint();
    if (!ok_ || n > in_.size()) {
      ok_ = false;
      return {};
    }
    std::string_view s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }
  std::string String() { return std::string(Bytes()); }
  json Json() {
    std::string_view text = Bytes();
    if (!ok_ || text.empty()) return json();
    json j = ParseRecord(text);
    if (j.is_discarded()) ok_ = false;
    return j;
  }
  uint8_t Byte() {
    if (in_.empty()) {
      ok_ = false;
      return 0;
    }
    const auto b = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return b;
  }

 private:
  std::string_view in_;
  bool ok_ = true;
};

std::optional<Job> FromBinary(std::string_view record) {
  Reader r(record.substr(2));
  Job job;
  job.id = r.String();
  job.queue = r.String();
  job.correlation_id = r.String();
  const uint8_t state = r.Byte();
  if (state > static_cast<uint8_t>(JobState::kCanceled)) return std::nullopt;
  job.state = static_cast<JobState>(state);
  job.attempt = static_cast<int>(r.Int());
  job.max_attempts = static_cast<int>(r.Int());
  job.created_at = r.Int();
  job.updated_at = r.Int();
  job.started_at = r.Int();
  job.finished_at = r.Int();
  job.last_event_id = r.Int();
  job.lease_holder = r.String();
  job.lease_token = r.String();
  job.lease_expires_at = r.Int();
  const uint64_t holders = r.Varint();
  // Each holder takes at least one byte: a count beyond what is left is corrupt.
  if (!r.ok() || holders > record.size()) return std::nullopt;
  job.former_holders.reserve(holders);
  for (uint64_t i = 0; i < holders && r.ok(); ++i) job.former_holders.push_back(r.String());
  job.payload = r.Json();
  job.result = r.Json();
  job.error = r.String();
  job.envelope = r.String();
  job.idempotency_key = r.String();
  json celery = r.Json();
  if (celery.is_object()) job.celery = std::move(celery);
  job.owner = r.String();
  while (r.ok() && !r.empty()) {  // extensions of later versions: skipped
    (void)r.Varint();
    (void)r.Bytes();
  }
  if (!r.ok() || job.id.empty()) return std::nullopt;
  return job;
}

std::optional<JobState> ParseState(std::string_view s) {
  for (JobState st : {JobState::kQueued, JobState::kRunning, JobState::kCompleted,
                      JobState::kFailed, JobState::kCanceled}) {
    if (StateName(st) == s) return st;
  }
  return std::nullopt;
}

// The record format before version 1: one JSON object.
std::optional<Job> FromJson(std::string_view record) {
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

}  // namespace

std::string Job::ToRecord() const {
  std::string out;
  out.reserve(256 + envelope.size());
  out.push_back(kMagic);
  out.push_back(kVersion1);
  PutString(&out, id);
  PutString(&out, queue);
  PutString(&out, correlation_id);
  out.push_back(static_cast<char>(state));
  PutInt(&out, attempt);
  PutInt(&out, max_attempts);
  PutInt(&out, created_at);
  PutInt(&out, updated_at);
  PutInt(&out, started_at);
  PutInt(&out, finished_at);
  PutInt(&out, last_event_id);
  PutString(&out, lease_holder);
  PutString(&out, lease_token);
  PutInt(&out, lease_expires_at);
  PutVarint(&out, former_holders.size());
  for (const auto& h : former_holders) PutString(&out, h);
  PutJson(&out, payload);
  PutJson(&out, result);
  PutString(&out, error);
  PutString(&out, envelope);
  PutString(&out, idempotency_key);
  PutJson(&out, celery);
  PutString(&out, owner);
  return out;
}

std::optional<Job> Job::FromRecord(std::string_view record) {
  if (record.size() >= 2 && record[0] == kMagic) {
    if (record[1] != kVersion1) return std::nullopt;  // a later version: not readable here
    return FromBinary(record);
  }
  return FromJson(record);
}

}  // namespace redge::jobs
