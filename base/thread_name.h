// Names threads (what `top -H`, `ps -L`, gdb, perf and /proc/<pid>/task/*/comm show), so an
// operator can tell redge's writer from its event loops at a glance.
//
// Thread-safety: safe from any thread. StartNamedThread names the new thread from the
// caller before it returns, so the name is visible as soon as the server
// that started it reports ready (naming from inside the new thread raced with that).
#pragma once

#include <string>
#include <thread>
#include <utility>

namespace redge::base {

// Sets `thread`'s name to `name`, cut to the kernel's 15 characters.
void SetThreadName(std::thread& thread, const std::string& name);

// Starts a thread running `fn` whose name is already `name` when this returns.
template <typename Fn>
std::thread StartNamedThread(const std::string& name, Fn&& fn) {
  std::thread thread(std::forward<Fn>(fn));
  SetThreadName(thread, name);
  return thread;
}

}  // namespace redge::base
