#include "edge/resp/connection.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "edge/log.h"
#include "edge/net/socket_io.h"
#include "edge/resp/command_meta.h"
#include "edge/resp/command_stats.h"
#include "edge/resp/lua_engine.h"
#include "edge/resp/server.h"
#include "store/encoding.h"

namespace redge::resp {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// Backpressure: while this much output is unsent, the connection neither reads its socket
// nor runs the commands it already has (a client that pipelines 20,000 GETs without
// reading their replies costs this plus one batch of replies, not all of them). Reading
// resumes once the client has taken enough.
constexpr size_t kInputPauseOutputBytes = 256 * 1024;
// An output buffer that grew past this is freed, not kept, once everything is sent.
constexpr size_t kKeepOutputCapacity = 64 * 1024;

std::string SockName(int fd, bool peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (rc != 0) return "?:0";
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

Connection::Connection(RespServer* server, net::EventLoop* loop, int fd, std::string peer, SSL* ssl)
    : server_(server),
      loop_(loop),
      fd_(fd),
      peer_(peer.empty() ? SockName(fd, true) : std::move(peer)),
      local_(SockName(fd, false)),
      id_(server->NextClientId()),
      parser_(server->options().limits),
      writer_(&out_, 2),
      created_(std::chrono::steady_clock::now()),
      last_active_(created_) {
  ResetUser();
  transport_.Init(fd, ssl);
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
  server_->ForgetWatcher(this);  // an EXEC that never ran may have left watches behind
}

void Connection::Start() {
  self_ = shared_from_this();
  Log(spdlog::level::debug, "resp client connected",
      {{"peer", peer_}, {"id", std::to_string(id_)}});
  events_ = EPOLLIN | EPOLLRDHUP;
  loop_->Watch(fd_, events_, this);
  if (net::OutputBudget* budget = server_->options().output_budget) {
    std::weak_ptr<Connection> weak = weak_from_this();
    net::EventLoop* loop = loop_;
    budget_ = budget->Register([weak, loop] {
      loop->Post([weak] {
        if (auto c = weak.lock(); c && !c->closed_) {
          c->server_->stats().output_limit_disconnections++;
          c->Close();
        }
      });
    });
  }
}

void Connection::OnEvents(uint32_t events) {
  if (closed_) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    OnReadable();
  } else if ((events & EPOLLOUT) && transport_.read_wants_write()) {
    OnReadable();  // a TLS read that had to write first can go on
  }
  if (!closed_ && (events & EPOLLOUT)) OnWritable();
}

void Connection::OnReadable() {
  char buf[kReadChunk];
  // A bounded number of reads per wake-up keeps one busy client from starving others.
  for (int i = 0; i < 16; ++i) {
    ssize_t n = transport_.Read(buf, sizeof(buf));
    if (n > 0) {
      server_->stats().net_input_bytes += n;
      parser_.Feed(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof(buf)) break;
      continue;
    }
    if (n == net::Transport::kEof) {
      Close();  // the client went away; like Redis, pending commands are dropped
      return;
    }
    if (n == net::Transport::kWouldBlock) break;
    Close();
    return;
  }
  ReadBufferedInputLater();  // stopped with TLS input still held
  last_active_ = std::chrono::steady_clock::now();
  ProcessInput();
  FlushOutput();
}

std::string Connection::name() const {
  std::lock_guard lock(info_mu_);
  return name_;
}

void Connection::set_name(std::string n) {
  std::lock_guard lock(info_mu_);
  name_ = std::move(n);
}

void Connection::set_lib(std::string name, std::string ver) {
  std::lock_guard lock(info_mu_);
  if (!name.empty()) lib_name_ = std::move(name);
  if (!ver.empty()) lib_ver_ = std::move(ver);
}

std::string Connection::ClientLabel() const {
  std::string n = name();
  return n.empty() ? "resp:" + std::to_string(id_) : n;
}

void Connection::set_last_command(std::string name) {
  std::lock_guard lock(info_mu_);
  last_command_ = std::move(name);
}

void Connection::Reset() {
  if (in_multi_) DiscardMulti();
  UnwatchAll();
  if (subscriber_) {
    subscriber_->Close();
    std::lock_guard lock(info_mu_);
    subscriber_.reset();
    server_->stats().pubsub_clients--;
  }
  set_db(0);
  set_protocol(2);
  set_name("");
  no_evict = false;
  ResetUser();
}

namespace {
constexpr size_t kMaxBatchCommands = 256;
constexpr size_t kMaxBatchBytes = 4u << 20;
}  // namespace

bool Connection::Batchable(const std::vector<std::string>& argv, const CommandSpec** spec) {
  if (argv.empty() || in_multi_ || !authenticated() || reply_off_ || reply_skip_next_) return false;
  *spec = FindCommand(argv[0]);
  const CommandSpec* s = *spec;
  if (s == nullptr || !(s->flags & kTxn) || (s->flags & (kBlocking | kOffLoop))) return false;
  int argc = static_cast<int>(argv.size());
  if ((s->arity > 0 && argc != s->arity) || (s->arity < 0 && argc < -s->arity)) return false;
  if (protocol_ == 2 && has_subscriptions() && !(s->flags & kPubSubCtx)) return false;
  if (!AclAllows(argv)) return false;                      // Dispatch refuses it (and logs why)
  if (server_->scripting().ScriptRunning()) return false;  // Dispatch may answer BUSY
  return true;
}

void Connection::ProcessInput() {
  std::vector<std::string> argv;
  while (!closed_ && !waiting_ && !blocked() && !close_after_reply_ && !paused_) {
    if (out_.size() - out_pos_ >= kInputPauseOutputBytes) {
      input_paused_ = true;  // FlushOutput resumes once the client has read enough
      break;
    }
    argv.clear();
    if (stashed_) {
      argv = std::move(*stashed_);
      stashed_.reset();
    } else {
      parser_.set_auth_required(!authenticated());
      parser_.set_bulk_and_buffer_limits(server_->max_bulk_len(), server_->max_query_buffer());
      RequestParser::State st = parser_.Next(&argv);
      if (st == RequestParser::State::kNeedMore) break;
      if (st == RequestParser::State::kError) {
        FlushBatch();
        server_->stats().protocol_errors++;
        if (waiting_) {
          // The reply of the batch must go out first; the error follows once it is durable.
          CloseAfterReply();
          break;
        }
        writer_.Error(parser_.error());
        CloseAfterReply();
        break;
      }
    }
    if (IsHttpRequestLine(argv)) {
      server_->stats().cross_protocol_closes++;
      LogCrossProtocolAttempt(peer_);
      Close();  // nothing of the request runs, and no reply is sent
      return;
    }
    if (server_->pause_mode() != RespServer::PauseMode::kOff && HeldByPause(argv)) {
      // CLIENT PAUSE: what came before goes on; this command waits in the stash.
      FlushBatch();
      stashed_ = std::move(argv);
      paused_ = true;
      server_->HoldForPause(shared_from_this());
      break;
    }
    const CommandSpec* spec = nullptr;
    if (Batchable(argv, &spec)) {
      server_->stats().commands_processed++;
      if (server_->has_monitors()) FeedMonitors(*spec, argv);
      set_last_command(spec->name);
      for (const auto& a : argv) batch_bytes_ += a.size();
      batch_.push_back({spec, std::move(argv)});
      if (batch_.size() >= kMaxBatchCommands || batch_bytes_ >= kMaxBatchBytes) FlushBatch();
      continue;
    }
    if (!batch_.empty()) {
      FlushBatch();
      if (waiting_) {
        stashed_ = std::move(argv);
        break;
      }
    }
    Dispatch(argv);
  }
  if (!waiting_ && !batch_.empty()) {
    // Wait for the other clients of this wake-up: their commands share one store write.
    waiting_ = true;
    server_->DeferBatch(loop_, shared_from_this());
  }
}

void Connection::DeliverReply(const std::string& reply) {
  if (closed_) return;
  out_.append(reply);
  waiting_ = false;
  Resume();
}

void Connection::CommitGroup(RespServer* server, net::EventLoop* loop,
                             std::vector<std::shared_ptr<Connection>> group) {
  struct Part {
    std::shared_ptr<Connection> conn;
    std::vector<PendingCommand> commands;
    std::string reply;
    std::string client;
    int db = 0;
    int protocol = 2;
  };
  auto parts = std::make_shared<std::vector<Part>>();
  for (auto& c : group) {
    if (c->closed_) continue;
    Part p;
    p.commands = std::move(c->batch_);
    c->batch_.clear();
    c->batch_bytes_ = 0;
    p.client = c->ClientLabel();
    p.db = c->db_;
    p.protocol = c->protocol_;
    p.conn = std::move(c);
    parts->push_back(std::move(p));
  }
  if (parts->empty()) return;
  server->store().ExecAsync(
      0,
      [parts, server](store::Txn& txn) {
        for (auto& p : *parts) {
          txn.SwitchDb(p.db);
          txn.set_client(p.client);
          ReplyWriter w(&p.reply, p.protocol);
          for (auto& cmd : p.commands) {
            CommandContext ctx{*p.conn, *server, cmd.argv, w, &txn};
            InvokeCommand(*cmd.spec, ctx);
          }
        }
      },
      [parts, loop](store::Status s) {
        if (!s.ok()) {
          // Nothing of the write happened: every command of every client gets the error.
          for (auto& p : *parts) {
            p.reply.clear();
            ReplyWriter w(&p.reply, p.protocol);
            for (size_t i = 0; i < p.commands.size(); ++i) w.Error(s.message());
          }
        }
        auto deliver = [parts] {
          for (auto& p : *parts) p.conn->DeliverReply(p.reply);
        };
        if (loop->InLoopThread()) {
          deliver();
        } else {
          loop->Post(deliver);
        }
      });
}

void Connection::FlushBatch() {
  if (batch_.empty()) return;
  auto commands = std::make_shared<std::vector<PendingCommand>>(std::move(batch_));
  batch_.clear();
  batch_bytes_ = 0;
  auto reply = std::make_shared<std::string>();
  RunInStore(
      [commands, reply, self = shared_from_this()](store::Txn& txn) {
        ReplyWriter w(reply.get(), self->protocol_);
        for (auto& c : *commands) {
          CommandContext ctx{*self, *self->server_, c.argv, w, &txn};
          InvokeCommand(*c.spec, ctx);
        }
      },
      reply, commands->size());
}

void Connection::Dispatch(std::vector<std::string>& argv) {
  if (argv.empty()) return;
  // CLIENT REPLY OFF/SKIP: this command's replies are written and then dropped (those
  // that complete later check the flag captured when they start).
  suppress_current_ = reply_off_ || reply_skip_next_;
  reply_skip_next_ = false;
  const size_t mark = out_.size();
  const CommandSpec* spec = DispatchCommand(argv);
  const bool pushes = spec && (spec->flags & kPubSub) && (spec->flags & kPubSubCtx);
  if (suppress_current_ && !pushes && out_.size() >= mark) out_.resize(mark);
  suppress_current_ = false;
}

const CommandSpec* Connection::DispatchCommand(std::vector<std::string>& argv) {
  server_->stats().commands_processed++;
  const CommandSpec* spec = FindCommand(argv[0]);
  if (spec == nullptr) {
    std::string args;
    for (size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
      args += "'" + argv[i].substr(0, 128 - args.size()) + "' ";
    }
    writer_.Error("ERR unknown command '" + argv[0].substr(0, 128) +
                  "', with args beginning with: " + args);
    if (in_multi_) multi_dirty_ = true;
    return nullptr;
  }
  int argc = static_cast<int>(argv.size());
  if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
    server_->command_stats().RecordRejected(spec->name);
    Reject(*spec, std::string("ERR wrong number of arguments for '") + spec->name + "' command");
    return spec;
  }
  if (!authenticated() && !(spec->flags & kNoAuth)) {
    writer_.Error("NOAUTH Authentication required.");
    server_->command_stats().RecordRejected(StatsName(*spec, argv));
    if (in_multi_) multi_dirty_ = true;
    return spec;
  }
  // A user deleted (ACL DELUSER, LOAD) while connected: the connection is being closed and
  // runs nothing more, not even an error reply (as Redis frees such clients).
  if (UserGone()) {
    CloseAfterReply();
    return spec;
  }
  // ACL rules, before queueing in MULTI as Redis checks them (EXEC checks again).
  if (AclDenial denied = CheckAcl(argv, in_multi_ ? "multi" : "toplevel");
      denied != AclDenial::kOk) {
    Reject(*spec, AclNopermError(denied, argv));
    return spec;
  }
  if (protocol_ == 2 && has_subscriptions() && !(spec->flags & kPubSubCtx)) {
    server_->command_stats().RecordRejected(StatsName(*spec, argv));
    writer_.Error(std::string("ERR Can't execute '") + spec->name +
                  "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed "
                  "in this context");
    return spec;
  }
  // Past lua-time-limit, a running script leaves other clients only a few commands.
  if (auto busy = server_->scripting().BusyError(argv)) {
    Reject(*spec, std::string(*busy));
    return spec;
  }
  if (in_multi_ && MetaHasFlag(*spec, argv, "no_multi")) {
    // SAVE, SHUTDOWN, ...: Redis refuses them in a transaction (and aborts its EXEC).
    writer_.Error("ERR Command not allowed inside a transaction");
    multi_dirty_ = true;
    return spec;
  }
  if (in_multi_ && !(spec->flags & kNoMulti)) {
    queued_.push_back(std::move(argv));
    writer_.Simple("QUEUED");
    return spec;
  }
  if (server_->has_monitors()) FeedMonitors(*spec, argv);
  RunCommand(*spec, argv);
  return spec;
}

