// Connection: one RESP client on one event loop. Owns the socket, the request parser,
// the output buffer and the client's session state (db, protocol, auth, MULTI queue,
// WATCHed keys, subscriptions, a blocked pop).
//
// Commands are executed in arrival order. While a command waits (a blocked pop, or a
// write waiting for its fsync under fsync=always) the connection reads no further
// commands, which is what keeps replies in order; other connections are unaffected.
//
// Thread-safety: everything runs on the owning loop's thread, except MarkWatchDirty()
// (any thread) and the Post()-based entry points used by CLIENT KILL/UNBLOCK.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "edge/net/event_loop.h"
#include "edge/net/output_budget.h"
#include "edge/net/tls.h"
#include "edge/resp/acl.h"
#include "edge/resp/command.h"
#include "edge/resp/protocol.h"
#include "store/pubsub.h"
#include "store/store.h"

namespace redge::resp {

class RespServer;

class Connection : public net::FdHandler, public std::enable_shared_from_this<Connection> {
 public:
  // `ssl` (owned; null for plain RESP) is the TLS session over `fd`.
  Connection(RespServer* server, net::EventLoop* loop, int fd, std::string peer,
             SSL* ssl = nullptr);
  ~Connection() override;

  // Starts watching the socket (on the loop thread).
  void Start();
  void OnEvents(uint32_t events) override;

  // --- session state used by command handlers ---
  uint64_t id() const { return id_; }
  int db() const { return db_; }
  void set_db(int db) { db_ = db; }
  int protocol() const { return protocol_; }
  void set_protocol(int p) {
    protocol_ = p;
    writer_.set_protocol(p);
  }
  // --- ACL (connection_acl.cc) ---
  // Whether commands may run: AUTH succeeded, or the default user needs no password (as
  // Redis decides it, at each command).
  bool authenticated() const;
  // After a successful AUTH / HELLO AUTH as `user`.
  void AuthenticateAs(std::string user);
  // Back to the default user (a new connection, RESET).
  void ResetUser();
  std::string user_name() const;
  // The current rules of this connection's user (re-read after any ACL change; null once
  // the user was deleted: everything is refused until the connection closes). Safe from
  // any thread (EXEC and scripts may run on the store's thread).
  std::shared_ptr<const AclUser> acl_user();
  // The user was deleted (or replaced by ACL LOAD) since this connection authenticated.
  bool UserGone() {
    RefreshUser();
    return user_gone_.load(std::memory_order_acquire);
  }
  // The ACL check of a command line; a denial is added to ACL LOG with `context`
  // ("toplevel", "multi", "lua").
  AclDenial CheckAcl(const std::vector<std::string>& argv, const char* context);
  // The same without logging (whether a command can join a pipelined batch).
  bool AclAllows(const std::vector<std::string>& argv);
  // Adds an ACL LOG entry about this client (`username` empty: its user).
  void LogAclDenial(AclDenial reason, const char* context, std::string object,
                    std::string username = "");
  std::string name() const;
  void set_name(std::string n);
  void set_lib(std::string name, std::string ver);
  const std::string& peer() const { return peer_; }
  const std::string& local_addr() const { return local_; }
  std::atomic<bool> no_evict{false};
  net::EventLoop* loop() { return loop_; }
  RespServer& server() { return *server_; }

  // For a handler whose reply comes later (FLUSHALL, EVAL, ...): the connection reads no
  // further commands until the returned function is called (once, from any thread) with
  // the encoded reply, which is then sent in order. The handler writes no reply itself.
  using Completion = std::function<void(std::string reply)>;
  Completion Suspend();

  // CLIENT REPLY: OFF silences command replies until ON; SKIP silences the next command's.
  // Pub/sub confirmations and messages are pushes and always go out (Redis 7.0).
  enum class ReplyMode { kOn, kOff, kSkip };
  void SetReplyMode(ReplyMode mode);

  // MONITOR: from now on this client receives every command other clients run.
  void StartMonitor();
  bool is_monitor() const { return monitor_; }
  // Appends one monitor line (from any thread: posted to this client's loop).
  void FeedMonitorLine(std::string line);

  // Closes after the pending replies are written (QUIT, protocol errors, CLIENT KILL).
  void CloseAfterReply() { close_after_reply_ = true; }
  // Sends the error `line` as the reply of the current command after `delay`; until
  // then the connection runs nothing more (a failed AUTH held by the AuthThrottle).
  void HoldErrorReply(std::chrono::milliseconds delay, std::string line);

