// HttpConnection and ExchangeImpl: one HTTP client on one event loop, and the answer to
// one of its requests. Internal to edge/http (HttpServer creates them).
//
// Ownership: the loop's IoLoop::conns map owns each open connection; Close() removes it.
// An exchange holds only a weak_ptr to its connection, so a handler that keeps an
// Exchange after the peer left keeps no socket or buffer alive, and a late Reply() is a
// no-op. An exchange reaches its loop through a LoopRef, which Stop() clears before the
// loop is destroyed, so an Exchange may even outlive the server.
//
// Output path: Reply/StartStream/Write/End (any thread) serialize into the exchange's
// outbox under its mutex and post one Pump() per batch to the loop; Pump moves the bytes
// into the connection's output buffer and writes. A reply made by the handler while it is
// being dispatched is taken inline (the common, synchronous case costs no task).
//
// Thread-safety: HttpConnection is loop-thread only. ExchangeImpl's Exchange methods are
// safe from any thread; its "loop side" methods are for the connection's loop thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "edge/http/http_parser.h"
#include "edge/http/http_response.h"
#include "edge/http/http_server.h"
#include "edge/net/event_loop.h"
#include "edge/net/output_budget.h"
#include "edge/net/tls.h"

namespace redge::http::internal {

class HttpConnection;

// A loop as seen from other threads: Post() works until Stop() clears `loop`.
struct LoopRef {
  std::mutex mu;
  net::EventLoop* loop = nullptr;

  // Posts `task`; false (task dropped) once the loop is gone.
  bool Post(std::function<void()> task);
  // True if the caller runs on this loop's thread.
  bool InLoop();
};

// One I/O thread: its loop and the connections it owns.
struct IoLoop {
  std::unique_ptr<net::EventLoop> loop;
  std::shared_ptr<LoopRef> ref;
  std::unordered_map<HttpConnection*, std::shared_ptr<HttpConnection>> conns;  // loop thread
  std::thread thread;
};

// Whether the acceptor let a connection in: if not, it answers 503 and closes.
enum class Admission { kAccepted, kServerFull, kAddressFull };

// What connections need from the server.
struct ServerCore {
  const HttpOptions* options = nullptr;
  HttpStats* stats = nullptr;
  // Open connections per client address (for max_connections_per_address).
  std::mutex addresses_mu;
  std::unordered_map<std::string, int> connections_per_address;
  // Filter + routing + handler; runs on the loop thread.
  std::function<void(Request&, const std::shared_ptr<Exchange>&)> dispatch;
  std::atomic<bool> stopping{false};
};

class ExchangeImpl final : public Exchange {
 public:
  // What the connection takes from the outbox on its loop.
  struct Output {
    std::string bytes;
    bool finished = false;     // Reply() or End() happened: no more output will follow
    bool close_after = false;  // close the connection once these bytes are written
    bool overflow = false;     // the stream exceeded max_stream_buffer: close now
  };

  ExchangeImpl(std::weak_ptr<HttpConnection> conn, std::shared_ptr<LoopRef> ref,
               net::EventLoop* loop, std::string peer, HttpStats* stats, size_t max_stream_buffer,
               int minor_version, bool keep_alive, bool head);
  ~ExchangeImpl() override = default;

  void Reply(Response response) override;
  void StartStream(int status, Headers headers) override;
  void AddHeaders(Headers headers) override;
  bool Write(std::string_view bytes) override;
  void End() override;
  size_t buffered() const override;
  void OnDrain(size_t low_water, std::function<void()> fn) override;
  void OnClose(std::function<void()> fn) override;
  bool closed() const override { return closed_.load(); }
  net::EventLoop& loop() override { return *loop_; }
  bool Post(std::function<void()> task) override { return ref_->Post(std::move(task)); }
  const std::string& peer() const override { return peer_; }

  // --- loop side ---
  Output TakeOutput();
  // The connection closed: marks the exchange closed and, unless it finished, runs the
  // OnClose callbacks (here, on the loop thread).
  void ConnectionClosed();
  // Bytes of this exchange's connection not yet accepted by the socket; runs a due OnDrain.
  void SetUnsent(size_t n);

 private:
  enum class State { kNew, kReplied, kStreaming, kEnded };
  bool FinishedLocked() const { return state_ == State::kReplied || state_ == State::kEnded; }
  // Hands the outbox to the connection (inline while it dispatches us, else by a task).
  void Schedule();
  // Posts the OnDrain callback if buffered() is at or below its low-water mark.
  void MaybeDrained();

