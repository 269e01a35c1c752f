// A fault-injection shim for the accept-loop test (tests/integration/test_http_small.py):
// LD_PRELOADed into redge, it makes the first N accept4() calls fail with a chosen errno,
// as a kernel out of buffers or a firewall would, then gets out of the way.
//
//   REDGE_FAULT_ACCEPT4="<errno>,<count>"
#include <dlfcn.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace {

using Accept4 = int (*)(int, sockaddr*, socklen_t*, int);
std::atomic<int> remaining{-1};
int fault_errno = 0;

void Configure() {
  int expected = -1;
  const char* spec = std::getenv("REDGE_FAULT_ACCEPT4");
  int err = 0, count = 0;
  if (spec == nullptr || std::sscanf(spec, "%d,%d", &err, &count) != 2) count = 0;
  fault_errno = err;
  remaining.compare_exchange_strong(expected, count);
}

}  // namespace

extern "C" int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  static auto real = reinterpret_cast<Accept4>(dlsym(RTLD_NEXT, "accept4"));
  if (remaining.load() < 0) Configure();
  int left = remaining.load();
  while (left > 0) {
    if (remaining.compare_exchange_weak(left, left - 1)) {
      errno = fault_errno;
      return -1;
    }
  }
  return real(fd, addr, len, flags);
}
