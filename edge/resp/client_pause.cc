// CLIENT PAUSE / UNPAUSE: the server-wide pause state, which commands it holds (Redis
// 7.0's processCommand rules), and the release of held clients in order.
#include <chrono>

#include "edge/resp/command.h"
#include "edge/resp/command_meta.h"
#include "edge/resp/connection.h"
#include "edge/resp/server.h"

namespace redge::resp {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void RespServer::Pause(PauseMode mode, int64_t end_ms) {
  {
    std::lock_guard lock(pause_mu_);
    // Redis keeps one pause per purpose and merges a new one into it: the stricter mode,
    // the later end. An end already past means no pause at all.
    const int64_t end = std::max(pause_end_ms_.load(), end_ms);
    if (end < NowMs()) return;
    pause_mode_ = std::max(pause_mode_.load(), static_cast<int>(mode));
    pause_end_ms_ = end;
  }
  store_->SetExpiryPaused(true);
  // The timeout: a timer on the first loop re-checks when this pause's end is reached (a
  // later end, set meanwhile, has a timer of its own).
  if (loops_.empty()) return;
  net::EventLoop* loop = loops_.front().get();
  const int64_t delay = std::max<int64_t>(0, end_ms - NowMs() + 1);
  loop->Post([this, loop, delay] {
    loop->RunAfter(std::chrono::milliseconds(delay), [this] { pause_mode(); });
  });
}

RespServer::PauseMode RespServer::pause_mode() {
  const int mode = pause_mode_.load(std::memory_order_acquire);
  if (mode == 0) return PauseMode::kOff;
  if (pause_end_ms_.load() >= NowMs()) return static_cast<PauseMode>(mode);
  Unpause();  // Redis: a pause is over once now > its end
  return static_cast<PauseMode>(pause_mode_.load());
}

void RespServer::Unpause() {
  auto batch = std::make_shared<std::deque<std::weak_ptr<Connection>>>();
  {
    std::lock_guard lock(pause_mu_);
    if (pause_mode_ == 0) return;
    pause_mode_ = 0;
    pause_end_ms_ = 0;
    batch->swap(held_);
  }
  store_->SetExpiryPaused(false);
  ReleaseHeld(std::move(batch));
}

void RespServer::HoldForPause(const std::shared_ptr<Connection>& c) {
  stats_.blocked_clients++;
  std::lock_guard lock(pause_mu_);
  held_.push_back(c);
  if (pause_mode_ != 0) return;
  // Unpaused between the check and now: release it at once.
  auto batch = std::make_shared<std::deque<std::weak_ptr<Connection>>>();
  batch->swap(held_);
  c->loop()->Post([this, batch] { ReleaseHeld(batch); });
}

// One client at a time, each on its own loop: the next is resumed only after the previous
// one has submitted its command, so commands reach the store in the order they were held
// (a client held again by a new pause joins the new queue).
void RespServer::ReleaseHeld(std::shared_ptr<std::deque<std::weak_ptr<Connection>>> batch) {
  std::shared_ptr<Connection> next;
  while (!batch->empty() && !next) {
    next = batch->front().lock();
    batch->pop_front();
  }
  if (!next) return;
  next->loop()->Post([this, next, batch] {
    next->ResumeFromPause();
    ReleaseHeld(batch);
  });
}

bool Connection::HeldByPause(const std::vector<std::string>& argv) {
  if (argv.empty()) return false;
  const RespServer::PauseMode mode = server_->pause_mode();
  if (mode == RespServer::PauseMode::kOff) return false;
  // The checks Redis makes before the pause: their errors are answered at once.
  const CommandSpec* spec = FindCommand(argv[0]);
  if (spec == nullptr) return false;
  const int argc = static_cast<int>(argv.size());
  if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
    return false;
  }
  if (!authenticated_ && !(spec->flags & kNoAuth)) return false;
  if (protocol_ == 2 && has_subscriptions() && !(spec->flags & kPubSubCtx)) return false;
  if (mode == RespServer::PauseMode::kAll) return true;
  // Writes and Redis's may_replicate commands (PUBLISH, PFCOUNT, EVAL, EVALSHA, FCALL).
  auto may_write = [](const CommandSpec& c, const std::vector<std::string>& args) {
    return (c.flags & (kWrite | kMayReplicate)) || MetaHasFlag(c, args, "may_replicate");
  };
  if (may_write(*spec, argv)) return true;
  // EXEC of a transaction that may write (Redis sums the flags of the queued commands).
  if (std::string_view(spec->name) == "exec" && in_multi_) {
    for (const auto& queued : queued_) {
      const CommandSpec* q = FindCommand(queued[0]);
      if (q && may_write(*q, queued)) return true;
    }
  }
  return false;
}

void Connection::ResumeFromPause() {
  if (!paused_.exchange(false)) return;
  server_->stats().blocked_clients--;
  if (closed_) return;
  // The held command goes to the store now, not into a batch deferred to the end of this
  // loop's turn, so that the next held client (resumed after this returns) comes after it.
  if (stashed_ && !waiting_ && !blocked()) {
    if (HeldByPause(*stashed_)) {  // paused again meanwhile
      paused_ = true;
      server_->HoldForPause(shared_from_this());
      return;
    }
    std::vector<std::string> argv = std::move(*stashed_);
    stashed_.reset();
    Dispatch(argv);
  }
  Resume();
}

}  // namespace redge::resp
