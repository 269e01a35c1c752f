// ListenTcp: the listening socket of a server (RESP, HTTP): resolves `host`, binds the
// first address that works with SO_REUSEADDR, listens with a deep backlog.
//
// Thread-safety: a free function; the returned descriptor belongs to the caller.
#pragma once

#include <string>

#include "store/status.h"

namespace redge::net {

struct Listening {
  int fd = -1;
  int port = 0;  // the bound port (the kernel's pick when asked for 0)
};

// `what` names the listener in error messages ("RESP", "HTTP").
store::Result<Listening> ListenTcp(const std::string& host, int port, const std::string& what);

}  // namespace redge::net
