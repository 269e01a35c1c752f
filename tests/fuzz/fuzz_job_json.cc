// libFuzzer target: the JSON a client or a worker sends into the jobs layer, over a real
// store (fsync=no, in a temporary directory) and JobService, without the network.
//
// The input is one text. Two paths take it:
//  - the HTTP API's: parsed as the API parses request bodies (ParseBody below), then used
//    as a job's payload, a worker's event data and its result or failure, exactly as
//    POST /v1/queues/{q}/jobs, /events, /complete and /fail do; the job and its events are
//    then read back and serialized as GET /v1/jobs/{id}?after=0 and SSE would;
//  - the legacy-worker bridge's, raw: pushed and popped as a queue envelope, PUBLISHed on
//    a running job's progress channel and SET as its response key by its lease holder.
// The input is also decoded as a stored job record (Job::FromRecord: the binary form or an
// earlier version's JSON), which must re-encode to the same job.
// Checked: nothing throws out of the jobs layer or the store, event ids stay 1, 2, 3, ...,
// and a job the worker completed or failed is terminal.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "edge/jobs/job_service.h"
#include "edge/json_input.h"
#include "store/lists.h"
#include "store/store.h"
#include "store/strings.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using nlohmann::json;
using redge::jobs::Job;
using redge::jobs::JobService;
using redge::jobs::JobState;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_job_json: invariant broken: %s\n", what);
    std::abort();
  }
}

// How the HTTP API parses a request body (edge/http/jobs_api.cc BodyJson): the
// depth-bounded parser every untrusted JSON goes through (edge/json_input.h).
bool ParseBody(const std::string& text, json* out) {
  return redge::ParseJson(text, out) == redge::JsonError::kNone;
}

struct Env {
  redge::fuzz::TempDir dir{"redge-fuzz-json"};
  std::unique_ptr<redge::store::Store> store;
  std::unique_ptr<JobService> jobs;
  int64_t runs = 0;

  Env() {
    redge::fuzz::QuietLogs();
    redge::store::Options so;
    so.dir = dir.path() + "/data";
    so.fsync = redge::store::Fsync::kNo;
    so.block_cache_bytes = 8u << 20;
    so.write_buffer_bytes = 8u << 20;
    so.log = [](int, const std::string&) {};
    store = std::move(redge::store::Store::Open(so).value());
    redge::jobs::JobsOptions jo;
    jo.lease_timeout_ms = 60'000;
    jobs = std::make_unique<JobService>(store.get(), jo);
    Check(jobs->Start().ok(), "JobService::Start");
  }
  ~Env() {
    jobs->Stop();
    jobs.reset();
    store.reset();
  }
};

Env* g_env = nullptr;

Env& GetEnv() {
  if (!g_env) {
    g_env = new Env();
    std::atexit([] {
      delete g_env;
      g_env = nullptr;
    });
  }
  return *g_env;
}

// Leases the oldest job of `queue` for `worker` the way POST .../lease does.
std::optional<Job> Lease(JobService& jobs, const std::string& queue, const std::string& worker) {
  auto served = std::make_shared<std::promise<std::string>>();
  auto future = served->get_future();
  uint64_t handle =
      jobs.LeaseAsync(queue, worker, [served](redge::jobs::Outcome out, std::string id) {
        served->set_value(out.ok() ? id : std::string());
      });
  if (handle != 0 && future.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
    if (jobs.CancelLease(handle)) return std::nullopt;
  }
  std::string id = future.get();
  if (id.empty()) return std::nullopt;
  return jobs.LeasedJob(id, worker);
}

// Reads a job the way the API's readers do, and checks its event log.
void ReadBack(JobService& jobs, const std::string& id) {
  Job job;
  std::vector<redge::jobs::Event> events;
  if (!jobs.Read(id, 0, &job, &events).ok()) return;
  (void)job.ToApi().dump();
  int64_t expect = 1;
  for (const auto& e : events) {
    Check(e.id == expect++, "event ids are not 1, 2, 3, ...");
    (void)e.ToApi().dump();
    (void)e.data.dump();
  }
  Check(job.last_event_id == expect - 1, "last_event_id differs from the event log");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Env& env = GetEnv();
  JobService& jobs = *env.jobs;
  redge::store::Store& store = *env.store;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string queue = "fz";

  // The input as a stored job record (binary, or an earlier version's JSON): whatever it
  // decodes to re-encodes to the same job.
  if (auto record = Job::FromRecord(text)) {
    auto again = Job::FromRecord(record->ToRecord());
    Check(again.has_value(), "a decoded record does not decode after re-encoding");
    Check(again->ToApi() == record->ToApi() && again->payload == record->payload &&
              again->envelope == record->envelope && again->lease_token == record->lease_token,
          "a decoded record re-encodes to another job");
  }

  // The HTTP API's path.
  json body;
  if (ParseBody(text, &body)) {
    Job job;
    bool created = false;
    JobService::EnqueueRequest r{queue, body, "", "", ""};
    if (jobs.Enqueue(r, &job, &created).ok()) {
      ReadBack(jobs, job.id);
      if (auto leased = Lease(jobs, queue, "http-worker")) {
        int64_t event_id = 0;
        bool canceled = false;
        std::string type = "progress";
        if (body.is_object() && body.contains("event") && body["event"].is_string()) {
          type = body["event"].get<std::string>();
        }
        (void)jobs.AppendEvent(leased->id, leased->lease_token, type, body, &event_id, &canceled);
        Job done;
        redge::jobs::Outcome out;
        if (size % 2 == 0) {
          out = jobs.Complete(leased->id, leased->lease_token, body, &done);
        } else {
          const bool retry = body.is_object() && body.contains("retry") &&
                             body["retry"].is_boolean() && body["retry"].get<bool>();
          out = jobs.Fail(leased->id, leased->lease_token, body.dump(), retry, &done);
        }
        if (out.ok() && size % 2 == 0) Check(done.state == JobState::kCompleted, "completed");
        ReadBack(jobs, leased->id);
      }
    }
  }

  // The legacy bridge's path: the raw bytes as an envelope, a progress message and a
  // response, sent by the worker holding the lease (client "resp-worker").
  Job job;
  bool created = false;
  JobService::EnqueueRequest r{queue, json{{"n", size}}, "", "", ""};
  if (jobs.Enqueue(r, &job, &created).ok()) {
    const std::string qkey = "redge:queue:" + queue;
    (void)store.Exec(0, [&](redge::store::Txn& txn) {
      txn.set_client("resp-worker");
      (void)redge::store::lists::Push(txn, qkey, redge::store::ListEnd::kLeft, {text});
      // Pops the fuzz text first, then the real envelope: both reach the bridge.
      (void)redge::store::lists::Pop(txn, qkey, redge::store::ListEnd::kRight, 2);
    });
    (void)store.Exec(0, [&](redge::store::Txn& txn) {
      txn.set_client("resp-worker");
      store.PublishInTxn(txn, "redge:progress:" + job.id, text);
    });
    (void)store.Exec(0, [&](redge::store::Txn& txn) {
      txn.set_client("resp-worker");
      (void)redge::store::strings::Set(txn, "redge:response:" + job.id, text, {});
    });
    ReadBack(jobs, job.id);
    Job after;
    if (jobs.Get(job.id, &after).ok() && after.state == JobState::kRunning) {
      Check(false, "a job whose holder SET its response is still running");
    }
  }

  // Keep the store small over hours of fuzzing.
  if (++env.runs % 512 == 0) (void)store.FlushAll();
  return 0;
}
