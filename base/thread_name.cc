#include "base/thread_name.h"

#include <pthread.h>

namespace redge::base {

void SetThreadName(const std::string& name) {
  // The kernel keeps 16 bytes with the terminating NUL; a longer name is refused outright.
  const std::string cut = name.substr(0, 15);
  (void)pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace redge::base