void Connection::RunCommand(const CommandSpec& spec, std::vector<std::string>& argv) {
  if (argv.size() >= 2 && IsContainerCommand(spec.name)) {
    std::string full = std::string(spec.name) + "|";
    for (char c : argv[1]) full += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    set_last_command(std::move(full));
  } else {
    set_last_command(spec.name);
  }
  if (!(spec.flags & kTxn)) {
    CommandContext ctx{*this, *server_, argv, writer_};
    InvokeCommand(spec, ctx);
    return;
  }
  // A store command: the reply is held until the batch is durable (fsync=always may
  // take a while); this connection waits, the loop serves others.
  auto reply = std::make_shared<std::string>();
  // The command may run later on the store's writer thread: it owns its arguments.
  RunInStore(
      [spec = &spec, argv = std::move(argv), reply, self = shared_from_this()](store::Txn& txn) {
        ReplyWriter w(reply.get(), self->protocol_);
        CommandContext ctx{*self, *self->server_, argv, w, &txn};
        InvokeCommand(*spec, ctx);
      },
      reply, 1,
      (spec.flags & kOffLoop) ? store::ExecMode::kExclusive : store::ExecMode::kInlineOrQueue);
}

void Connection::RunInStore(std::function<void(store::Txn&)> body,
                            std::shared_ptr<std::string> reply, size_t replies,
                            store::ExecMode mode) {
  waiting_ = true;
  std::weak_ptr<Connection> weak = weak_from_this();
  net::EventLoop* loop = loop_;
  int proto = protocol_;
  const bool suppress = suppress_current_;
  auto labeled = [body = std::move(body), client = ClientLabel()](store::Txn& txn) {
    txn.set_client(client);
    body(txn);
  };
  server_->store().ExecAsync(
      db_, std::move(labeled),
      [weak, loop, reply, proto, replies, suppress](store::Status s) {
        if (suppress) reply->clear();
        if (!s.ok()) {
          // Nothing of the batch was written: every command of it gets the error.
          reply->clear();
          ReplyWriter w(reply.get(), proto);
          for (size_t i = 0; i < replies; ++i) w.Error(s.message());
        }
        auto finish = [weak, reply] {
          auto c = weak.lock();
          if (!c || c->closed_) return;
          c->out_.append(*reply);
          c->waiting_ = false;
        };
        if (loop->InLoopThread()) {
          finish();  // ran inline inside ExecAsync: the caller's loop goes on by itself
        } else {
          loop->Post([weak, finish] {
            finish();
            if (auto c = weak.lock()) c->Resume();
          });
        }
      },
      mode);
}

