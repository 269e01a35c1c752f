// redge: the server. Opens the store, starts the listeners, runs until SIGTERM/SIGINT;
// SIGHUP reopens the log file and reloads the credential files (API keys, JWKS, stream-token
// keys). Also `redge new-key` and `redge rotate-stream-key` (docs/security.md).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>

#include "edge/auth/access_control.h"
#include "edge/auth/api_keys.h"
#include "edge/config.h"
#include "edge/fd_budget.h"
#include "edge/http/channels_api.h"
#include "edge/http/http_server.h"
#include "edge/http/jobs_api.h"
#include "edge/jobs/celery_bridge.h"
#include "edge/jobs/durable_channels.h"
#include "edge/jobs/job_service.h"
#include "edge/log.h"
#include "edge/metrics.h"
#include "edge/net/output_budget.h"
#include "edge/net/tls.h"
#include "edge/resp/server.h"
#include "edge/systemd_notify.h"
#include "store/store.h"
#include "store/strings.h"

extern char** environ;

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

redge::auth::AccessOptions AccessOptionsOf(const redge::Config& config) {
  redge::auth::AccessOptions o;
  o.http_token = config.http_token;
  o.api_keys_file = config.api_keys;
  o.jwt_secret = config.jwt_secret;
  o.jwt_jwks_file = config.jwt_jwks;
  o.jwt.issuer = config.jwt_issuer;
  o.jwt.audience = config.jwt_audience;
  o.jwt.clock_skew_s = static_cast<int64_t>(config.jwt_clock_skew_s);
  o.jwt.owner_claim = config.jwt_owner_claim;
  o.jwt.roles_claim = config.jwt_roles_claim;
  o.jwt.default_grants.clear();
  if (config.jwt_default_role != "none") {
    std::stringstream in(config.jwt_default_role);
    for (std::string item; std::getline(in, item, ',');) {
      if (auto g = redge::auth::ParseGrant(item)) o.jwt.default_grants.push_back(*g);
    }
  }
  o.data_dir = config.data_dir;
  o.stream_token_ttl_ms = static_cast<int64_t>(config.stream_token_ttl_s * 1000);
  return o;
}

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
    // The store's own lines begin with "store: " (store.h, Options::log).
    const bool own = line.rfind("store: ", 0) == 0;
    Log(kLevels[std::clamp(level, 0, 4)], own ? "store" : "rocksdb",
        {{"line", own ? line.substr(7) : line}});
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
  jo.events_stream_template = config.events_stream_template;
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

  // Durable channels: PUBLISHes on matching channels are kept as streams (in the publish's
  // own write), for late readers over RESP (XREAD) and HTTP.
  redge::jobs::ChannelOptions co;
  co.globs = config.durable_channels;
  co.history_count = config.channel_history_count;
  co.history_ms = static_cast<int64_t>(config.channel_history_s * 1000);
  auto channels = std::make_unique<redge::jobs::DurableChannels>(store.get(), co);
  channels->Start();
  // The Celery bridge's observers, too, are in place before any client connects.
  std::unique_ptr<redge::jobs::CeleryBridge> celery;
  if (config.celery_bridge) {
    redge::jobs::CeleryOptions cel;
    cel.result_prefix = config.celery_result_prefix;
    cel.unacked_key = config.celery_unacked_key;
    cel.key_prefix = config.celery_key_prefix;
    cel.control_exchange = config.celery_control_exchange;
    celery = std::make_unique<redge::jobs::CeleryBridge>(store.get(), jobs.get(), cel, &metrics);
    if (auto s = celery->Start(); !s.ok()) {
      Log(lvl::critical, "cannot start the Celery bridge", {{"error", s.message()}});
      return 1;
    }
  }

  // Credentials of the HTTP API (and the stream-token keys, kept in the data directory).
  auto access_created = redge::auth::AccessControl::Create(AccessOptionsOf(config));
  if (!access_created.ok()) {
    Log(lvl::critical, "cannot load the access control settings",
        {{"error", access_created.status().message().substr(4)}});
    return 1;
  }
  std::unique_ptr<redge::auth::AccessControl> access = std::move(access_created.value());

  // TLS for both listeners, from one certificate.
  std::shared_ptr<redge::net::TlsContext> tls;
  if (redge::TlsConfigured(config)) {
    auto created =
        redge::net::TlsContext::Create({config.tls_cert, config.tls_key, config.tls_client_ca});
    if (!created.ok()) {
      Log(lvl::critical, "cannot set up TLS", {{"error", created.status().message().substr(4)}});
      return 1;
    }
    tls = std::move(created.value());
    Log(lvl::info, "TLS", {{"certificate", tls->Describe()}});
  }

  std::unique_ptr<redge::http::HttpServer> http;
  std::unique_ptr<redge::http::JobsApi> api;
  std::unique_ptr<redge::http::ChannelsApi> channels_api;
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
    ho.tls = tls;
    redge::http::JobsApiOptions ao;
    ao.access = access.get();
    ao.sse_heartbeat_ms = static_cast<int64_t>(config.sse_heartbeat_s * 1000);
    ao.sse_max_streams = config.sse_max_streams;
    ao.cors_origins = config.cors_origins;
    ao.celery = celery.get();
    http = std::make_unique<redge::http::HttpServer>(ho);
    api = std::make_unique<redge::http::JobsApi>(jobs.get(), store.get(), ao, &metrics);
    api->Register(*http);
    channels_api = std::make_unique<redge::http::ChannelsApi>(channels.get(), api.get(), ao);
    channels_api->Register(*http);
    auto s = http->Start();
    if (!s.ok()) {
      Log(lvl::critical, "cannot start HTTP listener", {{"error", s.message()}});
      return 1;
    }
    Log(lvl::info, "HTTP listening",
        {{"addr", config.http_host + ":" + std::to_string(http->port())},
         {"auth", access->Describe()},
         {"tls", tls ? "on" : "off"}});
  }

  std::unique_ptr<redge::resp::RespServer> resp;
  if (config.resp_enabled) {
    redge::resp::RespOptions ro;
    ro.host = config.resp_host;
    ro.port = config.resp_port;
    ro.requirepass = config.requirepass;
    ro.io_threads = config.resp_threads;
    ro.max_clients = fds.resp_max_clients;
    ro.output_budget = &output_budget;
    ro.output_limits.pubsub.hard = static_cast<uint64_t>(config.pubsub_output_limit);
    // Validated by LoadConfig; it wins over pubsub-output-limit for what it names.
    (void)redge::resp::ParseOutputLimits(config.client_output_buffer_limit, &ro.output_limits);
    ro.limits.max_bulk_len = config.max_bulk_len;
    ro.data_dir = config.data_dir;
    ro.fsync = config.fsync;
    ro.tls = tls;
    ro.aclfile = config.aclfile;
    ro.acl_users = config.acl_users;
    resp = std::make_unique<redge::resp::RespServer>(store.get(), ro);
    auto s = resp->Start();
    if (!s.ok()) {
      Log(lvl::critical, "cannot start RESP listener", {{"error", s.message()}});
      return 1;
    }
    const bool resp_open = resp->acl().default_open();
    if (resp_open && !redge::IsLoopbackHost(config.resp_host) && !config.insecure) {
      // The ACL file left the default user without a password on a public address.
      Log(lvl::critical,
          "refusing to listen for RESP on a non-loopback address while the default user needs "
          "no password (set one in the ACL file or with --requirepass, or pass --insecure)",
          {{"addr", config.resp_host}});
      return 1;
    }
    Log(lvl::info, "RESP listening",
        {{"addr", config.resp_host + ":" + std::to_string(resp->port())},
         {"auth", !resp_open ? (config.aclfile.empty() && config.acl_users.empty() ? "requirepass"
                                                                                   : "acl users")
                             : "none"},
         {"tls", tls ? "on" : "off"}});
    if (resp_open && redge::HttpAuthConfigured(config)) {
      // Every HTTP job lives in the store the RESP port serves: without a password there,
      // anyone who can reach it reads, changes or deletes (FLUSHALL) what the token guards.
      Log(lvl::warn,
          "HTTP credentials are set but RESP needs no password: the RESP listener is open to "
          "anyone who can reach it, and it can read, change and delete every job (FLUSHALL); "
          "set --requirepass or ACL users (--aclfile), or --resp off",
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
    if (sig == SIGHUP) {
      redge::ReopenLogs();  // logrotate renamed the log file: write to a new one
      // Credential files: a broken file keeps its previous contents (and says so).
      for (const std::string& error : access->Reload()) {
        Log(lvl::err, "reload: kept the previous credentials", {{"error", error}});
      }
      if (api) api->RecheckCredentials();  // streams of revoked API keys end
      if (tls) {                           // a renewed certificate: new connections use it
        if (auto s = tls->Reload(); !s.ok()) {
          Log(lvl::err, "reload: kept the previous TLS certificate",
              {{"error", s.message().substr(4)}});
        } else {
          Log(lvl::info, "TLS reloaded", {{"certificate", tls->Describe()}});
        }
      }
      Log(lvl::info, "reloaded", {{"http_auth", access->Describe()}});
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
  if (!args.empty() && args[0] == "new-key") {
    // redge new-key ROLE QUEUE_GLOB [NAME]: a fresh API key, and the line for --api-keys.
    if (args.size() < 3 || args.size() > 4) {
      std::cerr << "usage: redge new-key ROLE QUEUE_GLOB [NAME]\n"
                   "  ROLE: admin, producer, worker, reader or metrics\n";
      return 2;
    }
    auto key = redge::auth::MakeApiKey(args[1], args[2], args.size() == 4 ? args[3] : "");
    if (!key.ok()) {
      std::cerr << "redge: " << key.status().message().substr(4) << "\n";
      return 2;
    }
    std::cout << "# The key (give it to the client; it is not stored anywhere):\n"
              << key->key << "\n"
              << "# The line to add to the --api-keys file (then SIGHUP redge):\n"
              << key->line << "\n";
    return 0;
  }
  if (!args.empty() && args[0] == "rotate-stream-key") {
    // redge rotate-stream-key DATA_DIR [GRACE_SECONDS]: a new stream-token key; tokens of
    // the old one stay valid for the grace period (default 3600 s). SIGHUP redge after.
    int64_t grace_s = 3600;
    if (args.size() < 2 || args.size() > 3 ||
        (args.size() == 3 && (!redge::store::strings::ParseInt64(args[2], &grace_s) ||
                              grace_s < 0 || grace_s > 30 * 86400))) {
      std::cerr << "usage: redge rotate-stream-key DATA_DIR [GRACE_SECONDS (0..2592000, default "
                   "3600)]\n";
      return 2;
    }
    auto s = redge::auth::StreamTokenKeys::Rotate(args[1], grace_s * 1000, NowMs());
    if (!s.ok()) {
      std::cerr << "redge: " << s.message().substr(4) << "\n";
      return 1;
    }
    std::cout << "rotated; send SIGHUP to the running redge to use the new key\n";
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
