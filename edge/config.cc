#include "edge/config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "edge/auth/principal.h"
#include "edge/decimal.h"
#include "edge/resp/output_limits.h"
#include "store/store.h"
#include "store/strings.h"

namespace redge {
namespace {

using store::Status;

struct Setting {
  const char* name;  // flag name without "--"
  const char* help;
  bool is_bool;
  // Parses `value` into the config; returns an error text or "".
  std::function<std::string(Config&, const std::string&)> apply;
};

std::string ParseInt(const std::string& v, int64_t lo, int64_t hi, int64_t* out) {
  if (!store::strings::ParseInt64(v, out) || *out < lo || *out > hi) {
    return "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  }
  return "";
}

// An event-loop thread count (--io-threads, --resp-threads): 1 to 64.
std::string ParseThreads(const std::string& v, int* out) {
  int64_t n = 0;
  std::string e = ParseInt(v, 1, 64, &n);
  if (e.empty()) *out = static_cast<int>(n);
  return e;
}

// A duration in seconds, fractions allowed (tests use sub-second leases and heartbeats).
std::string ParseSeconds(const std::string& v, double lo, double hi, double* out) {
  double d = 0;
  if (!ParseDecimal(v, &d) || !(d >= lo && d <= hi)) {
    std::ostringstream o;
    o << "must be a number of seconds in [" << lo << ", " << hi << "]";
    return o.str();
  }
  *out = d;
  return "";
}

std::string ParseAddress(const std::string& v, std::string* out) {
  if (v == "off") {
    *out = v;
    return "";
  }
  auto pos = v.rfind(':');
  int64_t port;
  if (pos == std::string::npos || pos == 0 ||
      !ParseInt(v.substr(pos + 1), 0, 65535, &port).empty()) {
    return "must be ADDR:PORT or off";
  }
  *out = v;
  return "";
}

// A key template must name its placeholder exactly once.
std::string ParseTemplate(const std::string& v, const char* placeholder, std::string* out) {
  size_t at = v.find(placeholder);
  if (at == std::string::npos || v.find(placeholder, at + 1) != std::string::npos) {
    return std::string("must contain ") + placeholder + " exactly once";
  }
  *out = v;
  return "";
}

// A comma-separated list of origins as browsers send them: scheme://host[:port], no
// path; scheme and host are lower-cased. Empty entries are skipped.
std::string ParseOrigins(const std::string& v, std::vector<std::string>* out) {
  std::vector<std::string> origins;
  std::stringstream in(v);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t b = item.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    item = item.substr(b, item.find_last_not_of(" \t") - b + 1);
    for (char& ch : item) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
    size_t sep = item.find("://");
    std::string scheme = item.substr(0, sep);
    if (sep == std::string::npos || (scheme != "http" && scheme != "https") ||
        item.size() == sep + 3 || item.find_first_of("/?#@ ", sep + 3) != std::string::npos) {
      return "must be a comma-separated list of origins like https://app.example.com";
    }
    origins.push_back(item);
  }
  *out = std::move(origins);
  return "";
}

// A comma-separated list of channel globs (Redis's PSUBSCRIBE rules); blanks around
// entries are dropped, empty entries skipped.
std::string ParseGlobs(const std::string& v, std::vector<std::string>* out) {
  std::vector<std::string> globs;
  std::stringstream in(v);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t b = item.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    item = item.substr(b, item.find_last_not_of(" \t") - b + 1);
    if (item.size() > 1024) return "has a glob longer than 1024 bytes";
    globs.push_back(item);
  }
  *out = std::move(globs);
  return "";
}

// N[,SECONDS]: N in [1, 10^9] messages; SECONDS (fractions allowed) in (0, 10 years].
std::string ParseHistory(const std::string& v, int64_t* count, double* seconds) {
  const char* kRule =
      "must be N[,SECONDS]: 1 to 1000000000 messages, and optionally seconds "
      "in (0, 315360000]";
  size_t comma = v.find(',');
  int64_t n = 0;
  if (!store::strings::ParseInt64(v.substr(0, comma), &n) || n < 1 || n > 1'000'000'000) {
    return kRule;
  }
  double s = 0;
  if (comma != std::string::npos &&
      (!ParseDecimal(v.substr(comma + 1), &s) || !(s > 0 && s <= 315360000))) {
    return kRule;
  }
  *count = n;
  *seconds = s;
  return "";
}

// A key name or prefix: 1-256 printable ASCII characters, no spaces.
std::string ParseKeyName(const std::string& v, std::string* out) {
  if (v.empty() || v.size() > 256) return "must be 1-256 characters";
  for (char ch : v) {
    if (ch <= ' ' || ch > '~') return "must be printable ASCII without spaces";
  }
  *out = v;
  return "";
}

// A file path; empty means none.
std::string ParsePath(const std::string& v, std::string* out) {
  *out = v;
  return "";
}

std::string ParseBool(const std::string& v, bool* out) {
  if (v == "yes" || v == "true" || v == "1" || v.empty()) {
    *out = true;
  } else if (v == "no" || v == "false" || v == "0") {
    *out = false;
  } else {
    return "must be yes/no";
  }
  return "";
}

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> settings = {
      {"resp", "RESP listener ADDR:PORT, or off (default 127.0.0.1:6379)", false,
       [](Config& c, const std::string& v) { return ParseAddress(v, &c.resp); }},
      {"http", "HTTP listener ADDR:PORT, or off (default 127.0.0.1:8080)", false,
       [](Config& c, const std::string& v) { return ParseAddress(v, &c.http); }},
      {"http-token",
       "bearer token HTTP clients must send: printable ASCII without spaces (default none)", false,
       [](Config& c, const std::string& v) -> std::string {
         // Empty means no token. Anything else must be sendable as `Bearer <token>`: a
         // token of spaces (or with them) would protect nothing or could never match.
         for (char ch : v) {
           if (ch <= ' ' || ch > '~') return "must be printable ASCII without spaces";
         }
         c.http_token = v;
         return "";
       }},
      {"api-keys",
       "file of API keys with roles, one per line: ROLE QUEUE_GLOB SHA256_HEX_OF_KEY [NAME] "
       "(redge new-key makes one; reloaded on SIGHUP; default none)",
       false, [](Config& c, const std::string& v) { return ParsePath(v, &c.api_keys); }},
      {"jwt-secret", "HS256 secret for JWT bearer tokens, at least 32 bytes (default none)", false,
       [](Config& c, const std::string& v) -> std::string {
         if (!v.empty() && v.size() < 32) return "must be at least 32 bytes";
         c.jwt_secret = v;
         return "";
       }},
      {"jwt-jwks",
       "JWKS file of RS256/ES256 public keys for JWT bearer tokens, e.g. Google's for Firebase "
       "(reloaded on SIGHUP; needs jwt-audience; default none)",
       false, [](Config& c, const std::string& v) { return ParsePath(v, &c.jwt_jwks); }},
      {"jwt-issuer", "required JWT iss (default: any)", false,
       [](Config& c, const std::string& v) -> std::string {
         c.jwt_issuer = v;
         return "";
       }},
      {"jwt-audience", "required JWT aud, e.g. the Firebase project id (default: any)", false,
       [](Config& c, const std::string& v) -> std::string {
         c.jwt_audience = v;
         return "";
       }},
      {"jwt-owner-claim", "JWT claim that owns the jobs a user enqueues (default sub)", false,
       [](Config& c, const std::string& v) -> std::string {
         if (v.empty()) return "must not be empty";
         c.jwt_owner_claim = v;
         return "";
       }},
      {"jwt-roles-claim",
       "JWT claim (dotted path) listing ROLE or ROLE:QUEUE_GLOB grants (default none)", false,
       [](Config& c, const std::string& v) -> std::string {
         c.jwt_roles_claim = v;
         return "";
       }},
      {"jwt-default-role",
       "grants of a JWT without the roles claim: ROLE[:QUEUE_GLOB],... or none (default "
       "producer:*)",
       false,
       [](Config& c, const std::string& v) -> std::string {
         if (v != "none") {
           std::stringstream in(v);
           std::string item;
           while (std::getline(in, item, ',')) {
             if (!auth::ParseGrant(item)) {
               return "must be ROLE[:QUEUE_GLOB],... (roles admin, producer, worker, reader, "
                      "metrics) or none";
             }
           }
         }
         c.jwt_default_role = v;
         return "";
       }},
      {"jwt-clock-skew", "seconds of clock skew allowed on JWT exp/nbf/iat (default 60)", false,
       [](Config& c, const std::string& v) {
         return ParseSeconds(v, 0, 3600, &c.jwt_clock_skew_s);
       }},
      {"stream-token-ttl",
       "seconds a job's stream_token is valid (default 3600; POST /v1/jobs/{id}/stream-token "
       "mints a fresh one)",
       false,
       [](Config& c, const std::string& v) {
         return ParseSeconds(v, 1, 30.0 * 86400, &c.stream_token_ttl_s);
       }},
      {"tls-cert",
       "PEM certificate chain: both listeners speak TLS 1.2+ (reloaded on SIGHUP; default none)",
       false, [](Config& c, const std::string& v) { return ParsePath(v, &c.tls_cert); }},
      {"tls-key", "PEM private key of tls-cert (default none)", false,
       [](Config& c, const std::string& v) { return ParsePath(v, &c.tls_key); }},
      {"tls-client-ca",
       "PEM CA certificates: clients must present a certificate they signed (mutual TLS; "
       "default none)",
       false, [](Config& c, const std::string& v) { return ParsePath(v, &c.tls_client_ca); }},
      {"user",
       "a RESP ACL user as in redis.conf: NAME RULES... (e.g. \"worker on >pw ~q:* +@list\"); may "
       "be given many times; not together with aclfile (default none)",
       false,
       [](Config& c, const std::string& v) -> std::string {
         const size_t name_end = v.find_first_of(" \t");
         if (v.empty() || name_end == 0) return "must be NAME followed by ACL rules";
         c.acl_users.push_back(v);
         return "";
       }},
      {"aclfile",
       "RESP ACL users in Redis's aclfile format (user NAME RULES...); ACL LOAD and ACL SAVE "
       "use it (default none)",
       false, [](Config& c, const std::string& v) { return ParsePath(v, &c.aclfile); }},
      {"cors-origins",
       "comma-separated origins (https://app.example.com) browsers may call the HTTP API from "
       "(default none: no CORS headers)",
       false, [](Config& c, const std::string& v) { return ParseOrigins(v, &c.cors_origins); }},
      {"lease-timeout", "seconds a worker holds a job without a sign of life (default 60)", false,
       [](Config& c, const std::string& v) {
         return ParseSeconds(v, 0.05, 86400, &c.lease_timeout_s);
       }},
      {"max-attempts", "leases a job gets before it fails with 'worker lost' (default 3)", false,
       [](Config& c, const std::string& v) { return ParseInt(v, 1, 1000, &c.max_attempts); }},
      {"result-ttl", "seconds a finished job, its events and result are kept (default 3600)", false,
       [](Config& c, const std::string& v) {
         return ParseSeconds(v, 1, 365.0 * 86400, &c.result_ttl_s);
       }},
      {"sse-heartbeat", "seconds between SSE heartbeat comments (default 15)", false,
       [](Config& c, const std::string& v) {
         return ParseSeconds(v, 0.05, 3600, &c.sse_heartbeat_s);
       }},
      {"sse-max-streams", "open SSE streams before new ones get 503 (default 10000)", false,
       [](Config& c, const std::string& v) { return ParseInt(v, 1, 1000000, &c.sse_max_streams); }},
      {"max-body", "largest HTTP request body in bytes (default 1048576)", false,
       [](Config& c, const std::string& v) {
         return ParseInt(v, 1, int64_t{1} << 30, &c.max_body);
       }},
      {"http-header-timeout",
       "seconds a client has to send a complete request head (slowloris: 408 and a close; "
       "default 10)",
       false,
       [](Config& c, const std::string& v) {
         return ParseSeconds(v, 0.05, 3600, &c.http_header_timeout_s);
       }},
      {"http-body-timeout",
       "seconds a client has to send a request body after its head (default 60)", false,
       [](Config& c, const std::string& v) {
         return ParseSeconds(v, 0.05, 3600, &c.http_body_timeout_s);
       }},
      {"http-max-conns-per-ip",
       "HTTP connections one client address may hold, 0 for no limit (default 1024; raise it "
       "behind a reverse proxy, whose connections all share its address)",
       false,
       [](Config& c, const std::string& v) {
         return ParseInt(v, 0, 10'000'000, &c.http_max_conns_per_ip);
       }},
      {"max-event-bytes",
       "largest job event data (a worker's event, a result) in bytes of JSON (default 1048576)",
       false,
       [](Config& c, const std::string& v) {
         return ParseInt(v, 65536, int64_t{64} << 20, &c.max_event_bytes);
       }},
      {"queue-key-template", "queue list key (default redge:queue:{queue})", false,
       [](Config& c, const std::string& v) {
         return ParseTemplate(v, "{queue}", &c.queue_key_template);
       }},
      {"response-key-template", "key a worker SETs the result to (default redge:response:{id})",
       false,
       [](Config& c, const std::string& v) {
         return ParseTemplate(v, "{id}", &c.response_key_template);
       }},
      {"progress-channel-template",
       "channel a worker PUBLISHes progress to (default redge:progress:{id})", false,
       [](Config& c, const std::string& v) {
         return ParseTemplate(v, "{id}", &c.progress_channel_template);
       }},
      {"events-stream-template",
       "read-only stream view of a job's events for XRANGE/XREAD (default redge:events:{id})",
       false,
       [](Config& c, const std::string& v) {
         return ParseTemplate(v, "{id}", &c.events_stream_template);
       }},
      {"durable-channels",
       "comma-separated channel globs whose PUBLISHes are also kept in the stream "
       "redge:channel:{channel} for late readers (default none)",
       false, [](Config& c, const std::string& v) { return ParseGlobs(v, &c.durable_channels); }},
      {"channel-history",
       "N[,SECONDS]: messages a durable channel keeps, and optionally for how many seconds "
       "at most (default 1000)",
       false,
       [](Config& c, const std::string& v) {
         return ParseHistory(v, &c.channel_history_count, &c.channel_history_s);
       }},
      {"celery-bridge",
       "on or off: Celery tasks sent through this server become jobs (docs/celery.md; "
       "default on)",
       false,
       [](Config& c, const std::string& v) -> std::string {
         if (v != "on" && v != "off") return "must be on or off";
         c.celery_bridge = v == "on";
         return "";
       }},
      {"celery-result-prefix",
       "key prefix of Celery's Redis result backend (default celery-task-meta-)", false,
       [](Config& c, const std::string& v) { return ParseKeyName(v, &c.celery_result_prefix); }},
      {"celery-unacked-key", "kombu's unacked hash (transport option unacked_key; default unacked)",
       false,
       [](Config& c, const std::string& v) { return ParseKeyName(v, &c.celery_unacked_key); }},
      {"celery-key-prefix",
       "kombu's global_keyprefix transport option, if the Celery app sets one (default none)",
       false,
       [](Config& c, const std::string& v) -> std::string {
         if (!v.empty()) return ParseKeyName(v, &c.celery_key_prefix);
         c.celery_key_prefix.clear();
         return "";
       }},
      {"celery-control-exchange",
       "Celery's control_exchange: revokes go to /<db>.<name>.pidbox (default celery)", false,
       [](Config& c, const std::string& v) { return ParseKeyName(v, &c.celery_control_exchange); }},
      {"data-dir", "directory of the store (default ./redge-data)", false,
       [](Config& c, const std::string& v) -> std::string {
         if (v.empty()) return "must not be empty";
         c.data_dir = v;
         return "";
       }},
      {"fsync", "always, everysec or no (default everysec)", false,
       [](Config& c, const std::string& v) -> std::string {
         if (!store::ParseFsync(v)) return "must be always, everysec or no";
         c.fsync = v;
         return "";
       }},
      {"requirepass", "password RESP clients must AUTH with (default none)", false,
       [](Config& c, const std::string& v) -> std::string {
         c.requirepass = v;
         return "";
       }},
      {"insecure", "allow non-loopback listeners without TLS or credentials", true,
       [](Config& c, const std::string& v) { return ParseBool(v, &c.insecure); }},
      {"io-threads", "HTTP event-loop threads (default 2)", false,
       [](Config& c, const std::string& v) { return ParseThreads(v, &c.io_threads); }},
      // One loop by default: as in Redis, commands of different connections then run in
      // the order they arrive. Clients rely on it without knowing (Redis's own tests send a
      // blocking command on one connection, a push on another, and expect the first to be
      // served first); with two loops, the second connection's command sometimes ran first.
      {"resp-threads",
       "RESP event-loop threads (default 1: commands of all connections run in arrival "
       "order, as in Redis; more loops parse in parallel, but commands that arrive at the "
       "same moment on different connections may then run in either order)",
       false, [](Config& c, const std::string& v) { return ParseThreads(v, &c.resp_threads); }},
      {"maxclients", "maximum RESP connections (default 10000)", false,
       [](Config& c, const std::string& v) { return ParseInt(v, 1, 1000000, &c.maxclients); }},
      {"pubsub-output-limit", "bytes a subscriber may lag before it is disconnected (32 MiB)",
       false,
       [](Config& c,
          const std::string&
              v) { return ParseInt(v, 1024, int64_t{1} << 40, &c.pubsub_output_limit); }},
      {"client-output-buffer-limit",
       "RESP output limits as in redis.conf, \"CLASS HARD SOFT SECONDS ...\" (default \"normal 1gb "
       "0 0 pubsub 32mb 8mb 60\"; pubsub-output-limit sets the pubsub hard limit too)",
       false,
       [](Config& c, const std::string& v) -> std::
                                               string {
                                                 resp::OutputLimits check;
                                                 std::string err =
                                                     resp::ParseOutputLimits(v, &check);
                                                 if (!err.empty()) return "is invalid: " + err;
                                                 c.client_output_buffer_limit = v;
                                                 return "";
                                               }},
      {"output-buffer-budget",
       "bytes of unsent output all HTTP and RESP connections may hold together; over it the "
       "slowest readers are closed (default 1073741824)",
       false,
       [](Config& c,
          const std::string&
              v) { return ParseInt(v, int64_t{1} << 20, int64_t{1} << 40, &c.output_buffer_budget); }},
      {"proto-max-bulk-len", "largest RESP bulk string in bytes (512 MiB)", false,
       [](Config& c, const std::string& v) {
         return ParseInt(v, 1024, int64_t{1} << 32, &c.max_bulk_len);
       }},
      {"log-format", "text or json (default: text on a terminal, else json)", false,
       [](Config& c, const std::string& v) -> std::string {
         if (v != "text" && v != "json") return "must be text or json";
         c.log_format = v;
         return "";
       }},
      {"log-level", "trace, debug, info, warn, error (default info)", false,
       [](Config& c, const std::string& v) -> std::string {
         static const char* kLevels[] = {"trace", "debug",    "info", "warn",
                                         "error", "critical", "off"};
         if (std::find(std::begin(kLevels), std::end(kLevels), v) == std::end(kLevels)) {
           return "must be one of trace, debug, info, warn, error, critical, off";
         }
         c.log_level = v;
         return "";
       }},
      {"log-file", "file to append logs to, reopened on SIGHUP (default: stderr)", false,
       [](Config& c, const std::string& v) -> std::string {
         c.log_file = v;
         return "";
       }},
  };
  return settings;
}

