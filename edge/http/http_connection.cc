#include "edge/http/http_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "edge/auth_guard.h"
#include "edge/net/socket_io.h"

namespace redge::http::internal {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// Bounded reads per wake-up, so one fast sender cannot starve the loop's other sockets.
constexpr int kMaxReadsPerWake = 16;
// While a request is being answered, at most this much pipelined input is read ahead;
// beyond it the socket is not read (TCP pushes back on the client).
constexpr size_t kMaxReadAhead = 64 * 1024;
// Lingering close (see BeginLinger): how long and how much input is drained at most.
constexpr auto kLinger = std::chrono::milliseconds(2000);
constexpr size_t kMaxLingerBytes = 8u << 20;
// Above this many already-written bytes at the front of the output buffer, they are
// dropped even though unsent bytes remain (keeps a slow stream's buffer from only growing).
constexpr size_t kCompactOutput = 1u << 20;

}  // namespace

bool LoopRef::Post(std::function<void()> task) {
  std::lock_guard lock(mu);
  if (loop == nullptr) return false;
  loop->Post(std::move(task));
  return true;
}

bool LoopRef::InLoop() {
  std::lock_guard lock(mu);
  return loop != nullptr && loop->InLoopThread();
}

// ---------------------------------------------------------------------------------------
// ExchangeImpl

ExchangeImpl::ExchangeImpl(std::weak_ptr<HttpConnection> conn, std::shared_ptr<LoopRef> ref,
                           net::EventLoop* loop, std::string peer, HttpStats* stats,
                           size_t max_stream_buffer, int minor_version, bool keep_alive, bool head)
    : conn_(std::move(conn)),
      ref_(std::move(ref)),
      loop_(loop),
      peer_(std::move(peer)),
      stats_(stats),
      max_stream_buffer_(max_stream_buffer),
      minor_version_(minor_version),
      keep_alive_(keep_alive),
      head_(head) {}

void ExchangeImpl::Reply(Response response) {
  std::vector<std::function<void()>> dropped;  // destroyed after the lock is released
  bool schedule;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kNew || closed_) return;
    state_ = State::kReplied;
    closed_ = true;  // nothing more can be sent through this exchange
    close_after_ = !keep_alive_ || WantsClose(response.headers);
    for (auto& h : extra_headers_) response.headers.push_back(std::move(h));
    AppendResponse(&outbox_, response, minor_version_, close_after_, head_);
    dropped.swap(on_close_);
    schedule = !std::exchange(pump_pending_, true);
  }
  if (schedule) Schedule();
}

void ExchangeImpl::StartStream(int status, Headers headers) {
  bool schedule;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kNew || closed_) return;
    state_ = State::kStreaming;
    stream_counted_ = true;
    stats_->open_streams++;
    chunked_ = minor_version_ >= 1;
    for (auto& h : extra_headers_) headers.push_back(std::move(h));
    AppendStreamHead(&outbox_, status, headers, minor_version_);
    if (head_) {
      // HEAD: nothing may follow the head. The stream is closed at once (Write returns
      // false) and the connection closes after the head, which runs OnClose.
      closed_ = true;
      close_after_ = true;
    }
    schedule = !std::exchange(pump_pending_, true);
  }
  if (schedule) Schedule();
}

void ExchangeImpl::AddHeaders(Headers headers) {
  std::lock_guard lock(mu_);
  if (state_ != State::kNew) return;
  for (auto& h : headers) extra_headers_.push_back(std::move(h));
}

bool ExchangeImpl::Write(std::string_view bytes) {
  bool schedule;
  bool ok = true;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kStreaming || closed_) return false;
    if (bytes.empty()) return true;  // an empty chunk would end the stream
    AppendChunk(&outbox_, bytes, chunked_);
    if (outbox_.size() + unsent_.load() > max_stream_buffer_) {
      // The reader is too slow: drop the stream rather than grow without bound.
      outbox_.clear();
      overflow_ = true;
      closed_ = true;
      ok = false;
    }
    schedule = !std::exchange(pump_pending_, true);
  }
  if (schedule) Schedule();
  return ok;
}

