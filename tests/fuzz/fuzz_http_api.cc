// libFuzzer target: the HTTP jobs API, above the parser: routing, the JSON bodies of
// producers and workers, and the parameters of the readers (SSE `Last-Event-ID` and
// `?after=`, long-poll `?after=&wait=`, lease `?wait=`, list filters, CORS, correlation
// and idempotency headers, lease tokens). A whole redge (store in a temporary directory,
// jobs layer, HTTP listener) runs in this process; each input is a sequence of requests
// over real sockets against three real jobs (queued, running with a known lease token,
// completed).
//
// Checked: no request gets 500 (a handler threw or failed unexpectedly), every answer is
// an HTTP/1.1 response, SSE streams carry only redge's own fields (no line a worker's event
// name or data could forge) and, like long-polls, events with increasing ids above the
// requested one, and after each input a new connection gets /healthz within 20 s.
// Parked requests (long-polls, lease waits, live SSE streams) are cut after a few
// milliseconds, so disconnects of parked exchanges are exercised on every input.
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
#include "store/store.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using nlohmann::json;
using redge::fuzz::Client;
using redge::fuzz::Server;
using redge::jobs::Job;
using std::chrono::milliseconds;

void Check(bool ok, const char* what, const std::string& detail = "") {
  if (!ok) {
    std::fprintf(stderr, "fuzz_http_api: invariant broken: %s\n%s\n", what, detail.c_str());
    std::abort();
  }
}

struct Jobs {
  std::string queued, running, done, token;
};

std::optional<Job> Lease(redge::jobs::JobService& jobs, const std::string& queue) {
  auto served = std::make_shared<std::promise<std::string>>();
  auto future = served->get_future();
  uint64_t handle =
      jobs.LeaseAsync(queue, "fuzz-worker", [served](redge::jobs::Outcome out, std::string id) {
        served->set_value(out.ok() ? id : std::string());
      });
  if (handle != 0 && future.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
    if (jobs.CancelLease(handle)) return std::nullopt;
  }
  std::string id = future.get();
  if (id.empty()) return std::nullopt;
  return jobs.LeasedJob(id, "fuzz-worker");
}

Jobs MakeJobs(Server& server, int64_t run) {
  auto& jobs = server.jobs();
  if (run % 256 == 0) (void)server.store().FlushAll();  // bounded store over hours of fuzzing
  Jobs out;
  Job job;
  bool created = false;
  auto enqueue = [&](const std::string& queue) {
    redge::jobs::JobService::EnqueueRequest r{queue, json{{"prompt", "hi"}}, "", "", ""};
    Check(jobs.Enqueue(r, &job, &created).ok(), "enqueue");
    return job.id;
  };
  out.queued = enqueue("hq");
  // One running and one completed job, each in a queue of its own so the lease takes it.
  const std::string rq = "hr" + std::to_string(run % 4);
  enqueue(rq);
  if (auto leased = Lease(jobs, rq)) {
    out.running = leased->id;
    out.token = leased->lease_token;
  }
  const std::string cq = "hc" + std::to_string(run % 4);
  enqueue(cq);
  if (auto leased = Lease(jobs, cq)) {
    int64_t event_id = 0;
    bool canceled = false;
    (void)jobs.AppendEvent(leased->id, leased->lease_token, "progress", json{{"p", 1}}, &event_id,
                           &canceled);
    Job done;
    (void)jobs.Complete(leased->id, leased->lease_token, json{{"answer", 42}}, &done);
    out.done = leased->id;
  }
  return out;
}

std::string PercentEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string JobId(FuzzedDataProvider& in, const Jobs& jobs) {
  switch (in.ConsumeIntegralInRange(0, 5)) {
    case 0:
      return jobs.queued;
    case 1:
    case 2:
      return jobs.running;
    case 3:
      return jobs.done;
    case 4:
      return PercentEncode(in.ConsumeRandomLengthString(24));
    default:
      return in.ConsumeRandomLengthString(24);  // raw: may not even parse
  }
}

std::string Queue(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 4)) {
    case 0:
      return "hq";
    case 1:
      return "hr0";
    case 2:
      return "a:b";
    case 3:
      return PercentEncode(in.ConsumeRandomLengthString(16));
    default:
      return in.ConsumeRandomLengthString(16);
  }
}

