// Server commands: INFO DBSIZE FLUSHDB FLUSHALL TIME COMMAND CONFIG.
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "edge/resp/command.h"
#include "edge/resp/command_docs.h"
#include "edge/resp/connection.h"
#include "edge/resp/lua_engine.h"
#include "edge/resp/server.h"
#include "edge/resp/stream_util.h"
#include "store/glob.h"

namespace redge::resp {
namespace {

int64_t RssBytes() {
  std::ifstream f("/proc/self/statm");
  int64_t pages = 0, rss = 0;
  f >> pages >> rss;
  return rss * sysconf(_SC_PAGESIZE);
}

std::string Human(int64_t bytes) {
  char buf[32];
  double v = static_cast<double>(bytes);
  if (v < 1024) {
    snprintf(buf, sizeof(buf), "%lldB", static_cast<long long>(bytes));
  } else if (v < 1024.0 * 1024) {
    snprintf(buf, sizeof(buf), "%.2fK", v / 1024);
  } else if (v < 1024.0 * 1024 * 1024) {
    snprintf(buf, sizeof(buf), "%.2fM", v / 1024 / 1024);
  } else {
    snprintf(buf, sizeof(buf), "%.2fG", v / 1024 / 1024 / 1024);
  }
  return buf;
}

std::string InfoSection(CommandContext& ctx, const std::string& name) {
  auto& st = ctx.server.stats();
  auto store_stats = ctx.server.store().GetStats();
  auto ps = ctx.server.store().pubsub().GetStats();
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  int64_t uptime = (now_ms - ctx.server.start_time_ms()) / 1000;
  std::string s;
  auto line = [&](const std::string& k, const std::string& v) { s += k + ":" + v + "\r\n"; };
  auto num = [&](const std::string& k, int64_t v) { line(k, std::to_string(v)); };
  if (name == "server") {
    s = "# Server\r\n";
    utsname u{};
    uname(&u);
    line("redis_version", ctx.server.options().version);
    line("redge_version", REDGE_VERSION);
    line("redis_mode", "standalone");
    line("os", std::string(u.sysname) + " " + u.release + " " + u.machine);
    num("arch_bits", sizeof(void*) * 8);
    num("process_id", getpid());
    num("tcp_port", ctx.server.port());
    num("server_time_usec", now_ms * 1000);
    num("uptime_in_seconds", uptime);
    num("uptime_in_days", uptime / 86400);
  } else if (name == "clients") {
    s = "# Clients\r\n";
    num("connected_clients", st.connected_clients);
    num("blocked_clients", st.blocked_clients);
    num("pubsub_clients", st.pubsub_clients);
    num("maxclients", ctx.server.options().max_clients);
  } else if (name == "memory") {
    s = "# Memory\r\n";
    int64_t rss = RssBytes();
    num("used_memory", rss);
    line("used_memory_human", Human(rss));
    num("used_memory_rss", rss);
    line("used_memory_rss_human", Human(rss));
    num("maxmemory", 0);
    line("maxmemory_human", "0B");
    line("maxmemory_policy", "noeviction");
    line("mem_allocator", "libc");
    s += ctx.server.scripting().InfoMemory();
  } else if (name == "persistence") {
    s = "# Persistence\r\n";
    num("loading", 0);
    num("aof_enabled", 0);
    line("redge_engine", "rocksdb");
    line("redge_fsync", ctx.server.options().fsync);
    num("redge_fsyncs", store_stats.fsyncs);
    num("redge_write_batches", store_stats.writes);
    num("redge_write_failures", store_stats.write_failures);
    num("redge_disk_bytes", static_cast<int64_t>(store_stats.disk_bytes));
  } else if (name == "stats") {
    s = "# Stats\r\n";
    num("total_connections_received", st.connections_received);
    num("total_commands_processed", st.commands_processed);
    num("total_net_input_bytes", st.net_input_bytes);
    num("total_net_output_bytes", st.net_output_bytes);
    num("rejected_connections", st.rejected_connections);
    num("expired_keys", store_stats.keys_expired);
    num("evicted_keys", 0);
    num("keyspace_hits", st.keyspace_hits);
    num("keyspace_misses", st.keyspace_misses);
    num("pubsub_channels", ps.channels);
    num("pubsub_patterns", ps.patterns);
    num("client_output_buffer_limit_disconnections", st.output_limit_disconnections);
    num("total_error_replies", st.protocol_errors);
  } else if (name == "keyspace") {
    s = "# Keyspace\r\n";
    const store::Store& store = ctx.server.store();
    for (int db = 0; db < store::Store::kNumDbs; ++db) {
      int64_t n = store.DbSize(db);
      if (n > 0) {
        line("db" + std::to_string(db), "keys=" + std::to_string(n) + ",expires=" +
                                            std::to_string(store.DbExpires(db)) + ",avg_ttl=0");
      }
    }
  }
  return s;
}

void Info(CommandContext& ctx) {
  static const char* kDefault[] = {"server",      "clients", "memory",
                                   "persistence", "stats",   "keyspace"};
  std::vector<std::string> want;
  for (size_t i = 1; i < ctx.argv.size(); ++i) {
    std::string a = ToLower(ctx.argv[i]);
    if (a == "all" || a == "default" || a == "everything") {
      want.assign(std::begin(kDefault), std::end(kDefault));
      break;
    }
    want.push_back(a);
  }
  if (want.empty()) want.assign(std::begin(kDefault), std::end(kDefault));
  std::string out;
  for (const auto& w : want) {
    std::string sec = InfoSection(ctx, w);
    if (sec.empty()) continue;
    if (!out.empty()) out += "\r\n";
    out += sec;
  }
  ctx.reply.Verbatim("txt", out);
}

void DbSize(CommandContext& ctx) {
  // Inside a script after SELECT, the transaction's database is the script's.
  const int db = ctx.txn ? ctx.txn->db() : ctx.conn.db();
  ctx.reply.Integer(ctx.server.store().DbSize(db));
}

bool FlushMode(CommandContext& ctx) {
  if (ctx.argv.size() > 2) {
    ReplySyntaxError(ctx);
    return false;
  }
  // ASYNC and SYNC are both accepted: a flush here is range tombstones, O(1) either way.
  if (ctx.argv.size() == 2 && !EqualsIgnoreCase(ctx.argv[1], "ASYNC") &&
      !EqualsIgnoreCase(ctx.argv[1], "SYNC")) {
    ReplySyntaxError(ctx);
    return false;
  }
  return true;
}

// The flush runs on the store's write path; the client waits for it (durable per
// --fsync), its event loop does not.
void FlushLater(CommandContext& ctx, int db) {
  auto complete = ctx.conn.Suspend();
  const int proto = ctx.reply.protocol();
  ctx.server.store().FlushAsync(db, [complete, proto](store::Status s) {
    std::string out;
    ReplyWriter w(&out, proto);
    if (s.ok()) {
      w.Simple("OK");
    } else {
      w.Error(s.message());
    }
    complete(std::move(out));
  });
}

void FlushDb(CommandContext& ctx) {
  if (!FlushMode(ctx)) return;
  if (ctx.txn) {
    store::Store::FlushDbInTxn(*ctx.txn);  // inside EXEC: stays in the atomic batch
    return ctx.reply.Simple("OK");
  }
  FlushLater(ctx, ctx.conn.db());
}

void FlushAll(CommandContext& ctx) {
  if (!FlushMode(ctx)) return;
  if (ctx.txn) {
    int saved = ctx.txn->db();
    for (int db = 0; db < store::Store::kNumDbs; ++db) {
      ctx.txn->SwitchDb(db);
      store::Store::FlushDbInTxn(*ctx.txn);
    }
    ctx.txn->SwitchDb(saved);
    return ctx.reply.Simple("OK");
  }
  FlushLater(ctx, -1);
}

void Time(CommandContext& ctx) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(us / 1000000));
  ctx.reply.Bulk(std::to_string(us % 1000000));
}

