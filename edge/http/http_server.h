// HttpServer: an HTTP/1.1 server on redge's event loops (edge/net), built for long-lived
// responses: SSE streams, long-polls and lease waits are parked exchanges, not threads.
//
// Why not cpp-httplib's server: it runs one thread per open connection and cannot tell a
// blocked handler that its peer went away, so 10,000 idle SSE streams would be 10,000
// threads and a closed browser tab would hold its thread until the next heartbeat. Here an
// idle stream is a socket on a loop plus a small buffer, and EPOLLRDHUP reports a closed
// peer at once.
//
// What it promises:
//  - Requests of one connection are answered in order (HTTP/1.1 keep-alive and
//    pipelining); a handler may answer later from any thread through its Exchange.
//  - Bad input gets a status and a close, never a crash or unbounded memory: 400 for a
//    malformed request (an HTTP/1.1 request without exactly one Host included), 413 for a
//    body over max_body, 417 for an Expect other than 100-continue, 431 for headers over
//    max_header_bytes, 501 for an unsupported Transfer-Encoding, 505 for non-HTTP/1.x.
//  - Request bodies: Content-Length and chunked. `Expect: 100-continue` is honoured.
//  - A stream whose peer does not read is closed when its unsent output exceeds
//    max_stream_buffer, so a stalled reader never grows memory without bound.
//  - A request head (body) not complete within header_timeout_ms (body_timeout_ms) gets
//    408 and a close; one client address holds at most max_connections_per_address
//    connections (503 beyond). With TLS the head's deadline covers the handshake too.
//
// Thread-safety: Start/Stop from one controlling thread. Route() before Start(). Exchange
// methods are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "store/status.h"

namespace redge::net {
class EventLoop;
class OutputBudget;
class TlsContext;
}  // namespace redge::net
namespace redge::auth {
struct Principal;
}  // namespace redge::auth

namespace redge::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: "/v1/jobs/abc?after=3"
  std::string path;    // percent-decoded path without the query: "/v1/jobs/abc"
  std::string query;   // raw query string without '?'
  Headers headers;     // names lower-cased, in arrival order
  std::string body;    // decoded (chunked bodies are joined)
  std::string peer;    // "ip:port" of the client
  // Values captured by {name} segments of the matched route, in order.
  std::vector<std::string> params;
  // Headers the filter wants on whatever response this request gets (CORS): added to a
  // filter's own Response, a routing 404/405 and the handler's reply or stream alike.
  Headers response_headers;
  // Who sent it, set by the access layer before a guarded route's handler runs (JobsApi:
  // access_routes.cc); null for public routes.
  std::shared_ptr<const auth::Principal> principal;

  // Case-insensitive header lookup; nullopt if absent.
  std::optional<std::string_view> Header(std::string_view name) const;
  // Percent-decoded query parameter ('+' is a space); nullopt if absent.
  std::optional<std::string> Query(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;  // Content-Length and Date are added by the server
  std::string body;
  // A filter's response only: sent this long after the request (a failed credential held
  // by an AuthThrottle); the connection serves nothing else meanwhile.
  std::chrono::milliseconds hold{0};
};