// An event id or seconds, mostly well-formed.
std::string Number(FuzzedDataProvider& in, bool seconds) {
  static const char* const kIds[] = {"0",
                                     "1",
                                     "2",
                                     "3",
                                     "99",
                                     "-1",
                                     "",
                                     "1e3",
                                     "0x10",
                                     "999999999999999999",
                                     "9999999999999999999",
                                     " 1"};
  static const char* const kSeconds[] = {"0",   "0.005", "0.01", "0.02", "-1", "",
                                         "nan", "inf",   "1e-9", "0x10", "61", "60"};
  if (in.ConsumeIntegralInRange(0, 3) == 0) return in.ConsumeRandomLengthString(12);
  return seconds ? kSeconds[in.ConsumeIntegralInRange<size_t>(0, std::size(kSeconds) - 1)]
                 : kIds[in.ConsumeIntegralInRange<size_t>(0, std::size(kIds) - 1)];
}

std::string JsonValue(FuzzedDataProvider& in) {
  static const char* const kValues[] = {
      "true", "false",           "null",      "1",     "\"yes\"",     "{}", "[]",
      "\"\"", "{\"a\": [1, 2]}", "\"x\\ny\"", "1e999", "\"\\ud800\"", "-0", "[[[[]]]]"};
  if (in.ConsumeBool())
    return kValues[in.ConsumeIntegralInRange<size_t>(0, std::size(kValues) - 1)];
  return json(in.ConsumeRandomLengthString(24))
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

// Every Consume* call is a statement of its own, so the bytes are read in one defined
// order (operands of + are unsequenced) and tests/fuzz/make_seeds.py can write inputs.
std::string RequestBody(FuzzedDataProvider& in) {
  const int kind = in.ConsumeIntegralInRange(0, 7);
  if (kind == 0) return "";
  if (kind == 1) return in.ConsumeRandomLengthString(256);
  if (kind == 7) return JsonValue(in);
  const std::string a = JsonValue(in);
  switch (kind) {
    case 2: {
      const std::string b = JsonValue(in);
      return "{\"event\": " + a + ", \"data\": " + b + "}";
    }
    case 3:
      return "{\"result\": " + a + "}";
    case 4: {
      const std::string b = JsonValue(in);
      return "{\"error\": " + a + ", \"retry\": " + b + "}";
    }
    case 5:
      return "{\"worker\": " + a + "}";
    default: {
      const std::string b = JsonValue(in);
      return "{\"celery\": {\"task\": " + a + ", \"args\": " + b + "}}";
    }
  }
}

struct Request {
  std::string method, target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // For the reader checks: the event id asked for, when it is a plain number.
  std::optional<int64_t> after;
  bool sse = false;
};

Request Req(std::string method, std::string target) {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  return r;
}

std::optional<int64_t> PlainId(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return std::stoll(s);
}

Request MakeRequest(FuzzedDataProvider& in, const Jobs& jobs) {
  Request r;
  const std::string id = JobId(in, jobs);
  switch (in.ConsumeIntegralInRange(0, 17)) {
    case 0:
    case 1: {
      const std::string queue = Queue(in);
      r = Req("POST", "/v1/queues/" + queue + "/jobs");
      break;
    }
    case 2: {
      const std::string queue = Queue(in);
      const std::string wait = Number(in, true);
      r = Req("POST", "/v1/queues/" + queue + "/lease?wait=" + PercentEncode(wait));
      break;
    }
    case 3:
      r = Req("GET", "/v1/queues");
      break;
    case 4: {
      const std::string queue = Queue(in);
      const std::string state = in.ConsumeRandomLengthString(10);
      const std::string limit = Number(in, false);
      r = Req("GET", "/v1/jobs?queue=" + PercentEncode(queue) + "&state=" + PercentEncode(state) +
                         "&limit=" + PercentEncode(limit) + "&cursor=" + PercentEncode(id));
      break;
    }
    case 5: {
      const std::string after = Number(in, false);
      const std::string wait = Number(in, true);
      r = Req("GET",
              "/v1/jobs/" + id + "?after=" + PercentEncode(after) + "&wait=" + PercentEncode(wait));
      r.after = PlainId(after);
      break;
    }
    case 6:
      r = Req("DELETE", "/v1/jobs/" + id);
      break;
    case 7:
      r = Req("GET", "/v1/jobs/" + id + "/trace");
      break;
    case 8:
    case 9: {
      const std::string after = Number(in, false);
      const bool chat = in.ConsumeBool();
      r = Req("GET", chat ? "/chat/stream/" + id : "/v1/jobs/" + id + "/events");
      if (in.ConsumeBool()) {
        r.headers.emplace_back("Last-Event-ID", after);
      } else {
        r.target += "?after=" + PercentEncode(after);
      }
      r.after = PlainId(after);
      r.sse = true;
      break;
    }
    case 10:
      r = Req("POST", "/v1/jobs/" + id + "/retry");
      break;
    case 11:
      r = Req("POST", "/v1/jobs/" + id + "/events");
      break;
    case 12:
      r = Req("POST", "/v1/jobs/" + id + "/heartbeat");
      break;
    case 13:
      r = Req("POST", "/v1/jobs/" + id + "/complete");
      break;
    case 14:
      r = Req("POST", "/v1/jobs/" + id + "/fail");
      break;
    case 15: {
      static const char* const kOps[] = {"/healthz", "/readyz", "/metrics", "/ui", "/v1/client.js"};
      r = Req("GET", kOps[in.ConsumeIntegralInRange<size_t>(0, std::size(kOps) - 1)]);
      break;
    }
    case 16:
      r = in.ConsumeBool() ? Req("POST", "/chat") : Req("GET", "/chat/response/" + id);
      break;
    default: {
      const std::string method = in.ConsumeRandomLengthString(8);
      const std::string target = in.ConsumeRandomLengthString(40);
      r = Req(method, "/" + target);
      break;
    }
  }
  if (in.ConsumeIntegralInRange(0, 7) == 0) {
    static const char* const kMethods[] = {"PUT", "PATCH", "HEAD", "OPTIONS", "GET", "POST"};
    r.method = kMethods[in.ConsumeIntegralInRange<size_t>(0, std::size(kMethods) - 1)];
    // Only a GET of an events route is a stream (a POST there appends a worker's event and
    // answers JSON).
    r.sse = r.sse && r.method == "GET";
  }
  const int nheaders = in.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < nheaders; ++i) {
    switch (in.ConsumeIntegralInRange(0, 6)) {
      case 0:
        r.headers.emplace_back("X-Lease-Token", jobs.token);
        break;
      case 1:
        r.headers.emplace_back("X-Lease-Token", in.ConsumeRandomLengthString(40));
        break;
      case 2:
        r.headers.emplace_back("X-Correlation-ID", in.ConsumeRandomLengthString(140));
        break;
      case 3:
        r.headers.emplace_back("Idempotency-Key", in.ConsumeRandomLengthString(20));
        break;
      case 4:
        r.headers.emplace_back("Origin", in.ConsumeBool() ? "http://fuzz.example" : "null");
        break;
      case 5:
        r.headers.emplace_back("X-Worker-Id", in.ConsumeRandomLengthString(20));
        break;
      default:
        r.headers.emplace_back("Access-Control-Request-Method", "POST");
        break;
    }
  }
  if (r.method != "GET" && r.method != "HEAD" && r.method != "DELETE") r.body = RequestBody(in);
  // Header values cannot carry line breaks on the wire; the parser is fuzzed elsewhere.
  for (auto& [k, v] : r.headers) {
    for (char& c : v) {
      if (c == '\r' || c == '\n' || c == '\0') c = ' ';
    }
  }
  return r;
}