void CommandFlags(CommandContext& ctx, const CommandSpec& c) {
  std::vector<std::string> f;
  if (c.flags & kWrite) f.push_back("write");
  if (c.flags & kReadOnly) f.push_back("readonly");
  if (c.flags & kDenyOom) f.push_back("denyoom");
  if (c.flags & kAdmin) f.push_back("admin");
  if (c.flags & kPubSub) f.push_back("pubsub");
  if (c.flags & kNoScript) f.push_back("noscript");
  if (c.flags & kBlocking) f.push_back("blocking");
  if (c.flags & kLoading) f.push_back("loading");
  if (c.flags & kStale) f.push_back("stale");
  if (c.flags & kNoAuth) f.push_back("no_auth");
  if (c.flags & kFast) f.push_back("fast");
  if (c.flags & kMovable) f.push_back("movablekeys");
  ctx.reply.SetHeader(static_cast<int64_t>(f.size()));
  for (auto& x : f) ctx.reply.Simple(x);
}

void CommandInfoEntry(CommandContext& ctx, const CommandSpec* c) {
  if (c == nullptr) return ctx.reply.NullArray();
  ctx.reply.ArrayHeader(10);
  ctx.reply.Bulk(c->name);
  ctx.reply.Integer(c->arity);
  CommandFlags(ctx, *c);
  ctx.reply.Integer(c->first_key);
  ctx.reply.Integer(c->last_key);
  ctx.reply.Integer(c->step);
  ctx.reply.SetHeader(1);
  ctx.reply.Simple(std::string("@") + c->group);
  ctx.reply.SetHeader(0);    // tips
  ctx.reply.ArrayHeader(0);  // key specs
  ctx.reply.ArrayHeader(0);  // subcommands
}

