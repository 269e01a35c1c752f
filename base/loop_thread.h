// Which threads are event loops. An event-loop thread serves many clients at once, so it
// must never wait for the store or the disk (DESIGN.md: "nothing on an event-loop thread
// waits for the store"); code that blocks (the store's synchronous Exec, thread forms of
// blocking pops) asks OnEventLoopThread() to catch a caller that breaks the rule.
//
// base/ knows nothing of the loops themselves: edge/net/event_loop.cc marks its thread
// while EventLoop::Run() runs.
//
// Thread-safety: each function acts on the calling thread only (a thread_local flag).
#pragma once

namespace redge::base {

// Marks (true) or unmarks (false) the calling thread as an event-loop thread.
void MarkEventLoopThread(bool on);
// Whether the calling thread is marked as an event-loop thread.
bool OnEventLoopThread();

// Marks the calling thread for the lifetime of this object, then restores what it was.
class ScopedEventLoopThread {
 public:
  ScopedEventLoopThread() : was_(OnEventLoopThread()) { MarkEventLoopThread(true); }
  ~ScopedEventLoopThread() { MarkEventLoopThread(was_); }
  ScopedEventLoopThread(const ScopedEventLoopThread&) = delete;
  ScopedEventLoopThread& operator=(const ScopedEventLoopThread&) = delete;

 private:
  bool was_;
};

}  // namespace redge::base