void ExchangeImpl::End() {
  std::vector<std::function<void()>> dropped;
  bool schedule;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kStreaming || closed_) return;
    state_ = State::kEnded;
    closed_ = true;
    close_after_ = true;
    if (chunked_) outbox_.append("0\r\n\r\n");
    dropped.swap(on_close_);
    schedule = !std::exchange(pump_pending_, true);
  }
  if (schedule) Schedule();
}

size_t ExchangeImpl::buffered() const {
  std::lock_guard lock(mu_);
  return outbox_.size() + unsent_.load();
}

void ExchangeImpl::OnDrain(size_t low_water, std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    on_drain_ = std::move(fn);
    drain_low_water_ = low_water;
  }
  MaybeDrained();
}

void ExchangeImpl::SetUnsent(size_t n) {
  unsent_ = n;
  MaybeDrained();
}

void ExchangeImpl::MaybeDrained() {
  std::function<void()> fn;
  {
    std::lock_guard lock(mu_);
    if (!on_drain_ || closed_ || outbox_.size() + unsent_.load() > drain_low_water_) return;
    fn = std::move(on_drain_);
    on_drain_ = nullptr;
  }
  // Posted, never run inline: the caller may be inside this exchange's Write or Flush.
  auto shared = std::make_shared<std::function<void()>>(std::move(fn));
  ref_->Post([shared] { (*shared)(); });
}

void ExchangeImpl::OnClose(std::function<void()> fn) {
  if (!fn) return;
  {
    std::lock_guard lock(mu_);
    if (FinishedLocked()) return;  // finished normally: never runs
    if (!notified_) {
      on_close_.push_back(std::move(fn));
      return;
    }
  }
  // Already closed: run now, on the loop thread while there is one.
  if (ref_->InLoop()) {
    fn();
    return;
  }
  auto shared = std::make_shared<std::function<void()>>(std::move(fn));
  if (!ref_->Post([shared] { (*shared)(); })) (*shared)();
}

ExchangeImpl::Output ExchangeImpl::TakeOutput() {
  std::lock_guard lock(mu_);
  Output out;
  out.bytes.swap(outbox_);
  out.finished = FinishedLocked();
  out.close_after = close_after_;
  out.overflow = overflow_;
  pump_pending_ = false;
  return out;
}

void ExchangeImpl::ConnectionClosed() {
  std::vector<std::function<void()>> callbacks;
  bool counted;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    notified_ = true;
    outbox_.clear();
    on_drain_ = nullptr;
    counted = std::exchange(stream_counted_, false);
    if (!FinishedLocked()) callbacks.swap(on_close_);
    on_close_.clear();
  }
  if (counted) stats_->open_streams--;
  for (auto& fn : callbacks) fn();
}

void ExchangeImpl::Schedule() {
  if (ref_->InLoop()) {
    auto conn = conn_.lock();
    if (conn && conn->dispatching() == this) {
      conn->PumpInline();
      return;
    }
  }
  // Everything else goes through the loop's queue, even on the loop thread: answering a
  // long-poll from inside another handler must not run this connection's next request
  // (and its handler) in the middle of the caller's code.
  std::weak_ptr<HttpConnection> weak = conn_;
  ref_->Post([weak] {
    if (auto c = weak.lock()) c->Pump();
  });
}

// ---------------------------------------------------------------------------------------
// HttpConnection

