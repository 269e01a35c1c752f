// INFO [section ...] with Redis 7.0's sections, field names and selection rules: no
// argument or "default" = server clients memory persistence stats replication cpu
// modules errorstats cluster keyspace; "all" adds commandstats (and, in Redis,
// latencystats, which redge does not track); "everything" = all; names are
// case-insensitive, unknown ones ignored, the output in Redis's fixed section order.
//
// What the fields mean here (redge is not Redis; docs/resp.md has the full list):
//  - memory: used_memory is the process heap in use (malloc's accounting), rss from
//    /proc; the RocksDB caches are part of both. Redis's per-dataset split is not tracked:
//    used_memory_startup is the heap at the first INFO memory (taken once, so close to the
//    start on a server that is asked early), overhead = startup.
//  - persistence: RocksDB, not RDB/AOF. SAVE/BGSAVE flush the memtables and sync the WAL
//    (Store::SaveAsync): rdb_changes_since_last_save counts key-space changes since the
//    last one (or the start), rdb_last_save_time, rdb_saves and rdb_last_bgsave_status
//    follow them; no fork, so the rest are their idle values. redge_* fields describe
//    the store.
//  - replication: always a master without replicas.
//  - cpu: the process's getrusage (no main-thread split: redge has no main thread).
//  - keyspace: avg_ttl is not computed (0).
#include <malloc.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

#include "edge/resp/command.h"
#include "edge/resp/command_stats.h"
#include "edge/resp/connection.h"
#include "edge/resp/lua_engine.h"
#include "edge/resp/server.h"

namespace redge::resp {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t RssBytes() {
  std::ifstream f("/proc/self/statm");
  int64_t pages = 0, rss = 0;
  f >> pages >> rss;
  return rss * sysconf(_SC_PAGESIZE);
}

int64_t HeapBytes() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd);
}

// Redis's bytesToHuman.
std::string Human(int64_t bytes) {
  char buf[32];
  const double d = static_cast<double>(bytes);
  if (bytes < 1024) {
    snprintf(buf, sizeof(buf), "%lldB", static_cast<long long>(bytes));
  } else if (bytes < 1024LL * 1024) {
    snprintf(buf, sizeof(buf), "%.2fK", d / 1024);
  } else if (bytes < 1024LL * 1024 * 1024) {
    snprintf(buf, sizeof(buf), "%.2fM", d / (1024 * 1024));
  } else if (bytes < 1024LL * 1024 * 1024 * 1024) {
    snprintf(buf, sizeof(buf), "%.2fG", d / (1024.0 * 1024 * 1024));
  } else {
    snprintf(buf, sizeof(buf), "%.2fT", d / (1024.0 * 1024 * 1024 * 1024));
  }
  return buf;
}

// 40 random hex characters, fixed for the process (run_id, master_replid).
std::string RandomHexId() {
  std::random_device rd;
  std::mt19937_64 rng(rd());
  static const char* kHex = "0123456789abcdef";
  std::string out(40, '0');
  for (auto& c : out) c = kHex[rng() & 15];
  return out;
}

const std::string& RunId() {
  static const std::string id = RandomHexId();
  return id;
}