void CommandDocsEntry(CommandContext& ctx, const CommandSpec* c) {
  ctx.reply.Bulk(c->name);
  const bool has_args = HasArgumentDocs(c->name);
  ctx.reply.MapHeader(has_args ? 4 : 3);
  ctx.reply.Bulk("summary");
  ctx.reply.Bulk(c->summary);
  ctx.reply.Bulk("since");
  ctx.reply.Bulk(c->since);
  ctx.reply.Bulk("group");
  ctx.reply.Bulk(c->group);
  if (has_args) {
    ctx.reply.Bulk("arguments");
    WriteArgumentDocs(ctx.reply, c->name);
  }
}

void Command(CommandContext& ctx) {
  auto all = AllCommands();
  if (ctx.argv.size() == 1) {
    ctx.reply.ArrayHeader(static_cast<int64_t>(all.size()));
    for (auto* c : all) CommandInfoEntry(ctx, c);
    return;
  }
  std::string sub = ToLower(ctx.argv[1]);
  if (sub == "count") {
    ctx.reply.Integer(static_cast<int64_t>(all.size()));
  } else if (sub == "info") {
    if (ctx.argv.size() == 2) {
      ctx.reply.ArrayHeader(static_cast<int64_t>(all.size()));
      for (auto* c : all) CommandInfoEntry(ctx, c);
      return;
    }
    ctx.reply.ArrayHeader(static_cast<int64_t>(ctx.argv.size() - 2));
    for (size_t i = 2; i < ctx.argv.size(); ++i) CommandInfoEntry(ctx, FindCommand(ctx.argv[i]));
  } else if (sub == "docs") {
    std::vector<const CommandSpec*> picked;
    if (ctx.argv.size() == 2) {
      picked = all;
    } else {
      for (size_t i = 2; i < ctx.argv.size(); ++i) {
        if (auto* c = FindCommand(ctx.argv[i])) picked.push_back(c);
      }
    }
    ctx.reply.MapHeader(static_cast<int64_t>(picked.size()));
    for (auto* c : picked) CommandDocsEntry(ctx, c);
  } else if (sub == "list") {
    std::vector<std::string> names;
    for (auto* c : all) names.push_back(c->name);
    ctx.reply.BulkArray(names);
  } else if (sub == "getkeys") {
    if (ctx.argv.size() < 3) {
      return ctx.reply.Error("ERR wrong number of arguments for 'command|getkeys' command");
    }
    const CommandSpec* c = FindCommand(ctx.argv[2]);
    if (!c) return ctx.reply.Error("ERR Invalid command specified");
    std::vector<std::string> keys;
    int argc = static_cast<int>(ctx.argv.size()) - 2;
    if (ScriptCommandKeys(ctx.argv, 2, &keys)) return ctx.reply.BulkArray(keys);
    if (c->first_key > 0) {
      int last = c->last_key < 0 ? argc + c->last_key : c->last_key;
      for (int i = c->first_key; i <= last && i < argc; i += std::max(1, c->step)) {
        keys.push_back(ctx.argv[i + 2]);
      }
    }
    if (keys.empty()) return ctx.reply.Error("ERR The command has no key arguments");
    ctx.reply.BulkArray(keys);
  } else if (sub == "help") {
    ctx.reply.BulkArray({"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                         "(no subcommand)", "COUNT", "DOCS [<command-name> ...]",
                         "GETKEYS <full-command>", "INFO [<command-name> ...]", "LIST", "HELP"});
  } else {
    ctx.reply.Error("ERR unknown subcommand '" + ctx.argv[1] + "'. Try COMMAND HELP.");
  }
}