HttpConnection::HttpConnection(ServerCore* core, IoLoop* io, int fd, std::string peer,
                               Admission admission)
    : core_(core),
      io_(io),
      loop_(io->loop.get()),
      fd_(fd),
      peer_(std::move(peer)),
      admission_(admission),
      parser_(core->options->max_header_bytes, core->options->max_body),
      last_active_(Clock::now()) {}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void HttpConnection::Start() {
  io_->conns[this] = shared_from_this();
  events_ = EPOLLIN | EPOLLRDHUP;
  if (!loop_->Watch(fd_, events_, this)) {
    Close();
    return;
  }
  if (net::OutputBudget* budget = core_->options->output_budget) {
    std::weak_ptr<HttpConnection> weak = weak_from_this();
    budget_ = budget->Register([weak, ref = io_->ref] {
      ref->Post([weak] {
        if (auto c = weak.lock()) c->Close();
      });
    });
  }
  if (admission_ != Admission::kAccepted) {
    AppendResponse(
        &out_,
        admission_ == Admission::kServerFull
            ? ErrorResponse(503, "unavailable", "too many connections")
            : ErrorResponse(503, "unavailable", "too many connections from your address"),
        1, /*close=*/true, /*head=*/false);
    close_after_flush_ = true;
    Flush();
    return;
  }
  MaybeArmIdleTimer();
  UpdateRequestDeadline();  // the first request's head is due from now
}

void HttpConnection::OnEvents(uint32_t events) {
  if (closed_) return;
  auto self = shared_from_this();  // Close() drops the registry's reference
  if (events & EPOLLERR) {
    Close();
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) OnReadable();
  if (!closed_ && (events & EPOLLOUT)) Flush();
}

void HttpConnection::OnReadable() {
  if (!(events_ & EPOLLIN)) {
    // Not reading (read-ahead full or closing): only a hang-up wakes us here.
    peer_eof_ = true;
    OnPeerEof();
    return;
  }
  char buf[kReadChunk];
  bool got = false;
  for (int i = 0; i < kMaxReadsPerWake; ++i) {
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      got = true;
      if (lingering_) {
        linger_bytes_ += static_cast<size_t>(n);
        if (linger_bytes_ > kMaxLingerBytes) {
          Close();
          return;
        }
        continue;
      }
      in_.append(buf, static_cast<size_t>(n));
      if (current_ && in_.size() - in_pos_ >= kMaxReadAhead) break;
      continue;
    }
    if (n == 0) {
      peer_eof_ = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    Close();
    return;
  }
  if (lingering_) {
    if (peer_eof_) {
      Close();
    } else {
      UpdateInterest();
    }
    return;
  }
  if (got) last_active_ = Clock::now();
  ProcessInput();
  if (!closed_ && peer_eof_) OnPeerEof();
  if (!closed_) Flush();
}

void HttpConnection::OnPeerEof() {
  if (closed_) return;
  if (lingering_ || (current_ && !close_after_flush_)) {
    // The client left while its request was being answered (a closed SSE tab, an
    // abandoned long-poll): close now so the exchange's OnClose runs promptly.
    Close();
    return;
  }
  if (out_pos_ < out_.size()) {
    close_after_flush_ = true;  // the peer may only have half-closed: finish writing
    Flush();
    return;
  }
  Close();
}

void HttpConnection::ProcessInput() {
  // One request in flight at a time: the next one is parsed once the current exchange
  // finished, which is what keeps pipelined responses in order.
  while (!closed_ && !current_ && !close_after_flush_ && !lingering_) {
    size_t consumed = 0;
    auto result = parser_.Parse(std::string_view(in_).substr(in_pos_), &consumed);
    in_pos_ += consumed;
    if (result == RequestParser::Result::kNeedMore) {
      if (parser_.awaiting_continue() && !continue_sent_) {
        out_.append("HTTP/1.1 100 Continue\r\n\r\n");
        continue_sent_ = true;
      }
      break;
    }
    if (result == RequestParser::Result::kError) {
      const ParseError& e = parser_.error();
      SendError(e.status, e.code, e.message);
      break;
    }
    continue_sent_ = false;
    Dispatch();
  }
  UpdateRequestDeadline();
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > kReadChunk && in_pos_ > in_.size() / 2) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
}

