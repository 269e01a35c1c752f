#include "edge/resp/server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "base/thread_name.h"
#include "edge/metrics.h"
#include "edge/net/listener.h"
#include "edge/resp/command.h"
#include "edge/resp/connection.h"
#include "edge/resp/lua_engine.h"
#include "edge/resp/stream_util.h"
#include "store/object.h"

namespace redge::resp {

RespServer::RespServer(store::Store* store, RespOptions options)
    : store_(store),
      options_(std::move(options)),
      scripting_(std::make_unique<ScriptEngine>(options_.version)),
      requirepass_(options_.requirepass),
      output_limits_(options_.output_limits) {
  RegisterAllCommands();
  // requirepass is the default user's password (ACL users: acl_registry.h).
  if (!options_.requirepass.empty()) acl_.SetDefaultPassword(options_.requirepass);
  InitConfig();
  ReplyWriter::SetErrorObserver(
      [](void* stats, std::string_view line) {
        static_cast<CommandStats*>(stats)->RecordError(line);
      },
      &command_stats_);
}

void RespServer::InitConfig() {
  const auto& o = options_;
  config_.SetInitial("bind", o.host);
  config_.SetInitial("port", std::to_string(o.port));
  config_.SetInitial("requirepass", o.requirepass);
  config_.SetInitial("databases", std::to_string(store::Store::kNumDbs));
  config_.SetInitial("maxclients", std::to_string(o.max_clients));
  config_.SetInitial("save", "");
  config_.SetInitial("appendonly", "no");
  config_.SetInitial("appendfsync", o.fsync == "always" ? "always"
                                    : o.fsync == "no"   ? "no"
                                                        : "everysec");
  config_.SetInitial("dir", o.data_dir);
  config_.SetInitial("proto-max-bulk-len", std::to_string(o.limits.max_bulk_len));
  config_.SetInitial("client-query-buffer-limit", std::to_string(o.limits.max_query_buffer));
  config_.SetInitial("io-threads", std::to_string(o.io_threads));
  config_.SetInitial("client-output-buffer-limit", FormatOutputLimits(o.output_limits));
  max_clients_ = o.max_clients;
  max_bulk_len_ = o.limits.max_bulk_len;
  max_query_buffer_ = o.limits.max_query_buffer;
  config_.OnSet("proto-max-bulk-len", [this](const std::string& v, bool apply) {
    if (apply) max_bulk_len_ = std::stoll(v);
    return std::string();
  });
  config_.OnSet("client-query-buffer-limit", [this](const std::string& v, bool apply) {
    if (apply) max_query_buffer_ = static_cast<size_t>(std::stoll(v));
    return std::string();
  });
  // As Redis: more than the file descriptors allow is refused with the number they do
  // allow; fewer than are connected now closes no one, it only refuses the next ones.
  config_.OnSet("maxclients", [this](const std::string& v, bool apply) {
    const int64_t n = std::stoll(v);
    if (n > options_.max_clients) {
      return "The operating system is not able to handle the specified number of clients, "
             "try with " +
             std::to_string(options_.max_clients);
    }
    if (apply) max_clients_ = n;
    return std::string();
  });
  config_.OnSet("requirepass", [this](const std::string& v, bool apply) {
    if (apply) set_requirepass(v);
    return std::string();
  });
  config_.SetInitial("aclfile", o.aclfile);
  config_.OnSet("acl-pubsub-default", [this](const std::string& v, bool apply) {
    if (apply) acl_.set_pubsub_all(v == "allchannels");
    return std::string();
  });
  config_.OnSet("acllog-max-len", [this](const std::string& v, bool apply) {
    if (apply) acl_.set_log_max_len(static_cast<size_t>(std::stoll(v)));
    return std::string();
  });
  config_.OnSet("notify-keyspace-events", [this](const std::string& v, bool apply) {
    if (apply) store_->SetKeyspaceEvents(v);
    return std::string();
  });
  // lua-time-limit is its alias: one value, read by the scripting engine.
  config_.OnSet("busy-reply-threshold", [this](const std::string& v, bool apply) {
    if (apply) scripting_->set_busy_threshold_ms(std::stoll(v));
    return std::string();
  });
  // OBJECT ENCODING: the compact-encoding limits the type modules apply at each write.
  auto& limits = store_->encoding_limits();
  const std::pair<const char*, std::atomic<int64_t>*> kLimits[] = {
      {"hash-max-listpack-entries", &limits.hash_max_listpack_entries},
      {"hash-max-listpack-value", &limits.hash_max_listpack_value},
      {"set-max-intset-entries", &limits.set_max_intset_entries},
      {"zset-max-listpack-entries", &limits.zset_max_listpack_entries},
      {"zset-max-listpack-value", &limits.zset_max_listpack_value},
  };
  for (const auto& [name, target] : kLimits) {
    target->store(config_.IntValue(name));
    config_.OnSet(name, [target = target](const std::string& v, bool apply) {
      int64_t n = 0;
      if (apply && ParseMemory(v, &n)) target->store(n);
      return std::string();
    });
  }
  // OBJECT FREQ: the LFU counter follows Redis's parameters. Hooks run under the config
  // lock, so the three values live in atomics of their own.
  struct Lfu {
    std::atomic<bool> enabled{false};
    std::atomic<int64_t> log_factor{10}, decay{1};
  };
  auto lfu = std::make_shared<Lfu>();
  lfu->enabled = config_.Value("maxmemory-policy").find("lfu") != std::string::npos;
  lfu->log_factor = config_.IntValue("lfu-log-factor");
  lfu->decay = config_.IntValue("lfu-decay-time");
  store_->SetLfuParams(lfu->enabled, lfu->log_factor, lfu->decay);
  for (const char* name : {"maxmemory-policy", "lfu-log-factor", "lfu-decay-time"}) {
    config_.OnSet(name, [this, lfu, name = std::string(name)](const std::string& v, bool apply) {
      if (!apply) return std::string();
      int64_t n = 0;
      if (name == "maxmemory-policy") {
        lfu->enabled = v.find("lfu") != std::string::npos;
      } else if (ParseMemory(v, &n)) {
        (name == "lfu-log-factor" ? lfu->log_factor : lfu->decay) = n;
      }
      store_->SetLfuParams(lfu->enabled, lfu->log_factor, lfu->decay);
      return std::string();
    });
  }
  // Stream node sizes: read by XADD and trimming (edge/resp/stream_util.h).
  config_.OnSet("stream-node-max-entries", [](const std::string& v, bool apply) {
    return apply ? streams::SetNodeMaxEntries(v) : std::string();
  });
  config_.OnSet("stream-node-max-bytes", [](const std::string& v, bool apply) {
    return apply ? streams::SetNodeMaxBytes(v) : std::string();
  });
  config_.OnSet("slowlog-log-slower-than", [this](const std::string& v, bool apply) {
    if (apply) slowlog_.set_threshold_us(std::stoll(v));
    return std::string();
  });
  config_.OnSet("slowlog-max-len", [this](const std::string& v, bool apply) {
    if (apply) slowlog_.set_max_len(std::stoll(v));
    return std::string();
  });
  config_.OnSet("client-output-buffer-limit", [this](const std::string& v, bool apply) {
    OutputLimits limits = output_limits();
    std::string err = ParseOutputLimits(v, &limits);
    if (err.empty() && apply) set_output_limits(limits);
    return err;
  });
}

RespServer::~RespServer() {
  Stop();
  ReplyWriter::SetErrorObserver(nullptr, nullptr);
}

void RespServer::ExportMetrics(MetricsRegistry& registry) {
  registry.AddCollector([this](MetricWriter& w) {
    w.WriteGauge("redge_resp_connected_clients", "RESP client connections open now.",
                 static_cast<double>(stats_.connected_clients.load()));
    w.WriteGauge("redge_resp_blocked_clients",
                 "RESP clients parked in a blocking pop (BLPOP, BRPOP, BLMOVE, ...).",
                 static_cast<double>(stats_.blocked_clients.load()));
  });
}

std::string RespServer::requirepass() const {
  std::lock_guard lock(config_mu_);
  return requirepass_;
}

void RespServer::set_requirepass(std::string p) {
  acl_.SetDefaultPassword(p);
  std::lock_guard lock(config_mu_);
  requirepass_ = std::move(p);
}

OutputLimits RespServer::output_limits() const {
  std::lock_guard lock(config_mu_);
  return output_limits_;
}

void RespServer::set_output_limits(const OutputLimits& limits) {
  std::lock_guard lock(config_mu_);
  output_limits_ = limits;
}

store::Status RespServer::Start() {
  for (const std::string& line : options_.acl_users) {
    // As redis.conf's `user` lines: the default user is reset first, others start empty.
    bool ok = false;
    std::vector<std::string> words = SplitArgs(line, &ok);
    if (!ok || words.empty()) {
      return store::Status::InvalidArgument("user setting: unbalanced quotes");
    }
    std::vector<std::string> rules(words.begin() + 1, words.end());
    if (words[0] == "default") rules.insert(rules.begin(), "reset");
    if (std::string error = acl_.SetUser(words[0], rules); !error.empty()) {
      return store::Status::InvalidArgument("user " + words[0] + ": " + error);
    }
  }
  if (!options_.aclfile.empty()) {
    // Like Redis at startup: a broken ACL file stops the server (nothing half-loaded).
    if (std::string errors = acl_.LoadFile(options_.aclfile); !errors.empty()) {
      return store::Status::InvalidArgument("ACL file " + options_.aclfile + ": " + errors);
    }
  }
  auto listening = net::ListenTcp(options_.host, options_.port, "RESP");
  if (!listening.ok()) return listening.status();
  listen_fd_ = listening->fd;
  port_ = listening->port;
  config_.SetInitial("port", std::to_string(port_));
  start_time_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();

  // Function libraries are stored: load them now, so a bad one is logged at start.
  store_->Exec(0, [this](store::Txn& txn) { scripting_->SyncFunctions(txn); });
  store_->SetCommitListener([this](const std::vector<std::string>& touched, int flushed_db) {
    OnCommit(touched, flushed_db);
  });
  int n = std::max(1, options_.io_threads);
  for (int i = 0; i < n; ++i) {
    loops_.push_back(std::make_unique<net::EventLoop>());
    deferred_[loops_.back().get()];
  }
  for (int i = 0; i < n; ++i) {
    threads_.push_back(base::StartNamedThread("redge-resp-" + std::to_string(i),
                                              [loop = loops_[i].get()] { loop->Run(); }));
  }
  loops_.front()->Post([this] { SampleRates(); });
  acceptor_ = base::StartNamedThread("redge-resp-acc", [this] { AcceptLoop(); });
  return store::Status::OK();
}

void RespServer::DeferBatch(net::EventLoop* loop, const std::shared_ptr<Connection>& c) {
  auto& list = deferred_[loop];
  // Posted tasks run after the loop has handled every ready socket of this wake-up, so
  // the commit collects the commands of all clients that sent some.
  if (list.empty()) loop->Post([this, loop] { CommitDeferred(loop); });
  list.push_back(c);
}

void RespServer::CommitDeferred(net::EventLoop* loop) {
  auto& list = deferred_[loop];
  if (list.empty()) return;
  std::vector<std::shared_ptr<Connection>> group;
  group.reserve(list.size());
  for (auto& weak : list) {
    if (auto c = weak.lock()) group.push_back(std::move(c));
  }
  list.clear();
  if (!group.empty()) Connection::CommitGroup(this, loop, std::move(group));
}

void RespServer::AcceptLoop() {
  while (!stopping_) {
    sockaddr_storage ss{};
    int fd = net::AcceptConnection(listen_fd_, stopping_, &ss, "RESP");
    if (fd < 0) break;
    stats_.connections_received++;
    if (stats_.connected_clients.load() >= max_clients_.load()) {
      static const char kMsg[] = "-ERR max number of clients reached\r\n";
      // A TLS client could not read a plain-text error: it just sees the close.
      ssize_t w = options_.tls ? 0 : send(fd, kMsg, sizeof(kMsg) - 1, MSG_NOSIGNAL);
      (void)w;
      ::close(fd);
      stats_.rejected_connections++;
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    SSL* ssl = nullptr;
    if (options_.tls && (ssl = options_.tls->NewSession(fd)) == nullptr) {
      ::close(fd);
      continue;
    }
    net::EventLoop* loop = loops_[next_loop_++ % loops_.size()].get();
    loop->Post([this, loop, fd, ssl] {
      auto c = std::make_shared<Connection>(this, loop, fd, "", ssl);
      Register(c);
      c->Start();
    });
  }
}

void RespServer::Stop() {
  if (stopping_.exchange(true)) return;
  // A script looping forever must not keep the store's writer (and shutdown) waiting.
  scripting_->KillForShutdown();
  if (listen_fd_ >= 0) {
    shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
  }
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& c : Clients()) c->KillFromAnyThread();
  for (auto& l : loops_) l->Stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  store_->SetCommitListener(nullptr);
  loops_.clear();
}

void RespServer::Register(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(clients_mu_);
  clients_[c->id()] = c;
  stats_.connected_clients = static_cast<int64_t>(clients_.size());
}

void RespServer::Unregister(uint64_t id) {
  std::lock_guard lock(clients_mu_);
  clients_.erase(id);
  stats_.connected_clients = static_cast<int64_t>(clients_.size());
}

std::vector<std::shared_ptr<Connection>> RespServer::Clients() {
  std::vector<std::shared_ptr<Connection>> out;
  std::lock_guard lock(clients_mu_);
  out.reserve(clients_.size());
  for (auto& [id, weak] : clients_) {
    if (auto c = weak.lock()) out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a->id() < b->id(); });
  return out;
}

