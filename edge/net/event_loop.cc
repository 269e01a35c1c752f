#include "edge/net/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "base/loop_thread.h"

namespace redge::net {

EventLoop::EventLoop() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // nullptr marks the wake fd
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
}

EventLoop::~EventLoop() {
  if (wakefd_ >= 0) close(wakefd_);
  if (epfd_ >= 0) close(epfd_);
}

void EventLoop::Stop() {
  stop_ = true;
  Post([] {});
}

void EventLoop::Post(std::function<void()> task) {
  bool wake;
  {
    std::lock_guard lock(tasks_mu_);
    tasks_.push_back(std::move(task));
    // On the loop thread no wake-up is needed: Run() polls without waiting while tasks
    // are pending.
    wake = !wake_pending_ && !InLoopThread();
    if (wake) wake_pending_ = true;
  }
  if (wake) {
    uint64_t one = 1;
    ssize_t n = write(wakefd_, &one, sizeof(one));
    (void)n;  // EAGAIN means the counter is already non-zero: the loop will wake
  }
}

void EventLoop::RunTasks() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(tasks_mu_);
    tasks.swap(tasks_);
    wake_pending_ = false;
  }
  for (auto& t : tasks) t();
}

bool EventLoop::Watch(int fd, uint32_t events, FdHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::Modify(int fd, uint32_t events, FdHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::Unwatch(int fd) { epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

EventLoop::TimerId EventLoop::RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  TimerId id = next_timer_++;
  auto when = Clock::now() + delay;
  timers_.emplace(std::make_pair(when, id), std::move(fn));
  timer_deadlines_[id] = when;
  return id;
}

void EventLoop::CancelTimer(TimerId id) {
  auto it = timer_deadlines_.find(id);
  if (it == timer_deadlines_.end()) return;
  timers_.erase({it->second, id});
  timer_deadlines_.erase(it);
}

int EventLoop::NextTimeoutMs() {
  if (timers_.empty()) return -1;
  auto delta = timers_.begin()->first.first - Clock::now();
  if (delta <= Clock::duration::zero()) return 0;
  // Round up so a timer never fires early.
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(delta).count());
}

void EventLoop::RunDueTimers() {
  auto now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_deadlines_.erase(node.key().second);
    node.mapped()();
  }
}

void EventLoop::Run() {
  thread_id_ = std::this_thread::get_id();
  // From here on this thread serves many clients: the store refuses to make it wait
  // (base/loop_thread.h, Store::Exec).
  base::ScopedEventLoopThread loop_thread;
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  while (!stop_) {
    bool tasks_pending;
    {
      std::lock_guard lock(tasks_mu_);
      tasks_pending = !tasks_.empty();
    }
    int n = epoll_wait(epfd_, events, kMaxEvents, tasks_pending ? 0 : NextTimeoutMs());
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        uint64_t v;
        ssize_t r = read(wakefd_, &v, sizeof(v));
        (void)r;
        continue;
      }
      static_cast<FdHandler*>(events[i].data.ptr)->OnEvents(events[i].events);
    }
    RunTasks();
    RunDueTimers();
  }
  RunTasks();
}

}  // namespace redge::net
