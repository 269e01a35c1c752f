// ListenTcp: the listening socket of a server (RESP, HTTP): resolves `host`, binds the
// first address that works with SO_REUSEADDR, listens with a deep backlog.
//
// Thread-safety: a free function; the returned descriptor belongs to the caller.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <string>

#include "store/status.h"

namespace redge::net {

struct Listening {
  int fd = -1;
  int port = 0;  // the bound port (the kernel's pick when asked for 0)
};

// `what` names the listener in error messages ("RESP", "HTTP").
store::Result<Listening> ListenTcp(const std::string& host, int port, const std::string& what);

// The accept loops' step: waits for and accepts one connection on the blocking listener
// `listen_fd` (the new socket is non-blocking and close-on-exec) and returns it, or -1
// once `stopping` is set or the listener itself is gone (EBADF, EINVAL, ENOTSOCK: logged
// unless stopping). Everything else is retried, never a reason to stop accepting:
// network errors of a pending connection (ECONNABORTED, EPROTO, EPERM from a firewall,
// ...) at once; running out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM)
// and anything unexpected after a pause (10 ms, doubling to 1 s while it lasts), logged
// at most once per 10 s with a count. Call from one thread per listener.
int AcceptConnection(int listen_fd, const std::atomic<bool>& stopping, sockaddr_storage* peer,
                     const char* what);

}  // namespace redge::net