std::shared_ptr<Connection> RespServer::FindClient(uint64_t id) {
  std::lock_guard lock(clients_mu_);
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second.lock();
}

void RespServer::AddMonitor(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(monitors_mu_);
  monitors_.push_back(c);
  has_monitors_ = true;
}

namespace {

// Redis's sdscatrepr: a double-quoted string with C escapes for what is not printable.
void AppendRepr(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '"':
        out->append("\\\"");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\a':
        out->append("\\a");
        break;
      case '\b':
        out->append("\\b");
        break;
      default:
        if (isprint(c)) {
          out->push_back(static_cast<char>(c));
        } else {
          char buf[8];
          snprintf(buf, sizeof(buf), "\\x%02x", c);
          out->append(buf);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

void RespServer::FeedMonitors(int db, const std::string& addr,
                              const std::vector<std::string>& argv) {
  std::vector<std::shared_ptr<Connection>> targets;
  {
    std::lock_guard lock(monitors_mu_);
    std::vector<std::weak_ptr<Connection>> alive;
    for (auto& w : monitors_) {
      if (auto c = w.lock()) {
        targets.push_back(c);
        alive.push_back(w);
      }
    }
    monitors_.swap(alive);
    has_monitors_ = !monitors_.empty();
  }
  if (targets.empty()) return;
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  char head[64];
  snprintf(head, sizeof(head), "+%lld.%06lld [%d ", static_cast<long long>(us / 1000000),
           static_cast<long long>(us % 1000000), db);
  std::string line = head;
  line += addr;
  line += ']';
  // Credentials never reach a monitor (RedactedArgv).
  for (const auto& arg : RedactedArgv(argv)) {
    line += ' ';
    if (arg == "(redacted)") {
      line += "\"(redacted)\"";
    } else {
      AppendRepr(&line, arg);
    }
  }
  line += "\r\n";
  for (auto& c : targets) c->FeedMonitorLine(line);
}

void RespServer::Watch(Connection* c, const std::string& meta_key, bool existed) {
  std::lock_guard lock(watch_mu_);
  watchers_[meta_key].emplace(c, existed);
}

void RespServer::UnwatchAll(Connection* c, const std::vector<std::string>& meta_keys) {
  std::lock_guard lock(watch_mu_);
  for (const auto& k : meta_keys) {
    auto it = watchers_.find(k);
    if (it == watchers_.end()) continue;
    it->second.erase(c);
    if (it->second.empty()) watchers_.erase(it);
  }
}

void RespServer::ForgetWatcher(Connection* c) {
  std::lock_guard lock(watch_mu_);
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    it->second.erase(c);
    it = it->second.empty() ? watchers_.erase(it) : std::next(it);
  }
}

void RespServer::OnCommit(const std::vector<std::string>& touched, int flushed_db) {
  std::lock_guard lock(watch_mu_);
  if (watchers_.empty()) return;
  if (flushed_db >= 0) {
    // A watched key that existed when it was watched is gone now; one that did not exist
    // then and was created since already made its watchers dirty when it was written.
    for (auto& [key, conns] : watchers_) {
      if (!key.empty() && static_cast<uint8_t>(key[0]) == flushed_db) {
        for (auto& [c, existed] : conns) {
          if (existed) c->MarkWatchDirty();
        }
      }
    }
    return;
  }
  for (const auto& k : touched) {
    auto it = watchers_.find(k);
    if (it == watchers_.end()) continue;
    for (auto& [c, existed] : it->second) c->MarkWatchDirty();
  }
}

}  // namespace redge::resp