const Setting* FindSetting(const std::string& name) {
  for (const auto& s : Settings()) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

// Settings that may be given many times (`user`) accumulate: each occurrence gets its own
// key, "name\x1f<position>", in the maps that collect them; Apply drops the suffix.
bool Repeatable(const std::string& name) { return name == "user"; }

std::string RepeatKey(const std::string& name, size_t position) {
  if (!Repeatable(name)) return name;
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), "\x1f%08zu", position);
  return name + suffix;
}

std::string EnvName(const std::string& name) {
  std::string out = "REDGE_";
  for (char c : name) out += c == '-' ? '_' : static_cast<char>(toupper(c));
  return out;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Reads `path` into name -> (value, line).
Status ReadFile(const std::string& path, std::map<std::string, std::pair<std::string, int>>* out) {
  std::ifstream f(path);
  if (!f) return Status::InvalidArgument("cannot read config file " + path);
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    n++;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t sep = line.find_first_of(" \t=");
    std::string name = line.substr(0, sep);
    std::string value = sep == std::string::npos ? "" : Trim(line.substr(sep));
    if (!value.empty() && value[0] == '=') value = Trim(value.substr(1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (name == "config" || !FindSetting(name)) {
      return Status::InvalidArgument(path + ":" + std::to_string(n) + ": unknown setting '" + name +
                                     "'");
    }
    (*out)[RepeatKey(name, n)] = {value, n};
  }
  return Status::OK();
}

Status Apply(Config* c, const std::string& key, const std::string& value,
             const std::string& where) {
  const std::string name = key.substr(0, key.find('\x1f'));
  const Setting* s = FindSetting(name);
  if (!s) return Status::InvalidArgument(where + ": unknown setting '" + name + "'");
  std::string err = s->apply(*c, value);
  if (!err.empty()) {
    // Secrets are not repeated back into a terminal or a log.
    const bool secret =
        name == "http-token" || name == "requirepass" || name == "jwt-secret" || name == "user";
    return Status::InvalidArgument(where + ": " + name + " " + err +
                                   (secret ? "" : " (got '" + value + "')"));
  }
  return Status::OK();
}

}  // namespace

bool HttpAuthConfigured(const Config& c) {
  return !c.http_token.empty() || !c.api_keys.empty() || !c.jwt_secret.empty() ||
         !c.jwt_jwks.empty();
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

std::string ConfigHelp() {
  std::ostringstream o;
  o << "usage: redge [--config FILE] [--NAME VALUE ...]\n"
       "       redge check-config FILE\n"
       "       redge new-key ROLE QUEUE_GLOB [NAME]\n"
       "       redge rotate-stream-key DATA_DIR [GRACE_SECONDS]\n"
       "       redge --version | --help\n\n"
       "Each setting is also REDGE_<NAME> in the environment and `NAME VALUE` in the config\n"
       "file; precedence: flag > environment > file > default.\n\n";
  o << "  --config FILE\n      config file to read\n";
  for (const auto& s : Settings()) {
    o << "  --" << s.name << (s.is_bool ? "" : " VALUE") << "\n      " << s.help << "\n";
  }
  return o.str();
}

// Settings that are valid alone but not together (shared by LoadConfig and check-config,
// so that a file check-config accepts is one redge starts with).
Status CheckCombination(const Config& c) {
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return Status::InvalidArgument("--tls-cert and --tls-key go together");
  }
  if (!c.acl_users.empty() && !c.aclfile.empty()) {
    // As Redis: two places defining users is a configuration error waiting to happen.
    return Status::InvalidArgument(
        "users are defined both with `user` and in --aclfile: define them in one place");
  }
  if (!c.tls_client_ca.empty() && c.tls_cert.empty()) {
    return Status::InvalidArgument("--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (!c.jwt_jwks.empty() && c.jwt_audience.empty()) {
    // Public JWKS (Google's for Firebase) sign the tokens of every project that uses them:
    // only the audience tells this deployment's users from everyone else's.
    return Status::InvalidArgument(
        "--jwt-jwks needs --jwt-audience (e.g. the Firebase project id): the keys of a public "
        "JWKS sign other applications' tokens too");
  }
  return Status::OK();
}

store::Status CheckConfigFile(const std::string& path) {
  std::map<std::string, std::pair<std::string, int>> values;
  Status s = ReadFile(path, &values);
  if (!s.ok()) return s;
  Config c;
  for (auto& [name, v] : values) {
    s = Apply(&c, name, v.first, path + ":" + std::to_string(v.second));
    if (!s.ok()) return s;
  }
  return CheckCombination(c);
}

store::Result<Config> LoadConfig(const ConfigSource& source) {
  // Flags first (they also name the config file).
  std::map<std::string, std::string> flags;
  for (size_t i = 0; i < source.args.size(); ++i) {
    std::string a = source.args[i];
    if (a.rfind("--", 0) != 0) return Status::InvalidArgument("unexpected argument '" + a + "'");
    a = a.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    const Setting* s = FindSetting(a);
    if (a != "config" && !s) return Status::InvalidArgument("unknown flag '--" + a + "'");
    if (!has_value && !(s && s->is_bool)) {
      if (i + 1 >= source.args.size()) {
        return Status::InvalidArgument("flag '--" + a + "' needs a value");
      }
      value = source.args[++i];
    }
    flags[RepeatKey(a, i)] = value;
  }
  Config c;
  std::string file;
  if (flags.count("config")) {
    file = flags["config"];
  } else if (auto it = source.env.find("REDGE_CONFIG"); it != source.env.end()) {
    file = it->second;
  }
  if (!file.empty()) {
    std::map<std::string, std::pair<std::string, int>> values;
    Status s = ReadFile(file, &values);
    if (!s.ok()) return s;
    for (auto& [name, v] : values) {
      s = Apply(&c, name, v.first, file + ":" + std::to_string(v.second));
      if (!s.ok()) return s;
    }
    c.config_file = file;
  }
  for (auto& [name, value] : source.env) {
    if (name.rfind("REDGE_", 0) != 0 || name == "REDGE_CONFIG") continue;
    bool known = false;
    for (const auto& s : Settings()) {
      if (EnvName(s.name) == name) {
        Status st = Apply(&c, s.name, value, "environment " + name);
        if (!st.ok()) return st;
        known = true;
      }
    }
    // Other REDGE_* variables belong to the tools (REDGE_URL, ...); only names that look
    // like server settings would be typos, and those cannot be told apart, so skip.
    (void)known;
  }
  for (auto& [name, value] : flags) {
    if (name == "config") continue;
    Status s = Apply(&c, name, value, "flag --" + name.substr(0, name.find('\x1f')));
    if (!s.ok()) return s;
  }
  auto split = [](const std::string& addr, std::string* host, int* port) {
    auto pos = addr.rfind(':');
    *host = addr.substr(0, pos);
    if (host->size() >= 2 && host->front() == '[') *host = host->substr(1, host->size() - 2);
    *port = std::stoi(addr.substr(pos + 1));
  };
  if (Status st = CheckCombination(c); !st.ok()) return st;
  // A non-loopback listener needs both encryption and credentials: without TLS every
  // password and token crosses the network in clear; without credentials anyone who can
  // reach the port reads and deletes every job.
  auto refuse = [&](const char* what, const std::string& host, bool auth, const char* auth_flags) {
    std::string missing;
    if (!TlsConfigured(c)) missing = "TLS (--tls-cert, --tls-key)";
    if (!auth) missing += std::string(missing.empty() ? "" : " and without ") + auth_flags;
    return Status::InvalidArgument(std::string("refusing to listen for ") + what +
                                   " on non-loopback address " + host + " without " + missing +
                                   " (pass --insecure to allow it)");
  };
  if (c.resp == "off") {
    c.resp_enabled = false;
  } else {
    split(c.resp, &c.resp_host, &c.resp_port);
    const bool auth = !c.requirepass.empty() || !c.aclfile.empty() || !c.acl_users.empty();
    if (!IsLoopbackHost(c.resp_host) && !c.insecure && (!auth || !TlsConfigured(c))) {
      return refuse("RESP", c.resp_host, auth, "credentials (--requirepass, --user or --aclfile)");
    }
  }
  if (c.http == "off") {
    c.http_enabled = false;
  } else {
    split(c.http, &c.http_host, &c.http_port);
    const bool auth = HttpAuthConfigured(c);
    if (!IsLoopbackHost(c.http_host) && !c.insecure && (!auth || !TlsConfigured(c))) {
      return refuse("HTTP", c.http_host, auth,
                    "credentials (--http-token, --api-keys, --jwt-secret or --jwt-jwks)");
    }
  }
  return c;
}

}  // namespace redge