Connection::Completion Connection::Suspend() {
  waiting_ = true;
  std::weak_ptr<Connection> weak = weak_from_this();
  net::EventLoop* loop = loop_;
  const bool suppress = suppress_current_;
  return [weak, loop, suppress](std::string reply) {
    if (suppress) reply.clear();
    auto finish = [weak, reply = std::move(reply)] {
      auto c = weak.lock();
      if (!c || c->closed_) return;
      c->out_.append(reply);
      c->waiting_ = false;
    };
    if (loop->InLoopThread()) {
      finish();  // completed inside the handler: the caller's loop goes on by itself
    } else {
      loop->Post([weak, finish = std::move(finish)] {
        finish();
        if (auto c = weak.lock()) c->Resume();
      });
    }
  };
}

void Connection::Resume() {
  if (closed_) return;
  ProcessInput();
  FlushOutput();
}

void Connection::Reject(const CommandSpec& spec, const std::string& error) {
  if (in_multi_ && std::string_view(spec.name) == "exec") {
    // As Redis's execCommandAbort: a refused EXEC ends the transaction and says why.
    DiscardMulti();
    writer_.Error("EXECABORT Transaction discarded because of: " + error);
    return;
  }
  writer_.Error(error);
  if (in_multi_) multi_dirty_ = true;  // the EXEC that follows answers EXECABORT
}