// One request's answer. Handlers receive it as a shared_ptr and may keep it (a long-poll
// keeps it until an event or its timeout). Exactly one of Reply() or StartStream() takes
// effect; later calls are ignored.
class Exchange {
 public:
  virtual ~Exchange() = default;
  // A complete response.
  virtual void Reply(Response response) = 0;
  // Starts a streamed response (Transfer-Encoding: chunked): status and headers now,
  // body by Write(). The connection serves no further requests after End().
  virtual void StartStream(int status, Headers headers) = 0;
  // Headers added to the response Reply() or StartStream() sends later (the server uses
  // it for Request::response_headers). Ignored once either has happened.
  virtual void AddHeaders(Headers headers) = 0;
  // Appends to a started stream. Returns false once the peer is gone or the stream was
  // closed (for being over max_stream_buffer or by End()).
  virtual bool Write(std::string_view bytes) = 0;
  // Ends the stream (terminating chunk), then closes the connection once it is flushed.
  virtual void End() = 0;
  // Bytes given to Write() (framing included) that the peer has not received yet.
  virtual size_t buffered() const = 0;
  // Runs `fn` once, on the loop thread, when buffered() is `low_water` or less (posted at
  // once if it already is): how a stream paces its writes to its reader. Replaces an
  // earlier `fn`; never runs once the exchange is closed.
  virtual void OnDrain(size_t low_water, std::function<void()> fn) = 0;
  // Runs `fn` once, on the loop thread, when the peer disconnects or the server stops
  // before the exchange finished. Runs at once if that already happened.
  virtual void OnClose(std::function<void()> fn) = 0;
  // True once nothing more can be sent: after Reply() or End(), or once the stream was
  // closed, the peer left or the server stopped.
  virtual bool closed() const = 0;
  // The loop this exchange lives on, for timers (heartbeats, long-poll timeouts).
  virtual net::EventLoop& loop() = 0;
  // Runs `task` on that loop, from any thread (completions of asynchronous store work).
  // Returns false and drops `task` once the server has stopped and the loop is gone.
  virtual bool Post(std::function<void()> task) = 0;
  // "ip:port" of the peer.
  virtual const std::string& peer() const = 0;
};

using Handler = std::function<void(Request& request, std::shared_ptr<Exchange> exchange)>;

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 picks an ephemeral port (see HttpServer::port())
  int io_threads = 2;
  size_t max_body = 1u << 20;           // --max-body: 413 beyond it
  size_t max_header_bytes = 64u << 10;  // request line + headers: 431 beyond it
  size_t max_stream_buffer = 8u << 20;  // unsent bytes of one stream before it is closed
  int max_connections = 20000;
  // Connections from one client address (0 = no limit): more get 503 and a close.
  int max_connections_per_address = 1024;
  // Slowloris: a request head must be complete this long after its first byte (after the
  // connection opened, for the first request), and its body this long after the head;
  // else 408 and a close. An idle keep-alive connection between requests is governed by
  // keep_alive_idle_seconds instead.
  int header_timeout_ms = 10'000;
  int body_timeout_ms = 60'000;
  int keep_alive_idle_seconds = 75;  // an idle keep-alive connection is closed after this
  // The process-wide budget of unsent output (shared with RESP); null = none. Must
  // outlive the server.
  net::OutputBudget* output_budget = nullptr;
  // HTTPS: every connection speaks TLS (edge/net/tls.h); null = plain HTTP.
  std::shared_ptr<net::TlsContext> tls;
};

struct HttpStats {
  std::atomic<int64_t> connections_accepted{0};
  std::atomic<int64_t> open_connections{0};
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> open_streams{0};
  std::atomic<int64_t> rejected_connections{0};
  std::atomic<int64_t> request_timeouts{0};  // 408s for a head or body not sent in time
};

class HttpServer {
 public:
  explicit HttpServer(HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Adds a route. `pattern` is a path whose segments may be "{name}" (one segment,
  // captured into Request::params). The first matching route wins. A path that matches a
  // route under another method gets 405 with Allow; no match gets 404. HEAD is not routed.
  void Route(std::string method, std::string pattern, Handler handler);
  // Called for every request before routing (CORS, auth, correlation ids); returning a
  // Response answers the request without routing. Headers the filter puts in
  // Request::response_headers go on every response to the request, either way.
  void SetFilter(std::function<std::optional<Response>(Request&)> filter);

  store::Status Start();
  // Stops accepting, closes every connection (running OnClose callbacks), joins threads.
  void Stop();
  int port() const { return port_; }
  const HttpStats& stats() const { return stats_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  HttpOptions options_;
  HttpStats stats_;
  int port_ = 0;
};

}  // namespace redge::http