  // MULTI state.
  bool in_multi() const { return in_multi_; }
  void BeginMulti() { in_multi_ = true, multi_dirty_ = false, queued_.clear(); }
  void DiscardMulti();
  // Replies `error` to a command refused before it ran (arity, ACL, BUSY): inside MULTI
  // the transaction is flagged, and a refused EXEC ends it with EXECABORT, as in Redis.
  void Reject(const CommandSpec& spec, const std::string& error);
  // EXEC: runs the queued commands in one store transaction and replies.
  void ExecMulti();

  // WATCH state. Watch() runs inside a store transaction (see RespServer::Watch).
  void Watch(store::Txn& txn, const std::string& key);
  void UnwatchAll();
  void MarkWatchDirty() { watch_dirty_ = true; }
  size_t watched_count() const { return watched_.size(); }

  // Pub/sub.
  store::Subscriber& subscriber();  // created on first use
  bool has_subscriptions() const { return subscriber_ && subscriber_->SubscriptionCount() > 0; }
  size_t subscription_count() const { return subscriber_ ? subscriber_->SubscriptionCount() : 0; }
  // What it is subscribed to (any thread: CLIENT LIST, ACL SETUSER).
  std::vector<std::string> subscribed_channels() const;
  std::vector<std::string> subscribed_patterns() const;

  // Blocking pops: parks the connection until served, timed out or unblocked.
  // `format` writes the served reply; `timeout_null_array` picks *-1 vs $-1 on timeout.
  using PopFormatter = std::function<void(ReplyWriter&, const store::PopResult&)>;
  void Block(store::PopRequest request, int64_t timeout_ms, PopFormatter format,
             bool timeout_null_array);
  // The same for any blocked command (BZPOPMIN, BZMPOP, ...): `request.serve` decides what
  // serves the client and what `format` receives.
  void Block(store::BlockRequest request, int64_t timeout_ms, PopFormatter format,
             bool timeout_null_array);
  bool blocked() const { return blocked_id_ != 0 || blocking_; }
  // The INFO commandstats name of the blocked command (InvokeCommand sets it), so an
  // error answered at unblock counts as its failed call.
  void set_blocked_command_stats_name(std::string name) { block_stats_name_ = std::move(name); }
  // The store waiter id while blocked (0 otherwise); readable from any thread.
  uint64_t blocked_id() const { return blocked_id_.load(); }
  // CLIENT UNBLOCK from any thread: withdraws the waiter and, if that worked, has the
  // client's loop send the timeout reply (or the UNBLOCKED error). True if unblocked.
  bool UnblockFromAnyThread(bool error);
  // CLIENT PAUSE: whether `argv` (a complete command) is to be held by the pause in
  // force (see RespServer::Pause), and the resumption once the pause ends (on the loop).
  bool HeldByPause(const std::vector<std::string>& argv);
  void ResumeFromPause();
  bool paused() const { return paused_.load(); }
  // RESET: back to a fresh session (keeps the socket and the id).
  void Reset();
  // CLIENT KILL from any thread.
  void KillFromAnyThread();

  // Diagnostics for CLIENT LIST / INFO.
  // `current`: the command being run by this very client (CLIENT LIST/INFO about itself),
  // counted in qbuf and argv-mem as Redis counts it.
  std::string ClientInfoLine(const std::vector<std::string>* current = nullptr) const;
  int64_t age_seconds() const;
  int64_t idle_seconds() const;
  void set_last_command(std::string name);
  // Who this client is for the store's observers: its CLIENT SETNAME name, else "resp:<id>".
  std::string ClientLabel() const;

 private:
  void OnReadable();
  void OnWritable();
  void ProcessInput();
  // Executes one parsed command (dispatch, auth, multi queueing, arity).
  void Dispatch(std::vector<std::string>& argv);
  // Dispatch without the CLIENT REPLY handling: returns the command's spec (null when
  // unknown).
  const CommandSpec* DispatchCommand(std::vector<std::string>& argv);
  // Shows a command about to run to MONITOR clients.
  void FeedMonitors(const CommandSpec& spec, const std::vector<std::string>& argv);
  void RunCommand(const CommandSpec& spec, std::vector<std::string>& argv);
  // Runs `body` in a store transaction; `reply` (filled by body) is sent once durable.
  void RunInStore(std::function<void(store::Txn&)> body, std::shared_ptr<std::string> reply,
                  size_t replies = 1, store::ExecMode mode = store::ExecMode::kInlineOrQueue);
  // Pipelined store commands are gathered and run as one store write (one WAL append and,
  // under fsync=always, one sync wait) instead of one per command.
  bool Batchable(const std::vector<std::string>& argv, const CommandSpec** spec);
  void FlushBatch();

 public:
  // Runs the deferred batches of `group` (connections of one loop) as one store write and
  // hands each connection its replies. Called by RespServer on the loop thread.
  static void CommitGroup(RespServer* server, net::EventLoop* loop,
                          std::vector<std::shared_ptr<Connection>> group);