void Config(CommandContext& ctx) {
  std::string sub = ToLower(ctx.argv[1]);
  if (sub == "get") {
    if (ctx.argv.size() < 3) {
      return ctx.reply.Error("ERR wrong number of arguments for 'config|get' command");
    }
    std::vector<std::string> patterns(ctx.argv.begin() + 2, ctx.argv.end());
    auto out = ctx.server.config().Get(patterns);
    ctx.reply.MapHeader(static_cast<int64_t>(out.size()));
    for (auto& [k, v] : out) {
      ctx.reply.Bulk(k);
      ctx.reply.Bulk(v);
    }
  } else if (sub == "set") {
    if (ctx.argv.size() < 4 || ctx.argv.size() % 2 != 0) {
      return ctx.reply.Error("ERR wrong number of arguments for 'config|set' command");
    }
    std::vector<std::pair<std::string, std::string>> pairs;
    for (size_t i = 2; i + 1 < ctx.argv.size(); i += 2) {
      pairs.emplace_back(ctx.argv[i], ctx.argv[i + 1]);
    }
    std::string err = ctx.server.config().Set(pairs);
    if (!err.empty()) return ctx.reply.Error(err);
    ctx.reply.Simple("OK");
  } else if (sub == "resetstat") {
    ctx.reply.Simple("OK");
  } else if (sub == "rewrite") {
    ctx.reply.Error("ERR The server is running without a config file");
  } else if (sub == "help") {
    ctx.reply.BulkArray({"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                         "GET <pattern>", "SET <directive> <value>", "RESETSTAT", "HELP"});
  } else {
    ctx.reply.Error("ERR unknown subcommand '" + ctx.argv[1] + "'. Try CONFIG HELP.");
  }
}

}  // namespace

void RegisterServerCommands() {
  RegisterCommands({
      {"info", -1, kLoading | kStale, 0, 0, 0, &Info, "server",
       "Returns information and statistics about the server.", "1.0.0"},
      {"dbsize", 1, kReadOnly | kFast, 0, 0, 0, &DbSize, "server",
       "Returns the number of keys in the database.", "1.0.0"},
      {"flushdb", -1, kWrite, 0, 0, 0, &FlushDb, "server",
       "Removes all keys from the current database.", "1.0.0"},
      {"flushall", -1, kWrite, 0, 0, 0, &FlushAll, "server", "Removes all keys from all databases.",
       "1.0.0"},
      {"time", 1, kFast | kLoading | kStale, 0, 0, 0, &Time, "server", "Returns the server time.",
       "2.6.0"},
      {"command", -1, kLoading | kStale, 0, 0, 0, &Command, "server",
       "Returns detailed information about all commands.", "2.8.13"},
      {"config", -2, kAdmin | kNoScript | kLoading | kStale, 0, 0, 0, &Config, "server",
       "A container for server configuration commands.", "2.0.0"},
  });
}

}  // namespace redge::resp
