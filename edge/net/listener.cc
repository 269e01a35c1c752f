#include "edge/net/listener.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "edge/log.h"

namespace redge::net {

store::Result<Listening> ListenTcp(const std::string& host, int port, const std::string& what) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port_text = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res);
  if (rc != 0) {
    return store::Status::InvalidArgument("cannot resolve " + what + " address " + host + ": " +
                                          gai_strerror(rc));
  }
  Listening out;
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0) {
      out.fd = fd;
      break;
    }
    last_error = strerror(errno);
    ::close(fd);
  }
  freeaddrinfo(res);
  if (out.fd < 0) {
    return store::Status::InvalidArgument("cannot listen for " + what + " on " + host + ":" +
                                          port_text + ": " + last_error);
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(out.fd, reinterpret_cast<sockaddr*>(&ss), &len);
  out.port = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return out;
}

int AcceptConnection(int listen_fd, const std::atomic<bool>& stopping, sockaddr_storage* peer,
                     const char* what) {
  using Clock = std::chrono::steady_clock;
  auto pause = std::chrono::milliseconds(10);
  int64_t failures = 0;  // since the last log line
  Clock::time_point last_log{};
  while (!stopping.load()) {
    socklen_t len = sizeof(*peer);
    int fd =
        accept4(listen_fd, reinterpret_cast<sockaddr*>(peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    const int err = errno;
    if (stopping.load()) break;
    switch (err) {
      case EINTR:
      case EAGAIN:
      case ECONNABORTED:
      case EPROTO:
      case EPERM:
      case ENETDOWN:
      case ENOPROTOOPT:
      case EHOSTDOWN:
      case ENONET:
      case EHOSTUNREACH:
      case EOPNOTSUPP:
      case ENETUNREACH:
        continue;  // that one connection failed; the next may not
      case EBADF:
      case EINVAL:
      case ENOTSOCK:
        Log(spdlog::level::err, "accept loop stopped: the listener is gone",
            {{"listener", what}, {"error", strerror(err)}});
        return -1;
      default:
        break;
    }
    failures++;
    const auto now = Clock::now();
    if (now - last_log >= std::chrono::seconds(10)) {
      Log(spdlog::level::err, "accept failed; retrying (logged at most every 10 s)",
          {{"listener", what}, {"error", strerror(err)}, {"failures", std::to_string(failures)}});
      last_log = now;
      failures = 0;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(1));
  }
  return -1;
}

}  // namespace redge::net
