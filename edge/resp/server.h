// RespServer: the RESP (Redis protocol) listener. Accepts connections on one address,
// spreads them over a few event loops, and runs commands from the command table against
// the store.
//
// What it promises:
//  - Commands of one connection are answered in order; replies produced by one read are
//    coalesced into as few writes as the socket takes.
//  - No thread per client: an idle, blocked (BLPOP...) or subscribed client is a socket
//    on a loop plus a store waiter or subscriber. One slow client never delays another:
//    a write that must be durable (fsync=always) parks only its own connection.
//  - A subscriber over its output limit is disconnected (store/pubsub.h policy).
//  - Protocol violations get Redis's "ERR Protocol error: ..." reply, then a close.
//
// Thread-safety: Start/Stop from one controlling thread; the stats and CLIENT operations
// are safe from any loop.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "edge/auth_guard.h"
#include "edge/net/event_loop.h"
#include "edge/net/output_budget.h"
#include "edge/net/tls.h"
#include "edge/resp/acl_registry.h"
#include "edge/resp/command_stats.h"
#include "edge/resp/config_table.h"
#include "edge/resp/output_limits.h"
#include "edge/resp/protocol.h"
#include "edge/resp/slowlog.h"
#include "store/status.h"
#include "store/store.h"

namespace redge {
class MetricsRegistry;
}

namespace redge::resp {

class Connection;
class ScriptEngine;

struct RespOptions {
  std::string host = "127.0.0.1";
  int port = 6379;  // 0 picks an ephemeral port (see RespServer::port())
  std::string requirepass;
  int io_threads = 1;  // event loops (--resp-threads)
  ParserLimits limits;
  OutputLimits output_limits;  // client-output-buffer-limit
  // The process-wide budget of unsent output (shared with HTTP); null = none. Must
  // outlive the server.
  net::OutputBudget* output_budget = nullptr;
  // The most RESP connections the file descriptors allow (main.cc plans them); CONFIG SET
  // maxclients may lower the limit and raise it again up to this.
  int max_clients = 10000;
  // What INFO/HELLO report as redis_version: the Redis release whose behaviour redge
  // follows (clients such as BullMQ and RQ check it).
  std::string version = "7.0.15";
  std::string data_dir;
  std::string fsync = "everysec";
  std::string aclfile;  // --aclfile: users loaded at Start; ACL LOAD / ACL SAVE use it
  // `user NAME RULES...` settings (redis.conf's `user`), applied at Start.
  std::vector<std::string> acl_users;
  // TLS on every connection (edge/net/tls.h); null = plain RESP.
  std::shared_ptr<net::TlsContext> tls;
};

struct RespStats {
  std::atomic<int64_t> connections_received{0};
  std::atomic<int64_t> connected_clients{0};
  std::atomic<int64_t> blocked_clients{0};
  std::atomic<int64_t> pubsub_clients{0};
  std::atomic<int64_t> commands_processed{0};
  std::atomic<int64_t> rejected_connections{0};
  std::atomic<int64_t> protocol_errors{0};
  std::atomic<int64_t> output_limit_disconnections{0};
  std::atomic<int64_t> cross_protocol_closes{0};  // "POST" / "Host:" as a command
  std::atomic<int64_t> net_input_bytes{0};
  std::atomic<int64_t> net_output_bytes{0};
  std::atomic<int64_t> keyspace_hits{0};
  std::atomic<int64_t> keyspace_misses{0};
  // CONFIG RESETSTAT: the store's expired-key count at the reset (INFO reports the rest).
  std::atomic<int64_t> expired_keys_base{0};
};

class RespServer {
 public:
  RespServer(store::Store* store, RespOptions options);
  ~RespServer();

  // Binds and starts the loops; returns an error if the address cannot be bound.
  store::Status Start();
  // Closes the listener and every connection, stops the loops.
  void Stop();
  int port() const { return port_; }