void HttpConnection::Dispatch() {
  first_request_ = false;
  if (deadline_timer_ != 0) loop_->CancelTimer(deadline_timer_);
  deadline_timer_ = 0;
  deadline_phase_ = Phase::kNone;
  ParsedRequest parsed = parser_.Take();
  parsed.request.peer = peer_;
  core_->stats->requests++;
  bool keep_alive = parsed.keep_alive && !peer_eof_ && !core_->stopping.load();
  auto exchange = std::make_shared<ExchangeImpl>(weak_from_this(), io_->ref, loop_, peer_,
                                                 core_->stats, core_->options->max_stream_buffer,
                                                 parsed.minor_version, keep_alive, parsed.head);
  current_ = exchange;
  dispatching_ = exchange.get();
  core_->dispatch(parsed.request, exchange);
  dispatching_ = nullptr;
}

void HttpConnection::SendError(int status, std::string_view code, std::string_view message) {
  AppendResponse(&out_, ErrorResponse(status, code, message), 1, /*close=*/true,
                 /*head=*/false);
  close_after_flush_ = true;
}

void HttpConnection::ApplyOutput() {
  if (closed_ || !current_) return;
  ExchangeImpl::Output output = current_->TakeOutput();
  if (output.overflow) {
    Close();
    return;
  }
  out_.append(output.bytes);
  if (output.close_after) close_after_flush_ = true;
  if (output.finished && !output.close_after) {
    current_.reset();  // ready for the next request
    last_active_ = Clock::now();
  }
}

void HttpConnection::Pump() {
  if (closed_) return;
  ApplyOutput();
  if (closed_) return;
  ProcessInput();  // the exchange may have finished: pipelined requests go on
  if (!closed_) Flush();
}

void HttpConnection::FlushForShutdown() {
  if (closed_) return;
  ApplyOutput();
  if (!closed_) net::SendPending(fd_, out_, &out_pos_);
}

void HttpConnection::Flush() {
  if (closed_) return;
  if (!net::SendPending(fd_, out_, &out_pos_)) {
    Close();
    return;
  }
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
    if (out_.capacity() > kCompactOutput / 16) std::string().swap(out_);  // give a burst back
    if (close_after_flush_ && !lingering_) {
      BeginLinger();
      return;
    }
  } else if (out_pos_ > kCompactOutput && out_pos_ > out_.size() / 2) {
    out_.erase(0, out_pos_);
    out_pos_ = 0;
  }
  if (budget_) core_->options->output_budget->Update(*budget_, out_.size() - out_pos_);
  if (current_) current_->SetUnsent(out_.size() - out_pos_);
  UpdateInterest();
  MaybeArmIdleTimer();
}

void HttpConnection::BeginLinger() {
  if (peer_eof_) {
    Close();
    return;
  }
  lingering_ = true;
  ::shutdown(fd_, SHUT_WR);
  in_.clear();
  in_pos_ = 0;
  if (idle_timer_ != 0) loop_->CancelTimer(idle_timer_);
  idle_timer_ = 0;
  std::weak_ptr<HttpConnection> weak = weak_from_this();
  linger_timer_ = loop_->RunAfter(kLinger, [weak] {
    if (auto c = weak.lock()) {
      c->linger_timer_ = 0;
      c->Close();
    }
  });
  UpdateInterest();
}

void HttpConnection::UpdateInterest() {
  if (closed_) return;
  uint32_t events = 0;
  if (!peer_eof_) {
    // EPOLLRDHUP stays on while the peer has not hung up: it is how a client that leaves
    // mid-stream is noticed even while its input is not being read.
    events |= EPOLLRDHUP;
    bool read =
        lingering_ || (!close_after_flush_ && (!current_ || in_.size() - in_pos_ < kMaxReadAhead));
    if (read) events |= EPOLLIN;
  }
  if (out_pos_ < out_.size()) events |= EPOLLOUT;
  if (events != events_) {
    events_ = events;
    loop_->Modify(fd_, events, this);
  }
}

