#include "edge/net/listener.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

}  // namespace redge::net
