// redge: the server. Opens the store, starts the listeners, runs until SIGTERM/SIGINT;
// SIGHUP reopens the log file.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "edge/config.h"
#include "edge/fd_budget.h"
#include "edge/http/http_server.h"
#include "edge/http/jobs_api.h"
#include "edge/jobs/job_service.h"
#include "edge/log.h"
#include "edge/metrics.h"
#include "edge/net/output_budget.h"
#include "edge/resp/server.h"
#include "edge/systemd_notify.h"
#include "store/store.h"

extern char** environ;

namespace {

int Serve(const redge::Config& config) {
  using redge::Log;
  namespace lvl = spdlog::level;
  // Block the shutdown signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // File descriptors: the store's share is reserved first, so connections can never take
  // what RocksDB needs to open its next WAL or table file.
  const int64_t resp_wanted = config.resp_enabled ? config.maxclients : 0;
  // Every SSE stream is a connection; leave room for producers and workers beyond them.
  const int64_t http_wanted = config.http_enabled ? config.sse_max_streams + 1024 : 0;
  const uint64_t nofile = redge::RaiseNofileLimit(redge::kReservedFds + redge::kMaxStoreTableFiles +
                                                  resp_wanted + http_wanted);
  const redge::FdPlan fds = redge::PlanFileDescriptors(nofile, resp_wanted, http_wanted);
  if ((resp_wanted > 0 && fds.resp_max_clients == 0) ||
      (http_wanted > 0 && fds.http_max_connections == 0)) {
    Log(lvl::critical, "too few file descriptors to serve anything",
        {{"rlimit_nofile", std::to_string(nofile)},
         {"needed_at_least",
          std::to_string(redge::kReservedFds + redge::kMinStoreTableFiles + 2)}});
    return 1;
  }
  Log(fds.reduced ? lvl::warn : lvl::info,
      fds.reduced ? "file descriptors: RLIMIT_NOFILE is too low for the configured connection "
                    "limits; they are lowered (raise LimitNOFILE / ulimit -n)"
                  : "file descriptors",
      {{"rlimit_nofile", std::to_string(nofile)},
       {"store_table_files", std::to_string(fds.store_table_files)},
       {"reserved", std::to_string(fds.reserved)},
       {"resp_maxclients", std::to_string(fds.resp_max_clients)},
       {"http_max_connections", std::to_string(fds.http_max_connections)}});

  redge::store::Options so;
  so.dir = config.data_dir;
  so.max_open_files = fds.store_table_files;
  so.fsync = *redge::store::ParseFsync(config.fsync);
  so.log = [](int level, const std::string& line) {
    static const lvl::level_enum kLevels[] = {lvl::debug, lvl::debug, lvl::warn, lvl::err,
                                              lvl::critical};
    Log(kLevels[std::clamp(level, 0, 4)], "rocksdb", {{"line", line}});
  };
  auto opened = redge::store::Store::Open(so);
  if (!opened.ok()) {
    Log(lvl::critical, "cannot open store",
        {{"dir", config.data_dir}, {"error", opened.status().message()}});
    return 1;
  }
  std::unique_ptr<redge::store::Store> store = std::move(opened.value());
  Log(lvl::info, "store open", {{"dir", config.data_dir}, {"fsync", config.fsync}});

  // The jobs layer registers its observers before any client can connect.
  redge::jobs::JobsOptions jo;
  jo.lease_timeout_ms = static_cast<int64_t>(config.lease_timeout_s * 1000);
  jo.max_attempts = static_cast<int>(config.max_attempts);
  jo.result_ttl_ms = static_cast<int64_t>(config.result_ttl_s * 1000);
  jo.queue_key_template = config.queue_key_template;
  jo.response_key_template = config.response_key_template;
  jo.progress_channel_template = config.progress_channel_template;
  jo.max_event_bytes = config.max_event_bytes;
  // One budget for the output all connections hold (RESP and HTTP); declared before the
  // metrics that read it and the servers that use it, so it is destroyed after them.
  redge::net::OutputBudget output_budget(static_cast<size_t>(config.output_buffer_budget));
  // GET /metrics; declared before what updates it so it is destroyed after them.
  redge::Metrics metrics;
  metrics.registry.AddCollector([&output_budget](redge::MetricWriter& w) {
    w.WriteGauge("redge_output_buffer_bytes",
                 "Bytes of output all HTTP and RESP connections hold unsent to their readers.",
                 static_cast<double>(output_budget.total_bytes()));
    w.WriteCounter("redge_output_budget_cuts_total",
                   "Connections closed because the output of all connections together went over "
                   "--output-buffer-budget (the slowest readers first).",
                   static_cast<double>(output_budget.cuts()));
  });
  auto jobs = std::make_unique<redge::jobs::JobService>(store.get(), jo, &metrics);
  if (auto s = jobs->Start(); !s.ok()) {
    Log(lvl::critical, "cannot start the jobs layer", {{"error", s.message()}});
    return 1;
  }

  std::unique_ptr<redge::http::HttpServer> http;
  std::unique_ptr<redge::http::JobsApi> api;
  if (config.http_enabled) {
    redge::http::HttpOptions ho;
    ho.host = config.http_host;
    ho.port = config.http_port;
    ho.io_threads = config.io_threads;
    ho.max_body = static_cast<size_t>(config.max_body);
    ho.output_budget = &output_budget;
    ho.header_timeout_ms = static_cast<int>(config.http_header_timeout_s * 1000);
    ho.body_timeout_ms = static_cast<int>(config.http_body_timeout_s * 1000);
    ho.max_connections_per_address = static_cast<int>(config.http_max_conns_per_ip);
    // SSE streams are paced (sse_routes.cc): one stream buffers at most its high-water mark
    // plus one event, and an event is at most max_event_bytes; so no stored event can be
    // too big for a stream.
    ho.max_stream_buffer = std::max<size_t>(
        ho.max_stream_buffer, static_cast<size_t>(config.max_event_bytes) + (1u << 20));
    ho.max_connections = fds.http_max_connections;
    redge::http::JobsApiOptions ao;
    ao.token = config.http_token;
    ao.sse_heartbeat_ms = static_cast<int64_t>(config.sse_heartbeat_s * 1000);
    ao.sse_max_streams = config.sse_max_streams;
    ao.cors_origins = config.cors_origins;
    http = std::make_unique<redge::http::HttpServer>(ho);
    api = std::make_unique<redge::http::JobsApi>(jobs.get(), store.get(), ao, &metrics);
    api->Register(*http);
    auto s = http->Start();
    if (!s.ok()) {
      Log(lvl::critical, "cannot start HTTP listener", {{"error", s.message()}});
      return 1;
    }
    Log(lvl::info, "HTTP listening",
        {{"addr", config.http_host + ":" + std::to_string(http->port())},
         {"auth", config.http_token.empty() ? "none" : "bearer"}});
  }

  std::unique_ptr<redge::resp::RespServer> resp;
  if (config.resp_enabled) {
    redge::resp::RespOptions ro;
    ro.host = config.resp_host;
    ro.port = config.resp_port;
    ro.requirepass = config.requirepass;
    ro.io_threads = config.io_threads;
    ro.max_clients = fds.resp_max_clients;
    ro.output_budget = &output_budget;
    ro.output_limits.pubsub.hard = static_cast<uint64_t>(config.pubsub_output_limit);
    // Validated by LoadConfig; it wins over pubsub-output-limit for what it names.
    (void)redge::resp::ParseOutputLimits(config.client_output_buffer_limit, &ro.output_limits);
    ro.limits.max_bulk_len = config.max_bulk_len;
    ro.data_dir = config.data_dir;
    ro.fsync = config.fsync;
    resp = std::make_unique<redge::resp::RespServer>(store.get(), ro);
    auto s = resp->Start();
    if (!s.ok()) {
      Log(lvl::critical, "cannot start RESP listener", {{"error", s.message()}});
      return 1;
    }
    Log(lvl::info, "RESP listening",
        {{"addr", config.resp_host + ":" + std::to_string(resp->port())},
         {"auth", config.requirepass.empty() ? "none" : "requirepass"}});
    if (config.requirepass.empty() && !config.http_token.empty()) {
      // Every HTTP job lives in the store the RESP port serves: without a password there,
      // anyone who can reach it reads, changes or deletes (FLUSHALL) what the token guards.
      Log(lvl::warn,
          "--http-token is set but --requirepass is not: the RESP listener is open to anyone "
          "who can reach it, and it can read, change and delete every job (FLUSHALL); set "
          "--requirepass or --resp off",
          {{"resp", config.resp_host + ":" + std::to_string(resp->port())}});
    }
    resp->ExportMetrics(metrics.registry);
  }
  // Tests and scripts that ask for port 0 learn the real ports from this line.
  std::printf("redge ready resp_port=%d http_port=%d\n", resp ? resp->port() : -1,
              http ? http->port() : -1);
  std::fflush(stdout);
  // Under systemd (Type=notify): ready only now that both listeners accept connections;
  // the watchdog (WatchdogSec=) is armed by READY=1, so its pings start here too.
  redge::SystemdNotifier systemd;
  auto addr = [](const std::string& host, int port) { return host + ":" + std::to_string(port); };
  systemd.Ready("serving: http " + (http ? addr(config.http_host, http->port()) : "off") +
                ", resp " + (resp ? addr(config.resp_host, resp->port()) : "off"));
  redge::SystemdWatchdog systemd_watchdog(&systemd);

  while (true) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {  // logrotate renamed the log file: write to a new one
      redge::ReopenLogs();
      continue;
    }
    Log(lvl::info, "shutting down", {{"signal", strsignal(sig)}});
    break;
  }
  // Shutdown begins: no more watchdog pings, then tell systemd (TimeoutStopSec= applies).
  systemd_watchdog.Stop();
  systemd.Stopping();
  // Graceful: /readyz turns 503, open SSE streams get `retry:` and end, parked long-polls
  // and lease waits answer now; then the listeners close and the store flushes.
  if (api) {
    api->SetStopping();
    if (!api->Drain(std::chrono::seconds(5))) {
      Log(lvl::warn, "shutdown: parked requests did not finish in 5 s; closing them");
    }
  }
  if (http) http->Stop();
  if (resp) resp->Stop();
  jobs->Stop();
  store.reset();
  Log(lvl::info, "stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << redge::ConfigHelp();
    return 0;
  }
  if (!args.empty() && args[0] == "--version") {
    std::cout << "redge " << REDGE_VERSION << "\n";
    return 0;
  }
  if (!args.empty() && args[0] == "check-config") {
    if (args.size() != 2) {
      std::cerr << "usage: redge check-config FILE\n";
      return 2;
    }
    auto s = redge::CheckConfigFile(args[1]);
    if (!s.ok()) {
      std::cerr << s.message().substr(4) << "\n";  // drop the "ERR " prefix
      return 1;
    }
    std::cout << args[1] << ": ok\n";
    return 0;
  }
  redge::ConfigSource source;
  source.args = args;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) source.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto config = redge::LoadConfig(source);
  if (!config.ok()) {
    std::cerr << "redge: " << config.status().message().substr(4) << "\n";
    return 2;
  }
  if (auto s = redge::InitLogging(config->log_format, config->log_level, config->log_file);
      !s.ok()) {
    std::cerr << "redge: " << s.message().substr(4) << "\n";
    return 1;
  }
  return Serve(*config);
}
