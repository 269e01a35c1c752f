// EventLoop: one thread multiplexing many sockets with epoll, plus cross-thread tasks
// (an eventfd wakes the loop) and one-shot timers. RESP connections live on loops, so an
// idle or blocked client costs a few hundred bytes, not a thread.
//
// Thread-safety: Post(), Stop() and InLoopThread() are safe from any thread. Everything
// else (Watch, Modify, Unwatch, RunAfter, CancelTimer) must be called on the loop thread.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace redge::net {

class FdHandler {
 public:
  virtual ~FdHandler() = default;
  // `events` is the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, ...).
  virtual void OnEvents(uint32_t events) = 0;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs until Stop(); tasks posted before Stop() still run.
  void Run();
  void Stop();
  void Post(std::function<void()> task);
  bool InLoopThread() const { return std::this_thread::get_id() == thread_id_.load(); }

  bool Watch(int fd, uint32_t events, FdHandler* handler);
  bool Modify(int fd, uint32_t events, FdHandler* handler);
  void Unwatch(int fd);

  using TimerId = uint64_t;
  TimerId RunAfter(std::chrono::milliseconds delay, std::function<void()> fn);
  void CancelTimer(TimerId id);

  // Number of pending timers (diagnostics).
  size_t timer_count() const { return timers_.size(); }

 private:
  void RunTasks();
  int NextTimeoutMs();
  void RunDueTimers();

  int epfd_ = -1;
  int wakefd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<std::thread::id> thread_id_{};
  std::mutex tasks_mu_;
  std::vector<std::function<void()>> tasks_;
  bool wake_pending_ = false;  // guarded by tasks_mu_: avoids one eventfd write per Post
  // Timers ordered by deadline; the id breaks ties and names the timer.
  using Clock = std::chrono::steady_clock;
  std::map<std::pair<Clock::time_point, TimerId>, std::function<void()>> timers_;
  std::unordered_map<TimerId, Clock::time_point> timer_deadlines_;
  TimerId next_timer_ = 1;
};

}  // namespace redge::net
