#include "edge/net/socket_io.h"

#include <sys/socket.h>

#include <cerrno>

namespace redge::net {

bool SendPending(int fd, const std::string& out, size_t* pos, int64_t* sent) {
  while (*pos < out.size()) {
    ssize_t n = ::send(fd, out.data() + *pos, out.size() - *pos, MSG_NOSIGNAL);
    if (n > 0) {
      *pos += static_cast<size_t>(n);
      if (sent) *sent += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  return true;
}

}  // namespace redge::net