  store::Store& store() { return *store_; }
  const RespOptions& options() const { return options_; }
  // The request limits in force (CONFIG SET changes them; thread-safe).
  int64_t max_bulk_len() const { return max_bulk_len_.load(std::memory_order_relaxed); }
  size_t max_query_buffer() const { return max_query_buffer_.load(std::memory_order_relaxed); }
  RespStats& stats() { return stats_; }
  // INFO commandstats / errorstats (every error reply written is counted here).
  CommandStats& command_stats() { return command_stats_; }
  // Adds a collector of the client gauges to `registry` for GET /metrics. This server
  // must outlive every later registry.Render() (stop the HTTP server first).
  void ExportMetrics(MetricsRegistry& registry);
  int64_t start_time_ms() const { return start_time_ms_; }

  // Client registry (CLIENT LIST / KILL / UNBLOCK / INFO).
  void Register(const std::shared_ptr<Connection>& c);
  // `c` has store commands ready; they run with those of the loop's other clients in one
  // store write once the loop has read every ready socket (one WAL append, one sync).
  void DeferBatch(net::EventLoop* loop, const std::shared_ptr<Connection>& c);
  void Unregister(uint64_t id);
  std::vector<std::shared_ptr<Connection>> Clients();
  std::shared_ptr<Connection> FindClient(uint64_t id);
  uint64_t NextClientId() { return next_client_id_++; }

  // MONITOR: clients that receive every command run by others, as Redis formats it
  // ('+<unix time.us> [<db> <addr>] "cmd" "arg" ...').
  void AddMonitor(const std::shared_ptr<Connection>& c);
  bool has_monitors() const { return has_monitors_.load(std::memory_order_relaxed); }
  // `addr` is the client's ip:port, or "lua" for commands run by scripts. AUTH and HELLO
  // arguments are redacted.
  void FeedMonitors(int db, const std::string& addr, const std::vector<std::string>& argv);

  // WATCH registry. Watch() must be called inside a store transaction (store lock held)
  // so no write can slip between reading a key and watching it.
  void Watch(Connection* c, const std::string& meta_key, bool existed);
  void UnwatchAll(Connection* c, const std::vector<std::string>& meta_keys);
  // Drops every watch of `c` (its destruction).
  void ForgetWatcher(Connection* c);

  // CONFIG RESETSTAT: zeroes the counters INFO reports (stats, commandstats, errorstats).
  void ResetStats();
  // INFO's instantaneous_ops_per_sec / input / output kbps: averages of samples taken
  // every 100 ms on the first loop (edge/resp/info_command.cc).
  struct Rates {
    double ops_per_sec = 0, input_kbps = 0, output_kbps = 0;
  };
  Rates rates();

  // CLIENT PAUSE / UNPAUSE (Redis 7.0, edge/resp/client_pause.cc). While a pause is on,
  // commands of every client that may write (kWrite, kMayReplicate, an EXEC of such
  // commands; kWrite mode) or all commands (kAll mode) are held: the connection stops
  // reading, its loop goes on, and it counts as blocked. A held command was checked first
  // (unknown command, arity, NOAUTH, subscribed context: those errors are answered at
  // once). When the pause ends (UNPAUSE, or its end time) held clients resume in the order
  // they were held. Expiry is suspended meanwhile (Store::SetExpiryPaused). A pause
  // extends an earlier one: the stricter mode and the later end win.
  enum class PauseMode { kOff = 0, kWrite = 1, kAll = 2 };
  void Pause(PauseMode mode, int64_t end_ms);
  void Unpause();
  // The pause in force now (ends it when its time has passed). Any thread.
  PauseMode pause_mode();
  // Holds `c` until the pause ends (on c's loop; c already stashed its command).
  void HoldForPause(const std::shared_ptr<Connection>& c);

  // Lua scripting and functions (EVAL, FUNCTION, FCALL).
  ScriptEngine& scripting() { return *scripting_; }