void Connection::OnWritable() {
  FlushOutput();
  if (!closed_ && subscriber_) DrainPubSub();
}

void Connection::FlushOutput() {
  if (closed_) return;
  qbuf_ = static_cast<int64_t>(parser_.buffered());
  int64_t sent = 0;
  const bool alive = transport_.SendPending(out_, &out_pos_, &sent);
  server_->stats().net_output_bytes += sent;
  if (!alive) {
    Close();
    return;
  }
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
    if (close_after_reply_) {
      Close();
      return;
    }
  } else if (out_pos_ > (1u << 20) && out_pos_ > out_.size() / 2) {
    out_.erase(0, out_pos_);
    out_pos_ = 0;
  }
  if (out_pos_ == out_.size() && out_.capacity() > kKeepOutputCapacity) {
    std::string().swap(out_);  // a burst of output must not pin its memory
  }
  if (CheckOutputLimits()) return;
  if (input_paused_ && out_.size() - out_pos_ < kInputPauseOutputBytes) {
    input_paused_ = false;
    // Commands may already be parsed and waiting: run them from the loop, not from inside
    // whatever called FlushOutput.
    std::weak_ptr<Connection> weak = weak_from_this();
    loop_->Post([weak] {
      if (auto c = weak.lock()) c->Resume();
    });
  }
  UpdateInterest();
}

