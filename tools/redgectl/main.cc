// redgectl: the command-line client of redge's HTTP jobs API (docs/http-api.md).
//
// Human output by default (tables, timelines, and on a terminal a redrawn progress bar);
// --json prints exactly one JSON document per command, or one JSON object per line for
// the streaming commands, so scripts never parse the human text.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api.h"
#include "render.h"

namespace redgectl {
namespace {

using json = nlohmann::json;

constexpr const char* kDefaultUrl = "http://127.0.0.1:8080";

constexpr const char* kHelp = R"(redgectl: inspect and drive a redge server over its HTTP jobs API

usage: redgectl [options] <command> [args]

commands:
  status                      per queue: depth, running jobs, age of the oldest queued job
  jobs [--queue Q] [--state S] [--limit N]
                              list jobs, oldest first: id, queue, state, attempt, created
                              (--limit default 50; --json prints the list)
  show ID                     a job's state, times, attempts, result or error
  trace ID                    a job's timeline: enqueue, leases and holders, events, end,
                              and which readers received the end
  tail ID                     follow a job's events live (SSE) until it ends; a dropped
                              stream is resumed with Last-Event-ID
  enqueue QUEUE JSON [--wait] create a job with payload JSON (- reads it from stdin);
                              --wait follows its events until it ends
  cancel ID                   cancel a queued or running job
  retry ID                    send a failed or canceled job back to its queue (attempt + 1)

options:
  --url URL      server base URL (env REDGE_URL, default http://127.0.0.1:8080)
  --token T      bearer token for --http-token servers (env REDGE_TOKEN)
  --cacert FILE  CA certificates (PEM) of an https:// redge (env REDGE_CACERT)
  --json         machine output: one JSON document per command; tail and enqueue --wait
                 print one JSON object per event per line: {"job","id","event","data"}
  -h, --help     this text

exit codes:
  0  success; for tail and enqueue --wait: the job completed
  1  the server refused (unknown job, conflict, ...) or the job failed or was canceled
  2  bad usage
  3  the server could not be reached (or the event stream could not be resumed)
)";

struct Options {
  std::string url;
  std::string token;
  std::string ca_cert;
  bool json = false;
  bool wait = false;
  std::string queue;
  std::string state;
  std::string limit;
  std::vector<std::string> args;  // command and its positional arguments
};

int Usage(const std::string& message) {
  std::cerr << "redgectl: " << message << "\nrun 'redgectl --help' for usage\n";
  return kExitUsage;
}

// Reports a failed request: exit 3 when nothing answered, else 1 with the server's message.
int Fail(const Reply& r) {
  std::cerr << "redgectl: " << r.ErrorText() << "\n";
  return r.transport_error.empty() ? kExitFailed : kExitUnreachable;
}

// Parses argv; returns -1 to go on, else the exit code to stop with.
int ParseArgs(int argc, char** argv, Options* o) {
  const char* env_url = std::getenv("REDGE_URL");
  const char* env_token = std::getenv("REDGE_TOKEN");
  const char* env_ca = std::getenv("REDGE_CACERT");
  o->ca_cert = env_ca ? env_ca : "";
  o->url = env_url && *env_url ? env_url : kDefaultUrl;
  o->token = env_token ? env_token : "";
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      o->args.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      std::cout << kHelp;
      return kExitOk;
    }
    if (a == "--json") {
      o->json = true;
      continue;
    }
    if (a == "--wait") {
      o->wait = true;
      continue;
    }
    // Options with a value, as "--name value" or "--name=value".
    std::string name = a.substr(0, a.find('='));
    std::string* target = name == "--url"      ? &o->url
                          : name == "--token"  ? &o->token
                          : name == "--cacert" ? &o->ca_cert
                          : name == "--queue"  ? &o->queue
                          : name == "--state"  ? &o->state
                          : name == "--limit"  ? &o->limit
                                               : nullptr;
    if (!target) return Usage("unknown option " + a);
    if (name.size() < a.size()) {
      *target = a.substr(name.size() + 1);
    } else if (i + 1 < argc) {
      *target = argv[++i];
    } else {
      return Usage(name + " needs a value");
    }
  }
  if (o->args.empty()) return Usage("no command given");
  if (o->url.rfind("http://", 0) != 0 && o->url.rfind("https://", 0) != 0) {
    return Usage("--url must start with http:// or https:// (got " + o->url + ")");
  }
  while (o->url.size() > 1 && o->url.back() == '/') o->url.pop_back();
  return -1;
}

// Prints a successful reply: as is with --json, else through `human`.
template <typename F>
int Show(const Options& o, const Reply& r, F human) {
  if (!r.ok()) return Fail(r);
  json body = r.Json();
  if (body.is_discarded()) {
    std::cerr << "redgectl: the server answered with something that is not JSON\n";
    return kExitFailed;
  }
  if (o.json) {
    std::cout << body.dump() << "\n";
  } else {
    human(std::cout, body);
  }
  return kExitOk;
}