void HttpConnection::MaybeArmIdleTimer() {
  int seconds = core_->options->keep_alive_idle_seconds;
  if (closed_ || seconds <= 0 || idle_timer_ != 0 || current_ || close_after_flush_ || lingering_) {
    return;
  }
  // One timer per idle period, re-armed lazily on expiry from last_active_, rather than
  // a cancel and re-arm on every read.
  auto remaining = last_active_ + std::chrono::seconds(seconds) - Clock::now();
  auto delay = std::max(std::chrono::milliseconds(0),
                        std::chrono::ceil<std::chrono::milliseconds>(remaining));
  std::weak_ptr<HttpConnection> weak = weak_from_this();
  idle_timer_ = loop_->RunAfter(delay, [weak] {
    if (auto c = weak.lock()) c->OnIdleTimer();
  });
}

void HttpConnection::OnIdleTimer() {
  idle_timer_ = 0;
  if (closed_ || current_ || close_after_flush_ || lingering_) return;
  auto limit = std::chrono::seconds(core_->options->keep_alive_idle_seconds);
  if (Clock::now() - last_active_ >= limit) {
    Close();
    return;
  }
  MaybeArmIdleTimer();
}

void HttpConnection::UpdateRequestDeadline() {
  // No deadline while a request is answered, while closing, or between requests of a
  // keep-alive connection before the next one's first byte (the idle timer governs that).
  Phase phase = Phase::kNone;
  if (!closed_ && !current_ && !close_after_flush_ && !lingering_) {
    if (parser_.in_body()) {
      phase = Phase::kBody;
    } else if (first_request_ || in_pos_ < in_.size()) {
      phase = Phase::kHead;
    }
  }
  if (phase == deadline_phase_) return;
  if (deadline_timer_ != 0) loop_->CancelTimer(deadline_timer_);
  deadline_timer_ = 0;
  deadline_phase_ = phase;
  if (phase == Phase::kNone) return;
  const int ms =
      phase == Phase::kHead ? core_->options->header_timeout_ms : core_->options->body_timeout_ms;
  if (ms <= 0) return;
  std::weak_ptr<HttpConnection> weak = weak_from_this();
  deadline_timer_ = loop_->RunAfter(std::chrono::milliseconds(ms), [weak] {
    if (auto c = weak.lock()) {
      c->deadline_timer_ = 0;
      c->OnRequestDeadline();
    }
  });
}

void HttpConnection::OnRequestDeadline() {
  if (closed_ || current_ || close_after_flush_ || lingering_) return;
  core_->stats->request_timeouts++;
  if (deadline_phase_ == Phase::kHead && in_pos_ == in_.size()) {
    Close();  // not a byte of a request: nothing to answer
    return;
  }
  const bool head = deadline_phase_ == Phase::kHead;
  const int ms = head ? core_->options->header_timeout_ms : core_->options->body_timeout_ms;
  SendError(408, "request_timeout",
            std::string(head ? "the request head" : "the request body") +
                " did not arrive within " + std::to_string(ms) + " ms");
  deadline_phase_ = Phase::kNone;
  Flush();
}

void HttpConnection::Close() {
  if (closed_) return;
  closed_ = true;
  auto self = shared_from_this();
  if (idle_timer_ != 0) loop_->CancelTimer(idle_timer_);
  if (linger_timer_ != 0) loop_->CancelTimer(linger_timer_);
  if (deadline_timer_ != 0) loop_->CancelTimer(deadline_timer_);
  idle_timer_ = linger_timer_ = deadline_timer_ = 0;
  loop_->Unwatch(fd_);
  ::close(fd_);
  fd_ = -1;
  if (admission_ == Admission::kAccepted) {
    core_->stats->open_connections--;
    const std::string address = PeerAddress(peer_);
    std::lock_guard lock(core_->addresses_mu);
    auto it = core_->connections_per_address.find(address);
    if (it != core_->connections_per_address.end() && --it->second <= 0) {
      core_->connections_per_address.erase(it);
    }
  }
  budget_.reset();
  std::string().swap(out_);
  out_pos_ = 0;
  io_->conns.erase(this);
  if (auto exchange = std::move(current_)) exchange->ConnectionClosed();
  // Keep this object alive until the loop finishes the current batch of events, which
  // may still name it.
  loop_->Post([self] {});
}

}  // namespace redge::http::internal
