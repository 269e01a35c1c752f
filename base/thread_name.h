// Names the calling thread (what `top -H`, `ps -L`, gdb, perf and /proc/<pid>/task/*/comm
// show), so an operator can tell redge's writer from its event loops at a glance.
//
// Thread-safety: acts on the calling thread only.
#pragma once

#include <string>

namespace redge::base {

// Sets the calling thread's name to `name`, cut to the kernel's 15 characters.
void SetThreadName(const std::string& name);

}  // namespace redge::base