void Connection::UpdateInterest() {
  // EPOLLRDHUP stays on while input is paused: a client that leaves is noticed at once.
  uint32_t events = EPOLLRDHUP | (input_paused_ ? 0u : EPOLLIN) |
                    (out_pos_ < out_.size() ? EPOLLOUT : 0u) | transport_.ExtraInterest();
  if (events == events_) return;
  const bool resumed_reading = (events & EPOLLIN) && !(events_ & EPOLLIN);
  events_ = events;
  loop_->Modify(fd_, events, this);
  if (resumed_reading) ReadBufferedInputLater();
}

void Connection::ReadBufferedInputLater() {
  if (closed_ || input_paused_ || buffered_read_posted_ || !transport_.HasBufferedInput()) return;
  buffered_read_posted_ = true;
  std::weak_ptr<Connection> weak = weak_from_this();
  loop_->Post([weak] {
    auto c = weak.lock();
    if (!c) return;
    c->buffered_read_posted_ = false;
    if (!c->closed_ && !c->input_paused_) c->OnReadable();
  });
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  // Gone from CLIENT LIST before the peer can see the socket close.
  server_->Unregister(id_);
  if (blocked_id_ != 0) server_->store().CancelBlockedPop(blocked_id_);
  FinishBlock();
  if (paused_.exchange(false)) server_->stats().blocked_clients--;
  // Out of CLIENT LIST/KILL before the peer can see the close (and ask again).
  server_->Unregister(id_);
  loop_->Unwatch(fd_);
  transport_.Reset();
  ::close(fd_);
  fd_ = -1;
  UnwatchAll();
  if (subscriber_) {
    subscriber_->Close();
    server_->stats().pubsub_clients--;
  }
  budget_.reset();
  // Nothing more is sent or run: give the buffers back now, not when the last task
  // naming this connection has run.
  std::string().swap(out_);
  out_pos_ = 0;
  parser_ = RequestParser(server_->options().limits);
  std::vector<PendingCommand>().swap(batch_);
  stashed_.reset();
  std::vector<std::vector<std::string>>().swap(queued_);
  Log(spdlog::level::debug, "resp client disconnected",
      {{"peer", peer_}, {"id", std::to_string(id_)}});
  // Keep this object alive until the loop finishes the current batch of events, which
  // may still name it.
  loop_->Post([self = std::move(self_)] {});
}