const std::string& ReplId() {
  static const std::string id = RandomHexId();
  return id;
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

int64_t StartupHeap() {
  static const int64_t heap = HeapBytes();  // first INFO: close enough to the start
  return heap;
}

struct Writer {
  std::string s;
  void Line(const std::string& k, const std::string& v) { s += k + ":" + v + "\r\n"; }
  void Num(const std::string& k, int64_t v) { Line(k, std::to_string(v)); }
};

void Server(CommandContext& ctx, Writer& w) {
  utsname u{};
  uname(&u);
  const int64_t now = NowMs();
  const int64_t uptime = (now - ctx.server.start_time_ms()) / 1000;
  char exe[4096] = {0};
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  w.Line("redis_version", ctx.server.options().version);
  w.Line("redis_git_sha1", "00000000");
  w.Line("redis_git_dirty", "0");
  w.Line("redis_build_id", "0");
  w.Line("redge_version", REDGE_VERSION);
  w.Line("redis_mode", "standalone");
  w.Line("os", std::string(u.sysname) + " " + u.release + " " + u.machine);
  w.Num("arch_bits", sizeof(void*) * 8);
  w.Line("monotonic_clock", "POSIX clock_gettime");
  w.Line("multiplexing_api", "epoll");
  w.Line("atomicvar_api", "c11-builtin");
  w.Line("gcc_version", std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
                            std::to_string(__GNUC_PATCHLEVEL__));
  w.Num("process_id", getpid());
  w.Line("process_supervised", getenv("NOTIFY_SOCKET") ? "systemd" : "no");
  w.Line("run_id", RunId());
  w.Num("tcp_port", ctx.server.port());
  w.Num("server_time_usec", now * 1000);
  w.Num("uptime_in_seconds", uptime);
  w.Num("uptime_in_days", uptime / 86400);
  w.Line("hz", ctx.server.config().Value("hz"));
  w.Line("configured_hz", ctx.server.config().Value("hz"));
  w.Num("lru_clock", (now / 1000) & ((1 << 24) - 1));
  w.Line("executable", n > 0 ? std::string(exe, static_cast<size_t>(n)) : "");
  w.Line("config_file", "");
  w.Num("io_threads_active", 0);
}

void Clients(CommandContext& ctx, Writer& w) {
  auto& st = ctx.server.stats();
  w.Num("connected_clients", st.connected_clients);
  w.Num("cluster_connections", 0);
  w.Num("maxclients", ctx.server.config().IntValue("maxclients"));
  w.Num("client_recent_max_input_buffer", 0);
  w.Num("client_recent_max_output_buffer", 0);
  w.Num("blocked_clients", st.blocked_clients);
  w.Num("tracking_clients", 0);
  w.Num("clients_in_timeout_table", 0);
  w.Num("pubsub_clients", st.pubsub_clients);
}

void Memory(CommandContext& ctx, Writer& w) {
  static std::atomic<int64_t> peak{0};
  const int64_t used = HeapBytes();
  const int64_t rss = RssBytes();
  int64_t p = peak.load();
  while (used > p && !peak.compare_exchange_weak(p, used)) {
  }
  p = std::max(p, used);
  const int64_t startup = std::min(StartupHeap(), used);
  const int64_t maxmemory = ctx.server.config().IntValue("maxmemory");
  const int64_t total_system =
      static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
  w.Num("used_memory", used);
  w.Line("used_memory_human", Human(used));
  w.Num("used_memory_rss", rss);
  w.Line("used_memory_rss_human", Human(rss));
  w.Num("used_memory_peak", p);
  w.Line("used_memory_peak_human", Human(p));
  w.Line("used_memory_peak_perc", Fixed(p > 0 ? 100.0 * used / p : 0, 2) + "%");
  w.Num("used_memory_overhead", startup);
  w.Num("used_memory_startup", startup);
  w.Num("used_memory_dataset", used - startup);
  w.Line("used_memory_dataset_perc",
         Fixed(used > 0 ? 100.0 * (used - startup) / used : 0, 2) + "%");
  w.Num("total_system_memory", total_system);
  w.Line("total_system_memory_human", Human(total_system));
  w.Num("maxmemory", maxmemory);
  w.Line("maxmemory_human", Human(maxmemory));
  w.Line("maxmemory_policy", ctx.server.config().Value("maxmemory-policy"));
  w.Line("mem_fragmentation_ratio", Fixed(used > 0 ? static_cast<double>(rss) / used : 0, 2));
  w.Num("mem_fragmentation_bytes", rss - used);
  w.Num("mem_not_counted_for_evict", 0);
  w.Num("mem_replication_backlog", 0);
  w.Num("mem_clients_slaves", 0);
  w.Num("mem_clients_normal", 0);
  w.Num("mem_aof_buffer", 0);
  w.Line("mem_allocator", "libc");
  w.s += ctx.server.scripting().InfoMemory();
  w.Num("active_defrag_running", 0);
  w.Num("lazyfree_pending_objects", 0);
  w.Num("lazyfreed_objects", 0);
}

void Persistence(CommandContext& ctx, Writer& w) {
  const auto store_stats = ctx.server.store().GetStats();
  w.Num("loading", 0);
  w.Num("async_loading", 0);
  w.Num("current_cow_peak", 0);
  w.Num("current_cow_size", 0);
  w.Num("current_cow_size_age", 0);
  w.Line("current_fork_perc", "0.00");
  w.Num("current_save_keys_processed", 0);
  w.Num("current_save_keys_total", 0);
  w.Num("rdb_changes_since_last_save", store_stats.changes_since_save);
  w.Num("rdb_bgsave_in_progress", 0);
  w.Num("rdb_last_save_time", ctx.server.store().LastSaveUnix());
  w.Line("rdb_last_bgsave_status", store_stats.last_save_ok ? "ok" : "err");
  w.Num("rdb_last_bgsave_time_sec", -1);
  w.Num("rdb_current_bgsave_time_sec", -1);
  w.Num("rdb_saves", store_stats.saves);
  w.Num("rdb_last_cow_size", 0);
  w.Num("rdb_last_load_keys_expired", 0);
  w.Num("rdb_last_load_keys_loaded", 0);
  w.Num("aof_enabled", 0);
  w.Num("aof_rewrite_in_progress", 0);
  w.Num("aof_rewrite_scheduled", 0);
  w.Num("aof_last_rewrite_time_sec", -1);
  w.Num("aof_current_rewrite_time_sec", -1);
  w.Line("aof_last_bgrewrite_status", "ok");
  w.Num("aof_rewrites", 0);
  w.Num("aof_rewrites_consecutive_failures", 0);
  w.Line("aof_last_write_status", store_stats.write_failures > 0 ? "err" : "ok");
  w.Num("aof_last_cow_size", 0);
  w.Num("module_fork_in_progress", 0);
  w.Num("module_fork_last_cow_size", 0);
  w.Line("redge_engine", "rocksdb");
  w.Line("redge_fsync", ctx.server.options().fsync);
  w.Num("redge_fsyncs", store_stats.fsyncs);
  w.Num("redge_write_batches", store_stats.writes);
  w.Num("redge_write_failures", store_stats.write_failures);
  w.Num("redge_disk_bytes", static_cast<int64_t>(store_stats.disk_bytes));
}

void Stats(CommandContext& ctx, Writer& w) {
  auto& st = ctx.server.stats();
  const auto store_stats = ctx.server.store().GetStats();
  const auto ps = ctx.server.store().pubsub().GetStats();
  const auto rates = ctx.server.rates();
  w.Num("total_connections_received", st.connections_received);
  w.Num("total_commands_processed", st.commands_processed);
  w.Num("instantaneous_ops_per_sec", static_cast<int64_t>(rates.ops_per_sec));
  w.Num("total_net_input_bytes", st.net_input_bytes);
  w.Num("total_net_output_bytes", st.net_output_bytes);
  w.Num("total_net_repl_input_bytes", 0);
  w.Num("total_net_repl_output_bytes", 0);
  w.Line("instantaneous_input_kbps", Fixed(rates.input_kbps, 2));
  w.Line("instantaneous_output_kbps", Fixed(rates.output_kbps, 2));
  w.Line("instantaneous_input_repl_kbps", "0.00");
  w.Line("instantaneous_output_repl_kbps", "0.00");
  w.Num("rejected_connections", st.rejected_connections);
  w.Num("sync_full", 0);
  w.Num("sync_partial_ok", 0);
  w.Num("sync_partial_err", 0);
  w.Num("expired_keys", store_stats.keys_expired - st.expired_keys_base);
  w.Line("expired_stale_perc", "0.00");
  w.Num("expired_time_cap_reached_count", 0);
  w.Num("expire_cycle_cpu_milliseconds", 0);
  w.Num("evicted_keys", 0);
  w.Num("evicted_clients", 0);
  w.Num("total_eviction_exceeded_time", 0);
  w.Num("current_eviction_exceeded_time", 0);
  w.Num("keyspace_hits", st.keyspace_hits);
  w.Num("keyspace_misses", st.keyspace_misses);
  w.Num("pubsub_channels", ps.channels);
  w.Num("pubsub_patterns", ps.patterns);
  w.Num("pubsubshard_channels", 0);
  w.Num("latest_fork_usec", 0);
  w.Num("total_forks", 0);
  w.Num("migrate_cached_sockets", 0);
  w.Num("slave_expires_tracked_keys", 0);
  w.Num("active_defrag_hits", 0);
  w.Num("active_defrag_misses", 0);
  w.Num("active_defrag_key_hits", 0);
  w.Num("active_defrag_key_misses", 0);
  w.Num("total_active_defrag_time", 0);
  w.Num("current_active_defrag_time", 0);
  w.Num("tracking_total_keys", 0);
  w.Num("tracking_total_items", 0);
  w.Num("tracking_total_prefixes", 0);
  w.Num("unexpected_error_replies", 0);
  w.Num("total_error_replies", ctx.server.command_stats().total_errors());
  w.Num("dump_payload_sanitizations", 0);
  w.Num("client_output_buffer_limit_disconnections", st.output_limit_disconnections);
  w.Num("redge_protocol_errors", st.protocol_errors);
}

void Replication(Writer& w) {
  w.Line("role", "master");
  w.Num("connected_slaves", 0);
  w.Line("master_failover_state", "no-failover");
  w.Line("master_replid", ReplId());
  w.Line("master_replid2", std::string(40, '0'));
  w.Num("master_repl_offset", 0);
  w.Num("second_repl_offset", -1);
  w.Num("repl_backlog_active", 0);
  w.Num("repl_backlog_size", 1048576);
  w.Num("repl_backlog_first_byte_offset", 0);
  w.Num("repl_backlog_histlen", 0);
}

void Cpu(Writer& w) {
  auto secs = [](const timeval& t) {
    return Fixed(static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6, 6);
  };
  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  w.Line("used_cpu_sys", secs(self.ru_stime));
  w.Line("used_cpu_user", secs(self.ru_utime));
  w.Line("used_cpu_sys_children", secs(children.ru_stime));
  w.Line("used_cpu_user_children", secs(children.ru_utime));
}

void CommandStatsSection(CommandContext& ctx, Writer& w) {
  for (const auto& [name, e] : ctx.server.command_stats().Commands()) {
    if (e.calls == 0 && e.rejected == 0 && e.failed == 0) continue;
    const double per_call = e.calls > 0 ? static_cast<double>(e.usec) / e.calls : 0;
    w.Line("cmdstat_" + name, "calls=" + std::to_string(e.calls) + ",usec=" +
                                  std::to_string(e.usec) + ",usec_per_call=" + Fixed(per_call, 2) +
                                  ",rejected_calls=" + std::to_string(e.rejected) +
                                  ",failed_calls=" + std::to_string(e.failed));
  }
}

void ErrorStatsSection(CommandContext& ctx, Writer& w) {
  for (const auto& [code, count] : ctx.server.command_stats().Errors()) {
    w.Line("errorstat_" + code, "count=" + std::to_string(count));
  }
}

void Keyspace(CommandContext& ctx, Writer& w) {
  const store::Store& store = ctx.server.store();
  for (int db = 0; db < store::Store::kNumDbs; ++db) {
    const int64_t n = store.DbSize(db);
    if (n > 0) {
      w.Line("db" + std::to_string(db), "keys=" + std::to_string(n) + ",expires=" +
                                            std::to_string(store.DbExpires(db)) + ",avg_ttl=0");
    }
  }
}

// Redis's fixed order; `in_default`: part of INFO / INFO default.
struct Section {
  const char* name;
  const char* title;
  bool in_default;
};
constexpr Section kSections[] = {
    {"server", "Server", true},
    {"clients", "Clients", true},
    {"memory", "Memory", true},
    {"persistence", "Persistence", true},
    {"stats", "Stats", true},
    {"replication", "Replication", true},
    {"cpu", "CPU", true},
    {"modules", "Modules", true},
    {"commandstats", "Commandstats", false},
    {"errorstats", "Errorstats", true},
    {"cluster", "Cluster", true},
    {"keyspace", "Keyspace", true},
};

void Info(CommandContext& ctx) {
  std::vector<std::string> wanted;
  bool all = false, defaults = ctx.argv.size() == 1;
  for (size_t i = 1; i < ctx.argv.size(); ++i) {
    std::string a = ToLower(ctx.argv[i]);
    if (a == "all" || a == "everything") {
      all = true;
    } else if (a == "default") {
      defaults = true;
    } else {
      wanted.push_back(std::move(a));
    }
  }
  std::string out;
  for (const Section& sec : kSections) {
    const bool pick = all || (defaults && sec.in_default) ||
                      std::find(wanted.begin(), wanted.end(), sec.name) != wanted.end() ||
                      (std::string_view(sec.name) == "modules" &&
                       std::find(wanted.begin(), wanted.end(), "module_list") != wanted.end());
    if (!pick) continue;
    Writer w;
    const std::string_view name = sec.name;
    if (name == "server") {
      Server(ctx, w);
    } else if (name == "clients") {
      Clients(ctx, w);
    } else if (name == "memory") {
      Memory(ctx, w);
    } else if (name == "persistence") {
      Persistence(ctx, w);
    } else if (name == "stats") {
      Stats(ctx, w);
    } else if (name == "replication") {
      Replication(w);
    } else if (name == "cpu") {
      Cpu(w);
    } else if (name == "commandstats") {
      CommandStatsSection(ctx, w);
    } else if (name == "errorstats") {
      ErrorStatsSection(ctx, w);
    } else if (name == "cluster") {
      w.Num("cluster_enabled", 0);
    } else if (name == "keyspace") {
      Keyspace(ctx, w);
    }
    if (!out.empty()) out += "\r\n";
    out += std::string("# ") + sec.title + "\r\n" + w.s;
  }
  ctx.reply.Verbatim("txt", out);
}

}  // namespace