  // CONFIG GET/SET (every Redis 7.0 parameter; hooks make redge's own take effect).
  ConfigTable& config() { return config_; }
  SlowLog& slowlog() { return slowlog_; }

  // CONFIG SET-able settings.
  OutputLimits output_limits() const;
  void set_output_limits(const OutputLimits& limits);
  std::string requirepass() const;
  void set_requirepass(std::string p);
  // Failed AUTH / HELLO AUTH per peer address: backoff and rate-limited logs.
  AuthThrottle& auth_throttle() { return auth_throttle_; }
  // ACL users, the ACL log and the ACL file (acl_registry.h).
  AclRegistry& acl() { return acl_; }
  // Closes the connections authenticated as one of `users` (ACL DELUSER, ACL LOAD);
  // `current` (the client running the command) closes after its reply instead.
  void KillClientsOfUsers(const std::vector<std::string>& users, Connection* current);
  // ACL SETUSER: subscribers of `user` whose channels or patterns the new rules no longer
  // allow are closed, as Redis does.
  void KillSubscribersLosingChannels(const std::string& user, Connection* current);

 private:
  void AcceptLoop();
  void InitConfig();
  void OnCommit(const std::vector<std::string>& touched, int flushed_db);

  store::Store* store_;
  RespOptions options_;
  std::unique_ptr<ScriptEngine> scripting_;
  RespStats stats_;
  CommandStats command_stats_;
  int listen_fd_ = -1;
  int port_ = 0;
  int64_t start_time_ms_ = 0;
  std::vector<std::unique_ptr<net::EventLoop>> loops_;
  // Per loop: connections whose pipelined store commands wait for the loop's shared write
  // (touched only by that loop's thread; the map is fixed after Start).
  std::unordered_map<net::EventLoop*, std::vector<std::weak_ptr<Connection>>> deferred_;
  void CommitDeferred(net::EventLoop* loop);
  std::vector<std::thread> threads_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> next_client_id_{1};
  // maxclients as CONFIG SET left it (at most options_.max_clients); read by the acceptor.
  std::atomic<int64_t> max_clients_{0};
  // proto-max-bulk-len and client-query-buffer-limit as CONFIG SET left them; read by
  // every connection before each request.
  std::atomic<int64_t> max_bulk_len_{0};
  std::atomic<size_t> max_query_buffer_{0};
  size_t next_loop_ = 0;

  mutable std::mutex clients_mu_;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> clients_;

  std::mutex monitors_mu_;
  std::vector<std::weak_ptr<Connection>> monitors_;
  std::atomic<bool> has_monitors_{false};

  std::mutex watch_mu_;
  // Per watched key: the watchers, and whether the key existed when each one watched it
  // (a FLUSHDB/FLUSHALL touches a watched key only if it existed, as in Redis).
  std::unordered_map<std::string, std::map<Connection*, bool>> watchers_;

  // Rate samples (guarded by rates_mu_); SampleRates runs on the first loop.
  void SampleRates();
  static constexpr size_t kRateSamples = 16;
  std::mutex rates_mu_;
  std::array<double, kRateSamples> ops_samples_{}, in_samples_{}, out_samples_{};
  size_t rate_index_ = 0;
  int64_t rate_last_ms_ = 0, rate_last_ops_ = 0, rate_last_in_ = 0, rate_last_out_ = 0;

  // CLIENT PAUSE state (pause_mu_ guards the rest; the atomics are for the fast path).
  void ReleaseHeld(std::shared_ptr<std::deque<std::weak_ptr<Connection>>> batch);
  std::atomic<int> pause_mode_{0};
  std::atomic<int64_t> pause_end_ms_{0};
  std::mutex pause_mu_;
  std::deque<std::weak_ptr<Connection>> held_;

  mutable std::mutex config_mu_;
  std::string requirepass_;
  ConfigTable config_;
  SlowLog slowlog_;
  OutputLimits output_limits_;
  AuthThrottle auth_throttle_{"resp"};
  AclRegistry acl_;
};

}  // namespace redge::resp
