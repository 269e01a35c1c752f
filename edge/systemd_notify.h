// SystemdNotifier: tells the service manager what redge is doing, over the sd_notify(3)
// datagram protocol, without linking libsystemd (one less runtime dependency, and the
// protocol is a single sendto()).
//
// What it promises:
// - When $NOTIFY_SOCKET names a socket (a filesystem path, or "@name" for the Linux
//   abstract namespace), each call sends one datagram of newline-separated KEY=VALUE
//   assignments to it: Ready() "READY=1\nSTATUS=...", Stopping() "STOPPING=1",
//   Status(text) "STATUS=text", Watchdog() "WATCHDOG=1".
// - When $NOTIFY_SOCKET is unset or empty (not started by systemd, tests, a terminal),
//   every call is a no-op that returns false.
// - A send never blocks (MSG_DONTWAIT): a stuck manager must not stall startup or
//   shutdown. Errors (no such socket, queue full, ...) are logged at debug and otherwise
//   ignored; the return value says whether the datagram was sent, for tests.
// - watchdog_interval() is $WATCHDOG_USEC when there is a socket, the value is a
//   positive integer and $WATCHDOG_PID is unset or equals getpid() (the variables may
//   have been inherited by a process the manager does not watch); zero otherwise,
//   meaning "no watchdog".
// - The environment is read once, in the constructor, and not modified (unsetenv is
//   not thread-safe and redge starts no children that could inherit it by mistake).
//
// SystemdWatchdog sends WATCHDOG=1 every watchdog_interval()/2 (the half systemd
// recommends) from its own thread, woken by a condition variable, until Stop(). It
// proves the process is alive and scheduled, not that every event loop makes progress.
//
// Thread-safety: a SystemdNotifier is immutable after construction; all its methods may
// be called from any thread concurrently (each is one sendto on a socket it owns).
// SystemdWatchdog::Stop may be called from any thread, more than once.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace redge {

class SystemdNotifier {
 public:
  // Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID.
  SystemdNotifier();
  // The same from explicit values (nullopt = variable unset).
  SystemdNotifier(std::optional<std::string> notify_socket,
                  std::optional<std::string> watchdog_usec,
                  std::optional<std::string> watchdog_pid);
  ~SystemdNotifier();

  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // True when there is a socket to send to.
  bool enabled() const { return fd_ >= 0; }
  // Zero when the manager expects no watchdog pings.
  std::chrono::microseconds watchdog_interval() const { return watchdog_interval_; }

  // "READY=1", plus "STATUS=<status>" when `status` is not empty.
  bool Ready(std::string_view status) const;
  bool Stopping() const;
  bool Status(std::string_view text) const;
  bool Watchdog() const;
  // Any assignments, e.g. "RELOADING=1"; newline-separated.
  bool Notify(std::string_view message) const;

 private:
  int fd_ = -1;
  sockaddr_un addr_{};
  socklen_t addr_len_ = 0;
  std::string socket_name_;  // for log lines
  std::chrono::microseconds watchdog_interval_{0};
};

class SystemdWatchdog {
 public:
  // Starts the ping thread when notifier->watchdog_interval() is non-zero and the
  // notifier is enabled; otherwise does nothing. `notifier` must outlive this object.
  explicit SystemdWatchdog(const SystemdNotifier* notifier);
  // Stop().
  ~SystemdWatchdog();

  SystemdWatchdog(const SystemdWatchdog&) = delete;
  SystemdWatchdog& operator=(const SystemdWatchdog&) = delete;

  // True when the ping thread was started.
  bool running() const { return started_; }
  // Wakes the thread and joins it; no WATCHDOG=1 is sent after Stop returns.
  void Stop();

 private:
  void Run(std::chrono::microseconds period);

  const SystemdNotifier* notifier_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  bool started_ = false;
  std::once_flag joined_;
  std::thread thread_;
};

}  // namespace redge