 private:
  void DeliverReply(const std::string& reply);
  void OnPopResult(store::Result<store::PopResult> r);
  void OnBlockTimeout();
  // The reply of a blocking command whose timeout ended it without data.
  void ReplyBlockTimedOut();
  // Called when an async step (blocked pop, durable write) finishes on this loop.
  void Resume();
  void FlushOutput();
  void DrainPubSub();
  void Close();
  void UpdateInterest();
  // TLS may hold decrypted input epoll cannot signal: read it from the loop.
  void ReadBufferedInputLater();
  void FinishBlock();
  // Parks the connection on the waiter that `submit` registers with the store.
  void BlockWith(const std::function<uint64_t(store::PopCallback)>& submit, int64_t timeout_ms,
                 PopFormatter format, bool timeout_null_array);
  // A command named POST or Host: (an HTTP request sent to the RESP port).
  static bool IsHttpRequestLine(const std::vector<std::string>& argv);
  static void LogCrossProtocolAttempt(const std::string& peer);
  // Applies client-output-buffer-limit (class pubsub while subscribed, else normal) to
  // the unsent output plus queued pub/sub messages; closes the client and returns true
  // when it is over.
  bool CheckOutputLimits();

  RespServer* server_;
  net::EventLoop* loop_;
  std::shared_ptr<Connection> self_;  // the connection owns itself while open
  std::atomic<bool> drain_scheduled_{false};
  int fd_;
  net::Transport transport_;  // plain or TLS over fd_
  bool buffered_read_posted_ = false;
  std::string peer_, local_;
  uint64_t id_;
  bool closed_ = false;
  bool close_after_reply_ = false;
  uint32_t events_ = 0;        // the epoll interest registered now
  bool input_paused_ = false;  // backpressure: too much unsent output (connection.cc)
  std::chrono::steady_clock::time_point soft_limit_since_{};
  net::OutputBudget::Handle budget_;  // this client's share of --output-buffer-budget
  RequestParser parser_;
  std::string out_;
  size_t out_pos_ = 0;
  ReplyWriter writer_;

  // Fields read by CLIENT LIST on other threads are atomics or guarded by info_mu_.
  std::atomic<int> db_{0};
  std::atomic<int> protocol_{2};
  bool authenticated_ = false;
  mutable std::mutex info_mu_;
  std::string name_, lib_name_, lib_ver_, last_command_;
  // The ACL user (its name and a snapshot of its rules, refreshed when the registry's
  // version moves on); user_ and user_name_ are guarded by info_mu_.
  std::string user_name_ = "default";
  std::shared_ptr<const AclUser> user_;
  std::atomic<uint64_t> user_version_{0};
  uint64_t user_incarnation_ = 0;  // info_mu_: the user as it was when authenticated
  std::atomic<bool> user_unrestricted_{false};
  std::atomic<bool> user_gone_{false};
  void RefreshUser();
  std::atomic<int64_t> qbuf_{0}, omem_{0};
  const std::chrono::steady_clock::time_point created_;
  std::atomic<std::chrono::steady_clock::time_point> last_active_;

  std::atomic<bool> in_multi_{false};
  bool multi_dirty_ = false;
  std::vector<std::vector<std::string>> queued_;
  struct PendingCommand {
    const CommandSpec* spec;
    std::vector<std::string> argv;
  };
  std::vector<PendingCommand> batch_;
  size_t batch_bytes_ = 0;
  // A command parsed while a flushed batch was still waiting for durability.
  std::optional<std::vector<std::string>> stashed_;
  std::unordered_map<std::string, int64_t> watched_;  // [db][key] -> deadline at WATCH
  std::atomic<bool> watch_dirty_{false};

  std::shared_ptr<store::Subscriber> subscriber_;

  // CLIENT REPLY state: replies of the command being dispatched are dropped when
  // suppress_current_ is set; asynchronous completions capture it when they start.
  bool reply_off_ = false;
  bool reply_skip_next_ = false;
  bool suppress_current_ = false;
  std::atomic<bool> monitor_{false};

  // An async step in progress: a write waiting for durability or a blocked pop.
  bool waiting_ = false;
  bool blocking_ = false;  // inside Block() before the waiter id is known
  std::atomic<uint64_t> blocked_id_{0};
  net::EventLoop::TimerId block_timer_ = 0;
  PopFormatter block_format_;
  bool block_null_array_ = true;
  bool block_suppress_ = false;   // CLIENT REPLY OFF/SKIP when the client blocked
  std::string block_stats_name_;  // see set_blocked_command_stats_name
  // Held by CLIENT PAUSE: the command is in stashed_, nothing more is read meanwhile.
  std::atomic<bool> paused_{false};
};

}  // namespace redge::resp
