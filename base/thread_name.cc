#include "base/thread_name.h"

#include <pthread.h>

namespace redge::base {

namespace {
// The kernel keeps 16 bytes with the terminating NUL; a longer name is refused outright.
std::string Cut(const std::string& name) { return name.substr(0, 15); }
}  // namespace

void SetThreadName(std::thread& thread, const std::string& name) {
  (void)pthread_setname_np(thread.native_handle(), Cut(name).c_str());
}

}  // namespace redge::base
