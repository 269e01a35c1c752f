#include "base/loop_thread.h"

namespace redge::base {

namespace {
thread_local bool t_event_loop = false;
}  // namespace

void MarkEventLoopThread(bool on) { t_event_loop = on; }
bool OnEventLoopThread() { return t_event_loop; }

}  // namespace redge::base
