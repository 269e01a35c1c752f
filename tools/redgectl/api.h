// The HTTP side of redgectl: one redge server, plain requests and SSE streams.
#ifndef REDGE_TOOLS_REDGECTL_API_H_
#define REDGE_TOOLS_REDGECTL_API_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace httplib {
class Client;
}

namespace redgectl {

// Process exit codes, shared by every command (documented in --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // server error, unknown job, failed job
inline constexpr int kExitUsage = 2;        // bad arguments or not supported
inline constexpr int kExitUnreachable = 3;  // no HTTP answer from the server

// The outcome of one request. `transport_error` is set when no HTTP answer came back at
// all (refused, timed out, reset): callers turn it into exit code 3.
struct Reply {
  int status = 0;
  std::string body;
  std::string transport_error;

  bool ok() const { return transport_error.empty() && status >= 200 && status < 300; }
  // The body as JSON (a discarded value when it is not JSON).
  nlohmann::json Json() const;
  // "message (code, HTTP n)" from the server's error document, or the raw status line.
  std::string ErrorText() const;
};

// One Server-Sent Event as redge sends it.
struct SseEvent {
  int64_t id = 0;
  std::string event;
  nlohmann::json data;
};

// How a followed stream ended.
struct StreamEnd {
  int exit_code = kExitOk;
  std::string message;  // set for errors
};

class Api {
 public:
  // `url` is scheme://host[:port]; `token` may be empty.
  // `ca_cert`: PEM CAs of an https:// server's certificate; empty: the system's.
  Api(const std::string& url, const std::string& token, const std::string& ca_cert = "");
  ~Api();

  const std::string& url() const { return url_; }

  Reply Get(const std::string& path);
  Reply Post(const std::string& path, const std::string& json_body);
  Reply Delete(const std::string& path);

  // Follows /v1/jobs/{id}/events from event id `after` until the terminal event, calling
  // `on_event` per event. A dropped stream (server restart, proxy timeout, no heartbeat
  // within the read timeout) is resumed with Last-Event-ID, so no event is lost or shown
  // twice; it gives up after `give_up_seconds` without a successful reconnect.
  StreamEnd FollowEvents(const std::string& job_id, int64_t after,
                         const std::function<void(const SseEvent&)>& on_event,
                         double give_up_seconds = 30);

 private:
  Reply Wrap(const void* result);  // takes an httplib::Result*

  std::string url_;
  std::string token_;
  std::string ca_cert_;
  std::unique_ptr<httplib::Client> client_;
};

// Percent-encodes a path segment (job ids and queue names are plain, but a user can type
// anything; a stray '/' or '?' must not change the route).
std::string EscapeSegment(const std::string& s);

}  // namespace redgectl

#endif  // REDGE_TOOLS_REDGECTL_API_H_
