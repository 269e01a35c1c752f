#include "edge/systemd_notify.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "base/thread_name.h"
#include "edge/log.h"

namespace redge {
namespace {

namespace lvl = spdlog::level;

std::optional<std::string> GetEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

// A strictly positive decimal integer, as sd_watchdog_enabled accepts; nullopt otherwise.
std::optional<uint64_t> ParsePositive(const std::string& text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v == 0) return std::nullopt;
  return v;
}

}  // namespace

SystemdNotifier::SystemdNotifier()
    : SystemdNotifier(GetEnv("NOTIFY_SOCKET"), GetEnv("WATCHDOG_USEC"), GetEnv("WATCHDOG_PID")) {}

SystemdNotifier::SystemdNotifier(std::optional<std::string> notify_socket,
                                 std::optional<std::string> watchdog_usec,
                                 std::optional<std::string> watchdog_pid) {
  if (!notify_socket || notify_socket->empty()) return;
  socket_name_ = *notify_socket;
  const std::string& path = socket_name_;
  // sd_notify accepts absolute paths and '@' (abstract namespace) only; newer managers
  // also hand out "vsock:" addresses, which a service on the host never gets.
  if (path[0] != '/' && path[0] != '@') {
    Log(lvl::debug, "systemd notify: unsupported NOTIFY_SOCKET, ignored", {{"socket", path}});
    return;
  }
  if (path.size() > sizeof(addr_.sun_path) - (path[0] == '/' ? 1 : 0)) {
    Log(lvl::debug, "systemd notify: NOTIFY_SOCKET too long, ignored", {{"socket", path}});
    return;
  }
  addr_.sun_family = AF_UNIX;
  std::memcpy(addr_.sun_path, path.data(), path.size());
  // An abstract name starts with a NUL byte and is exactly as long as the address says
  // (no terminator); a path is NUL-terminated, and the terminator is counted.
  if (path[0] == '@') {
    addr_.sun_path[0] = '\0';
    addr_len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  } else {
    addr_len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  }
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    Log(lvl::debug, "systemd notify: cannot create socket",
        {{"socket", path}, {"error", std::strerror(errno)}});
    return;
  }

  if (!watchdog_usec) return;
  auto usec = ParsePositive(*watchdog_usec);
  if (!usec) {
    Log(lvl::debug, "systemd notify: invalid WATCHDOG_USEC, no watchdog",
        {{"value", *watchdog_usec}});
    return;
  }
  if (watchdog_pid) {
    // The manager sets WATCHDOG_PID to the process it watches; anyone else that
    // inherited the variables must not ping on its behalf.
    auto pid = ParsePositive(*watchdog_pid);
    if (!pid || *pid != static_cast<uint64_t>(getpid())) {
      Log(lvl::debug, "systemd notify: WATCHDOG_PID is not this process, no watchdog",
          {{"watchdog_pid", *watchdog_pid}, {"pid", std::to_string(getpid())}});
      return;
    }
  }
  watchdog_interval_ = std::chrono::microseconds(*usec);
}

SystemdNotifier::~SystemdNotifier() {
  if (fd_ >= 0) ::close(fd_);
}

bool SystemdNotifier::Notify(std::string_view message) const {
  if (fd_ < 0) return false;
  // MSG_NOSIGNAL: no SIGPIPE whatever the process's signal setup; MSG_DONTWAIT: a full
  // manager queue costs a lost notification, not a stalled startup or shutdown.
  ssize_t n = sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                     reinterpret_cast<const sockaddr*>(&addr_), addr_len_);
  if (n < 0) {
    Log(lvl::debug, "systemd notify: send failed",
        {{"socket", socket_name_},
         {"message", std::string(message)},
         {"error", std::strerror(errno)}});
    return false;
  }
  return true;
}

bool SystemdNotifier::Ready(std::string_view status) const {
  std::string message = "READY=1";
  if (!status.empty()) {
    message += "\nSTATUS=";
    message += status;
  }
  return Notify(message);
}

bool SystemdNotifier::Stopping() const { return Notify("STOPPING=1"); }

bool SystemdNotifier::Status(std::string_view text) const {
  return Notify("STATUS=" + std::string(text));
}

bool SystemdNotifier::Watchdog() const { return Notify("WATCHDOG=1"); }

SystemdWatchdog::SystemdWatchdog(const SystemdNotifier* notifier) : notifier_(notifier) {
  auto interval = notifier_->watchdog_interval();
  if (!notifier_->enabled() || interval.count() <= 0) return;
  // Half the interval, as sd_watchdog_enabled(3) recommends: one lost or late ping does
  // not get the service killed.
  auto period = std::max(interval / 2, std::chrono::microseconds(1));
  started_ = true;
  thread_ = base::StartNamedThread("redge-watchdog", [this, period] { Run(period); });
}

SystemdWatchdog::~SystemdWatchdog() { Stop(); }

void SystemdWatchdog::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  std::call_once(joined_, [this] {
    if (thread_.joinable()) thread_.join();
  });
}

void SystemdWatchdog::Run(std::chrono::microseconds period) {
  std::unique_lock<std::mutex> lock(mu_);
  // The manager arms the watchdog when READY=1 arrives; ping at once so the first
  // deadline does not depend on how long ago that was.
  auto next = std::chrono::steady_clock::now();
  while (!stop_) {
    if (std::chrono::steady_clock::now() >= next) {
      // Sent under the lock so no ping can follow Stop(); the send never blocks.
      notifier_->Watchdog();
      next += period;
      // After a stall (suspend, overload) ping on the current schedule, not in a burst.
      auto now = std::chrono::steady_clock::now();
      if (next < now) next = now + period;
    }
    cv_.wait_until(lock, next, [this] { return stop_; });
  }
}

}  // namespace redge