// Follows a job's events from the start and prints them; the exit code says how it ended.
int Follow(const Options& o, Api& api, const std::string& id) {
  EventPrinter printer(std::cout, o.json, isatty(STDOUT_FILENO) == 1, id);
  StreamEnd end = api.FollowEvents(id, 0, [&](const SseEvent& ev) { printer.Print(ev); });
  printer.Finish();
  if (!end.message.empty()) std::cerr << "redgectl: " << end.message << "\n";
  return end.exit_code;
}

int Enqueue(const Options& o, Api& api) {
  if (o.args.size() != 3) return Usage("usage: enqueue QUEUE JSON [--wait]");
  std::string text = o.args[2];
  if (text == "-") text.assign(std::istreambuf_iterator<char>(std::cin), {});
  json payload = json::parse(text, nullptr, false);
  if (payload.is_discarded()) return Usage("the payload is not valid JSON: " + o.args[2]);
  Reply r = api.Post("/v1/queues/" + EscapeSegment(o.args[1]) + "/jobs", payload.dump());
  if (!r.ok()) return Fail(r);
  json created = r.Json();
  std::string id = created.value("id", "");
  if (!o.wait) {
    if (o.json) {
      std::cout << created.dump() << "\n";
    } else {
      std::cout << id << "\n";
    }
    return kExitOk;
  }
  if (!o.json) std::cout << "enqueued " << id << " on " << o.args[1] << std::endl;
  return Follow(o, api, id);
}

// Lists jobs page by page (GET /v1/jobs follows its cursor) until --limit jobs or the end.
int Jobs(const Options& o, Api& api) {
  if (o.args.size() != 1) return Usage("usage: jobs [--queue Q] [--state S] [--limit N]");
  int64_t limit = 50;
  if (!o.limit.empty()) {
    char* end = nullptr;
    limit = std::strtoll(o.limit.c_str(), &end, 10);
    if (end != o.limit.c_str() + o.limit.size() || limit < 1 || limit > 1'000'000) {
      return Usage("--limit must be a positive number (got " + o.limit + ")");
    }
  }
  std::string query;
  if (!o.queue.empty()) query += "&queue=" + EscapeSegment(o.queue);
  if (!o.state.empty()) query += "&state=" + EscapeSegment(o.state);
  json jobs = json::array();
  std::string cursor;
  while (static_cast<int64_t>(jobs.size()) < limit) {
    int64_t want = std::min<int64_t>(limit - static_cast<int64_t>(jobs.size()), 1000);
    std::string path = "/v1/jobs?limit=" + std::to_string(want) + query;
    if (!cursor.empty()) path += "&cursor=" + EscapeSegment(cursor);
    Reply r = api.Get(path);
    if (!r.ok()) return Fail(r);
    json page = r.Json();
    if (!page.is_object() || !page.contains("jobs") || !page["jobs"].is_array()) {
      std::cerr << "redgectl: the server answered with something that is not a job list\n";
      return kExitFailed;
    }
    for (auto& job : page["jobs"]) jobs.push_back(std::move(job));
    if (!page.contains("next_cursor") || !page["next_cursor"].is_string()) break;
    cursor = page["next_cursor"].get<std::string>();
  }
  if (o.json) {
    std::cout << jobs.dump() << "\n";
  } else {
    PrintJobList(std::cout, jobs);
  }
  return kExitOk;
}

int Run(const Options& o) {
  Api api(o.url, o.token, o.ca_cert);
  const std::string& cmd = o.args[0];
  auto need_id = [&](const char* usage) { return o.args.size() == 2 ? 0 : Usage(usage); };
  auto job_path = [&]() { return "/v1/jobs/" + EscapeSegment(o.args[1]); };

  if (cmd == "status") {
    if (o.args.size() != 1) return Usage("usage: status");
    return Show(o, api.Get("/v1/queues"), PrintQueues);
  }
  if (cmd == "jobs") return Jobs(o, api);
  if (cmd == "show") {
    if (int rc = need_id("usage: show ID")) return rc;
    return Show(o, api.Get(job_path()), PrintJob);
  }
  if (cmd == "trace") {
    if (int rc = need_id("usage: trace ID")) return rc;
    return Show(o, api.Get(job_path() + "/trace"), PrintTrace);
  }
  if (cmd == "tail") {
    if (int rc = need_id("usage: tail ID")) return rc;
    return Follow(o, api, o.args[1]);
  }
  if (cmd == "enqueue") return Enqueue(o, api);
  if (cmd == "cancel") {
    if (int rc = need_id("usage: cancel ID")) return rc;
    return Show(o, api.Delete(job_path()), [](std::ostream& out, const json& job) {
      out << "canceled " << job.value("id", "") << "\n";
    });
  }
  if (cmd == "retry") {
    if (int rc = need_id("usage: retry ID")) return rc;
    return Show(o, api.Post(job_path() + "/retry", "{}"), PrintJob);
  }
  return Usage("unknown command '" + cmd + "'");
}

}  // namespace
}  // namespace redgectl

int main(int argc, char** argv) {
  redgectl::Options options;
  int rc = redgectl::ParseArgs(argc, argv, &options);
  if (rc >= 0) return rc;
  return redgectl::Run(options);
}