void RespServer::ResetStats() {
  stats_.connections_received = 0;
  stats_.commands_processed = 0;
  stats_.rejected_connections = 0;
  stats_.protocol_errors = 0;
  stats_.output_limit_disconnections = 0;
  stats_.net_input_bytes = 0;
  stats_.net_output_bytes = 0;
  stats_.keyspace_hits = 0;
  stats_.keyspace_misses = 0;
  stats_.expired_keys_base = store_->GetStats().keys_expired;
  command_stats_.Reset();
}

void RespServer::SampleRates() {
  const int64_t now = NowMs();
  {
    std::lock_guard lock(rates_mu_);
    const int64_t ops = stats_.commands_processed, in = stats_.net_input_bytes,
                  out = stats_.net_output_bytes;
    if (rate_last_ms_ != 0 && now > rate_last_ms_) {
      const double dt = static_cast<double>(now - rate_last_ms_);
      // Counters reset by CONFIG RESETSTAT go backwards: that sample counts as 0.
      ops_samples_[rate_index_] = std::max<double>(0, (ops - rate_last_ops_) * 1000.0 / dt);
      in_samples_[rate_index_] = std::max<double>(0, (in - rate_last_in_) * 1000.0 / dt / 1024);
      out_samples_[rate_index_] = std::max<double>(0, (out - rate_last_out_) * 1000.0 / dt / 1024);
      rate_index_ = (rate_index_ + 1) % kRateSamples;
    }
    rate_last_ms_ = now, rate_last_ops_ = ops, rate_last_in_ = in, rate_last_out_ = out;
  }
  if (stopping_) return;
  loops_.front()->RunAfter(std::chrono::milliseconds(100), [this] { SampleRates(); });
}

RespServer::Rates RespServer::rates() {
  std::lock_guard lock(rates_mu_);
  Rates r;
  for (size_t i = 0; i < kRateSamples; ++i) {
    r.ops_per_sec += ops_samples_[i] / kRateSamples;
    r.input_kbps += in_samples_[i] / kRateSamples;
    r.output_kbps += out_samples_[i] / kRateSamples;
  }
  return r;
}

void RegisterInfoCommand() {
  RegisterCommands({
      {"info", -1, kLoading | kStale, 0, 0, 0, &Info, "server",
       "Returns information and statistics about the server.", "1.0.0"},
  });
}

}  // namespace redge::resp
