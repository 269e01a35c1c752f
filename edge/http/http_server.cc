// HttpServer: the listener (an acceptor thread plus io_threads event loops, the same shape
// as the RESP listener) and routing. The per-connection protocol is in http_connection.cc,
// the wire format in http_codec.cc.
#include "edge/http/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/thread_name.h"
#include "edge/auth_guard.h"
#include "edge/http/http_connection.h"
#include "edge/http/http_parser.h"
#include "edge/http/http_response.h"
#include "edge/log.h"
#include "edge/net/event_loop.h"
#include "edge/net/listener.h"
#include "edge/net/tls.h"

namespace redge::http {
namespace {

using internal::Admission;
using internal::ErrorResponse;
using internal::HttpConnection;
using internal::IoLoop;

// "/v1/jobs/abc" -> {"v1", "jobs", "abc"}; "/" -> {""}.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    path.remove_prefix(slash + 1);
  }
}

bool IsParam(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

std::string PeerName(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

struct HttpServer::Impl {
  struct RouteEntry {
    std::string method;
    std::vector<std::string> segments;  // "{name}" marks a parameter
    Handler handler;
  };

  std::vector<RouteEntry> routes;
  std::function<std::optional<Response>(Request&)> filter;
  internal::ServerCore core;
  std::vector<std::unique_ptr<IoLoop>> loops;
  std::thread acceptor;
  int listen_fd = -1;
  bool started = false;
  size_t next_loop = 0;

  void AcceptLoop();
  void Dispatch(Request& request, const std::shared_ptr<Exchange>& exchange);
  void Route(Request& request, const std::shared_ptr<Exchange>& exchange);
};

HttpServer::HttpServer(HttpOptions options)
    : impl_(std::make_unique<Impl>()), options_(std::move(options)) {
  impl_->core.options = &options_;
  impl_->core.stats = &stats_;
  impl_->core.dispatch = [impl = impl_.get()](Request& request,
                                              const std::shared_ptr<Exchange>& exchange) {
    impl->Dispatch(request, exchange);
  };
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(std::string method, std::string pattern, Handler handler) {
  Impl::RouteEntry entry;
  entry.method = std::move(method);
  for (std::string_view s : SplitPath(pattern)) entry.segments.emplace_back(s);
  entry.handler = std::move(handler);
  impl_->routes.push_back(std::move(entry));
}

void HttpServer::SetFilter(std::function<std::optional<Response>(Request&)> filter) {
  impl_->filter = std::move(filter);
}

store::Status HttpServer::Start() {
  if (impl_->started || impl_->core.stopping) {
    return store::Status::InvalidArgument("HTTP server already started");
  }
  auto listening = net::ListenTcp(options_.host, options_.port, "HTTP");
  if (!listening.ok()) return listening.status();
  impl_->listen_fd = listening->fd;
  port_ = listening->port;

  int n = std::max(1, options_.io_threads);
  for (int i = 0; i < n; ++i) {
    auto io = std::make_unique<IoLoop>();
    io->loop = std::make_unique<net::EventLoop>();
    io->ref = std::make_shared<internal::LoopRef>();
    io->ref->loop = io->loop.get();
    impl_->loops.push_back(std::move(io));
  }
  for (size_t i = 0; i < impl_->loops.size(); ++i) {
    impl_->loops[i]->thread = base::StartNamedThread(
        "redge-http-" + std::to_string(i), [l = impl_->loops[i]->loop.get()] { l->Run(); });
  }
  impl_->acceptor =
      base::StartNamedThread("redge-http-acc", [impl = impl_.get()] { impl->AcceptLoop(); });
  impl_->started = true;
  return store::Status::OK();
}

void HttpServer::Impl::AcceptLoop() {
  const HttpOptions& options = *core.options;
  HttpStats& stats = *core.stats;
  while (!core.stopping) {
    sockaddr_storage ss{};
    int fd = net::AcceptConnection(listen_fd, core.stopping, &ss, "HTTP");
    if (fd < 0) break;
    stats.connections_accepted++;
    std::string peer = PeerName(ss);
    // Counted here, not on the loop, so a burst of accepts cannot overshoot the limits.
    Admission admission = Admission::kAccepted;
    if (stats.open_connections.load() >= options.max_connections) {
      admission = Admission::kServerFull;
    } else if (options.max_connections_per_address > 0) {
      std::lock_guard lock(core.addresses_mu);
      int& n = core.connections_per_address[PeerAddress(peer)];
      if (n >= options.max_connections_per_address) {
        admission = Admission::kAddressFull;
      } else {
        n++;
      }
    }
    if (admission == Admission::kAccepted) {
      stats.open_connections++;
    } else {
      stats.rejected_connections++;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    SSL* ssl = nullptr;
    if (options.tls) {
      // The handshake itself runs on the connection's loop, inside its first reads.
      ssl = options.tls->NewSession(fd);
      if (ssl == nullptr) {
        ::close(fd);
        if (admission == Admission::kAccepted) {
          stats.open_connections--;
          std::lock_guard lock(core.addresses_mu);
          if (--core.connections_per_address[PeerAddress(peer)] <= 0) {
            core.connections_per_address.erase(PeerAddress(peer));
          }
        }
        continue;
      }
    }
    IoLoop* io = loops[next_loop++ % loops.size()].get();
    io->loop->Post([this, io, fd, ssl, peer = std::move(peer), admission]() mutable {
      auto c = std::make_shared<HttpConnection>(&core, io, fd, ssl, std::move(peer), admission);
      c->Start();
    });
  }
}

void HttpServer::Impl::Dispatch(Request& request, const std::shared_ptr<Exchange>& exchange) {
  try {
    std::optional<Response> response;
    if (filter) response = filter(request);
    if (!request.response_headers.empty()) exchange->AddHeaders(request.response_headers);
    if (response && response->hold.count() > 0) {
      auto held = std::make_shared<Response>(std::move(*response));
      exchange->loop().RunAfter(held->hold,
                                [exchange, held] { exchange->Reply(std::move(*held)); });
      return;
    }
    if (response) {
      exchange->Reply(std::move(*response));
      return;
    }
    Route(request, exchange);
  } catch (const std::exception& e) {
    Log(spdlog::level::err, "http handler threw",
        {{"method", request.method}, {"path", request.path}, {"error", e.what()}});
    exchange->Reply(ErrorResponse(500, "internal_server_error", "internal server error"));
  } catch (...) {
    Log(spdlog::level::err, "http handler threw",
        {{"method", request.method}, {"path", request.path}});
    exchange->Reply(ErrorResponse(500, "internal_server_error", "internal server error"));
  }
}

void HttpServer::Impl::Route(Request& request, const std::shared_ptr<Exchange>& exchange) {
  // HEAD is answered by the GET route; the connection drops the body.
  std::string_view method = request.method;
  if (method == "HEAD") method = "GET";
  std::vector<std::string_view> segments;
  if (!request.path.empty() && request.path.front() == '/') segments = SplitPath(request.path);
  std::vector<std::string> allowed;
  std::vector<std::string> params;
  for (const RouteEntry& route : routes) {
    if (segments.empty() || route.segments.size() != segments.size()) continue;
    params.clear();
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      if (IsParam(route.segments[i])) {
        match = !segments[i].empty();
        params.emplace_back(segments[i]);
      } else {
        match = route.segments[i] == segments[i];
      }
    }
    if (!match) continue;
    if (route.method == method) {
      request.params = std::move(params);
      route.handler(request, exchange);
      return;
    }
    if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
      allowed.push_back(route.method);
    }
  }
  if (allowed.empty()) {
    exchange->Reply(ErrorResponse(404, "not_found", "no route for " + request.path));
    return;
  }
  if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end() &&
      std::find(allowed.begin(), allowed.end(), "HEAD") == allowed.end()) {
    allowed.push_back("HEAD");
  }
  std::string allow;
  for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
  Response response = ErrorResponse(405, "method_not_allowed",
                                    request.method + " is not allowed on " + request.path);
  response.headers.emplace_back("Allow", allow);
  exchange->Reply(std::move(response));
}

void HttpServer::Stop() {
  if (impl_->core.stopping.exchange(true)) return;
  if (impl_->listen_fd >= 0) shutdown(impl_->listen_fd, SHUT_RDWR);  // wakes accept4
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  if (impl_->listen_fd >= 0) ::close(impl_->listen_fd);
  impl_->listen_fd = -1;
  // Connections handed over by the acceptor were posted before these tasks, so every
  // connection exists by the time its loop closes them all.
  for (auto& io : impl_->loops) {
    IoLoop* p = io.get();
    p->loop->Post([p] {
      std::vector<std::shared_ptr<HttpConnection>> all;
      all.reserve(p->conns.size());
      for (auto& [ptr, conn] : p->conns) all.push_back(conn);
      for (auto& conn : all) {
        conn->FlushForShutdown();  // replies queued by a drain go out first
        conn->Close();             // runs OnClose of unfinished exchanges
      }
    });
    p->loop->Stop();
  }
  for (auto& io : impl_->loops) {
    if (io->thread.joinable()) io->thread.join();
  }
  // From here on an Exchange kept by someone else cannot reach the loop.
  for (auto& io : impl_->loops) {
    std::lock_guard lock(io->ref->mu);
    io->ref->loop = nullptr;
  }
  impl_->loops.clear();
}

}  // namespace redge::http