  const std::weak_ptr<HttpConnection> conn_;
  const std::shared_ptr<LoopRef> ref_;
  net::EventLoop* const loop_;
  const std::string peer_;
  HttpStats* const stats_;  // touched only while not closed, i.e. while the server lives
  const size_t max_stream_buffer_;
  const int minor_version_;
  const bool keep_alive_;
  const bool head_;

  mutable std::mutex mu_;
  State state_ = State::kNew;
  std::string outbox_;
  bool pump_pending_ = false;
  bool close_after_ = false;
  bool overflow_ = false;
  bool notified_ = false;        // ConnectionClosed() ran
  bool stream_counted_ = false;  // counted in stats.open_streams
  bool chunked_ = false;
  std::vector<std::function<void()>> on_close_;
  std::function<void()> on_drain_;
  size_t drain_low_water_ = 0;
  Headers extra_headers_;  // AddHeaders(), appended to the response or stream head
  std::atomic<bool> closed_{false};
  std::atomic<size_t> unsent_{0};
};

class HttpConnection : public net::FdHandler, public std::enable_shared_from_this<HttpConnection> {
 public:
  // Not kAccepted: answers 503 and closes. `ssl` (owned; null for plain HTTP) is the TLS
  // session over `fd`.
  HttpConnection(ServerCore* core, IoLoop* io, int fd, SSL* ssl, std::string peer,
                 Admission admission);
  ~HttpConnection() override;

  // Registers with the loop (loop thread).
  void Start();
  void OnEvents(uint32_t events) override;
  // Takes the current exchange's output and moves on (posted by ExchangeImpl).
  void Pump();
  // The same while the exchange's handler runs: appends only, the caller goes on.
  void PumpInline() { ApplyOutput(); }
  // Shutdown: writes what the exchanges have produced so far (as much as the socket takes
  // without waiting), so a reply queued just before the server stops is not lost.
  void FlushForShutdown();
  const ExchangeImpl* dispatching() const { return dispatching_; }
  // Closes the socket now; an unfinished exchange's OnClose callbacks run.
  void Close();

 private:
  using Clock = std::chrono::steady_clock;

  void OnReadable();
  void OnPeerEof();
  void ProcessInput();
  void Dispatch();
  void SendError(int status, std::string_view code, std::string_view message);
  void ApplyOutput();
  void Flush();
  // After the last response: stop writing, drain what the peer still sends for a while,
  // then close. Closing with unread input would send a RST that can destroy the response
  // (a 413 to a client still uploading) before the client reads it.
  void BeginLinger();
  void UpdateInterest();
  // TLS may hold decrypted input epoll cannot signal: read it from the loop.
  void ReadBufferedInputLater();
  void MaybeArmIdleTimer();
  void OnIdleTimer();
  // The deadline of the request being received (head, then body); see HttpOptions.
  void UpdateRequestDeadline();
  void OnRequestDeadline();

  ServerCore* const core_;
  IoLoop* const io_;
  net::EventLoop* const loop_;
  int fd_;
  net::Transport transport_;  // plain or TLS over fd_
  const std::string peer_;
  const Admission admission_;
  RequestParser parser_;
  std::string in_;
  size_t in_pos_ = 0;
  std::string out_;
  size_t out_pos_ = 0;
  std::shared_ptr<ExchangeImpl> current_;  // the request being answered
  ExchangeImpl* dispatching_ = nullptr;    // set while current_'s handler runs
  bool closed_ = false;
  bool close_after_flush_ = false;
  bool continue_sent_ = false;
  bool peer_eof_ = false;
  bool lingering_ = false;
  bool buffered_read_posted_ = false;
  size_t linger_bytes_ = 0;
  uint32_t events_ = 0;
  net::EventLoop::TimerId idle_timer_ = 0;
  net::EventLoop::TimerId linger_timer_ = 0;
  enum class Phase { kNone, kHead, kBody };
  Phase deadline_phase_ = Phase::kNone;
  net::EventLoop::TimerId deadline_timer_ = 0;
  bool first_request_ = true;
  Clock::time_point last_active_;
  net::OutputBudget::Handle budget_;  // this connection's share of the output budget
};

}  // namespace redge::http::internal
