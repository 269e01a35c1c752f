// Config: the server's settings from flags, REDGE_<NAME> environment variables and a
// config file, with precedence flag > env > file > default. Every setting is declared
// once in config.cc's table (name, default, check, help); an unknown setting anywhere is
// an error naming it, never silently ignored.
//
// Config file format: one `name value` or `name = value` per line, `#` comments, names
// as the flags without the leading dashes (e.g. `fsync always`).
//
// Thread-safety: a Config is a value; build it once at startup.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/status.h"

namespace redge {

struct Config {
  std::string resp = "127.0.0.1:6379";  // or "off"
  std::string data_dir = "./redge-data";
  std::string fsync = "everysec";
  std::string requirepass;
  bool insecure = false;
  int io_threads = 2;    // HTTP event loops
  int resp_threads = 1;  // RESP event loops (see --resp-threads)
  int64_t maxclients = 10000;
  int64_t pubsub_output_limit = 32ll << 20;
  std::string client_output_buffer_limit;  // Redis's format; empty = the defaults
  int64_t max_bulk_len = 512ll << 20;
  std::string http = "127.0.0.1:8080";  // or "off"
  std::string http_token;
  // Access control (edge/auth, docs/security.md).
  std::string api_keys;  // --api-keys FILE
  std::string jwt_secret;
  std::string jwt_jwks;
  std::string jwt_issuer;
  std::string jwt_audience;
  std::string jwt_owner_claim = "sub";
  std::string jwt_roles_claim;
  std::string jwt_default_role = "producer:*";  // grants, comma-separated, or "none"
  double jwt_clock_skew_s = 60;
  double stream_token_ttl_s = 3600;
  // TLS on both listeners (edge/net/tls.h).
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // RESP ACL users (edge/resp/acl.h): an ACL file as Redis's `aclfile`.
  std::string aclfile;
  std::vector<std::string> acl_users;     // `user NAME RULES...` settings, in order
  std::vector<std::string> cors_origins;  // exact origins allowed cross-origin; empty = none
  double lease_timeout_s = 60;
  int64_t max_attempts = 3;
  double result_ttl_s = 3600;
  double sse_heartbeat_s = 15;
  int64_t sse_max_streams = 10000;
  int64_t max_body = 1 << 20;
  int64_t max_event_bytes = 1 << 20;
  double http_header_timeout_s = 10;
  double http_body_timeout_s = 60;
  int64_t http_max_conns_per_ip = 1024;
  int64_t output_buffer_budget = int64_t{1} << 30;
  std::string queue_key_template = "redge:queue:{queue}";
  std::string response_key_template = "redge:response:{id}";
  std::string progress_channel_template = "redge:progress:{id}";
  std::string events_stream_template = "redge:events:{id}";
  // Durable channels (edge/jobs/durable_channels.h): globs, and the retention.
  std::vector<std::string> durable_channels;
  int64_t channel_history_count = 1000;
  double channel_history_s = 0;  // 0 = no time limit
  bool celery_bridge = true;
  std::string celery_result_prefix = "celery-task-meta-";
  std::string celery_unacked_key = "unacked";
  std::string celery_key_prefix;
  std::string celery_control_exchange = "celery";
  std::string config_file;
  std::string log_format;  // "text" / "json"; empty = text on a tty, json otherwise
  std::string log_level = "info";
  std::string log_file;  // empty = stderr; reopened on SIGHUP

  // RESP address split into host and port (after Load).
  std::string resp_host;
  int resp_port = 0;
  bool resp_enabled = true;
  // HTTP address split likewise.
  std::string http_host;
  int http_port = 0;
  bool http_enabled = true;
};

struct ConfigSource {
  std::vector<std::string> args;           // argv[1..], flags only
  std::map<std::string, std::string> env;  // the process environment (REDGE_*)
};

// Loads and validates. On error the status message names the setting and its source.
store::Result<Config> LoadConfig(const ConfigSource& source);
// Validates a config file alone (redge check-config FILE).
store::Status CheckConfigFile(const std::string& path);
// The --help text.
std::string ConfigHelp();
// True for loopback hosts (127.0.0.0/8, ::1, localhost).
bool IsLoopbackHost(const std::string& host);
// Whether some HTTP credential is configured (--http-token, --api-keys, --jwt-*).
bool HttpAuthConfigured(const Config& c);
// Whether TLS is configured (--tls-cert and --tls-key).
inline bool TlsConfigured(const Config& c) { return !c.tls_cert.empty(); }

}  // namespace redge
