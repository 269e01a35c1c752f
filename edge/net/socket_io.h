// SendPending: the non-blocking write loop every connection (RESP, HTTP) runs on flush.
//
// Thread-safety: a free function; the caller owns the socket and the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace redge::net {

// Sends out[*pos, out.size()) on the non-blocking socket `fd` until it is all sent or the
// socket would block, advancing *pos and adding the bytes sent to *sent (if given).
// Returns false on a socket error: the peer is gone and the caller closes.
bool SendPending(int fd, const std::string& out, size_t* pos, int64_t* sent = nullptr);

}  // namespace redge::net