std::string Wire(const Request& r) {
  std::string out = r.method + " " + r.target + " HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  if (!r.body.empty() || r.method == "POST") {
    out += "Content-Type: application/json\r\nContent-Length: " + std::to_string(r.body.size()) +
           "\r\n";
  }
  return out + "\r\n" + r.body;
}

// The body of a response: de-chunked when it is chunked (an SSE stream); what arrived
// before the cut when the stream was still open.
std::string Body(const std::string& response) {
  size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos) return "";
  std::string head = response.substr(0, head_end);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view rest = std::string_view(response).substr(head_end + 4);
  if (head.find("transfer-encoding: chunked") == std::string::npos) return std::string(rest);
  std::string body;
  while (true) {
    size_t eol = rest.find("\r\n");
    if (eol == std::string_view::npos) break;
    size_t n = std::strtoul(std::string(rest.substr(0, eol)).c_str(), nullptr, 16);
    if (n == 0 || rest.size() < eol + 2 + n) {
      body.append(rest.substr(std::min(rest.size(), eol + 2), n));  // a partial last chunk
      break;
    }
    body.append(rest.substr(eol + 2, n));
    rest.remove_prefix(std::min(rest.size(), eol + 2 + n + 2));
  }
  return body;
}

// Event ids in an SSE body ("id: N" lines) or a long-poll body ("events": [{"id": N}]).
std::vector<int64_t> EventIds(const std::string& response, bool sse) {
  std::vector<int64_t> ids;
  const std::string body = Body(response);
  if (sse) {
    size_t at = 0;
    while (at < body.size()) {
      size_t end = body.find('\n', at);
      if (end == std::string::npos) break;  // a line cut short
      std::string_view line(body.data() + at, end - at);
      // Only redge's own fields: nothing a worker sent may start a line of its own.
      const bool known = line.empty() || line.front() == ':' || line.rfind("id: ", 0) == 0 ||
                         line.rfind("event: ", 0) == 0 || line.rfind("data: ", 0) == 0 ||
                         line.rfind("retry: ", 0) == 0;
      Check(known, "an SSE line that is no field redge writes", body);
      if (line.rfind("id: ", 0) == 0) {
        if (auto id = PlainId(std::string(line.substr(4)))) ids.push_back(*id);
      }
      at = end + 1;
    }
    return ids;
  }
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("events") && j["events"].is_array()) {
    for (const auto& e : j["events"]) {
      if (e.is_object() && e.contains("id") && e["id"].is_number_integer()) {
        ids.push_back(e["id"].get<int64_t>());
      }
    }
  }
  return ids;
}