int64_t Connection::age_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                          created_)
      .count();
}

int64_t Connection::idle_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                          last_active_.load())
      .count();
}

std::string Connection::ClientInfoLine(const std::vector<std::string>* current) const {
  int64_t qbuf = qbuf_, argv_mem = 0;
  if (current != nullptr) {
    // Redis still holds the running command in its query buffer (as a multibulk request).
    qbuf += 1 + static_cast<int64_t>(std::to_string(current->size()).size()) + 2;
    for (const auto& a : *current) {
      qbuf += 1 + static_cast<int64_t>(std::to_string(a.size()).size()) + 2 +
              static_cast<int64_t>(a.size()) + 2;
      argv_mem += static_cast<int64_t>(a.size());
    }
  }
  std::string flags;
  if (in_multi_) flags += 'x';
  if (blocked_id_ != 0 || paused_) flags += 'b';
  std::shared_ptr<store::Subscriber> sub;
  {
    std::lock_guard lock(info_mu_);  // subscriber_ is replaced under info_mu_
    sub = subscriber_;
  }
  if (sub && sub->SubscriptionCount() > 0) flags += 'P';
  if (no_evict) flags += 'e';
  if (monitor_) flags += 'O';
  if (flags.empty()) flags = "N";
  size_t nsub = sub ? sub->Channels().size() : 0;
  size_t npsub = sub ? sub->Patterns().size() : 0;
  std::lock_guard lock(info_mu_);
  return "id=" + std::to_string(id_) + " addr=" + peer_ + " laddr=" + local_ +
         " fd=" + std::to_string(fd_) + " name=" + name_ + " age=" + std::to_string(age_seconds()) +
         " idle=" + std::to_string(idle_seconds()) + " flags=" + flags +
         " db=" + std::to_string(db_) + " sub=" + std::to_string(nsub) +
         " psub=" + std::to_string(npsub) + " ssub=0 multi=" + (in_multi_ ? "0" : "-1") +
         " qbuf=" + std::to_string(qbuf) + " qbuf-free=0 argv-mem=" + std::to_string(argv_mem) +
         " multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=" + std::to_string(omem_) +
         " tot-mem=0 events=r cmd=" + (last_command_.empty() ? "NULL" : last_command_) +
         " user=" + user_name_ + " redir=-1 resp=" + std::to_string(protocol_) +
         " lib-name=" + lib_name_ + " lib-ver=" + lib_ver_;
}

}  // namespace redge::resp