void CheckResponse(const Request& r, const std::string& response) {
  if (response.size() < 12) return;  // parked until we hung up
  Check(response.rfind("HTTP/1.1 ", 0) == 0, "not an HTTP/1.1 response", response.substr(0, 200));
  const int status = std::atoi(response.c_str() + 9);
  Check(status != 500, "500: a handler failed", Wire(r) + "\n---\n" + response.substr(0, 400));
  if (status != 200) return;
  std::vector<int64_t> ids = EventIds(response, r.sse);
  for (size_t i = 0; i < ids.size(); ++i) {
    Check(i == 0 || ids[i] > ids[i - 1], "event ids not increasing", response);
    if (r.after) Check(ids[i] > *r.after, "an event at or below the requested id", response);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  redge::fuzz::ServerOptions options;
  options.resp = false;
  static Server& server = Server::Get(options);
  static int64_t runs = 0;
  const Jobs jobs = MakeJobs(server, runs++);

  FuzzedDataProvider in(data, size);
  for (int i = 0; i < 12 && in.remaining_bytes() > 0; ++i) {
    const Request r = MakeRequest(in, jobs);
    if (std::getenv("REDGE_FUZZ_TRACE")) std::fprintf(stderr, "%s\n---\n", Wire(r).c_str());
    Client c(server.http_port());
    if (!c.Send(Wire(r))) continue;
    // Connection: close, so an answered request ends with EOF; a parked one is cut.
    c.ReadUntil([](const std::string&) { return false; }, milliseconds(r.sse ? 20 : 10));
    c.Close();
    CheckResponse(r, c.received());
  }
  Client alive(server.http_port());
  if (!alive.connected()) std::fprintf(stderr, "connect: %s\n", alive.connect_error().c_str());
  alive.Send("GET /healthz HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n");
  auto answered = [](const std::string& r) { return r.find("\r\n\r\n") != std::string::npos; };
  // The second look: a paused host can pass the deadline while the answer is on its way.
  if (!alive.ReadUntil(answered, redge::fuzz::kLiveness) &&
      !alive.ReadUntil(answered, milliseconds(2000))) {
    redge::fuzz::DumpThreadStacks();  // what each loop and the writer are doing
    Check(false, "no /healthz answer within 20 s after the input");
  }
  return 0;
}
