// Server administration commands: SHUTDOWN, SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE, WAIT,
// ROLE, READONLY, READWRITE, SLOWLOG, MEMORY, LATENCY, LOLWUT.
//
// What they mean in redge, which has no RDB/AOF files and no replicas:
//  - Every acknowledged write is already in the store's WAL (per --fsync). SAVE syncs
//    the WAL and writes the memtables to table files; BGSAVE and BGREWRITEAOF do the same
//    without making the client wait; LASTSAVE is the time of the last one (or of start).
//  - SHUTDOWN asks redge to stop as SIGTERM does (parked requests answered, streams
//    ended, the store closed cleanly); NOSAVE/SAVE/NOW/FORCE change nothing since nothing
//    is ever unsaved. A script running past busy-reply-threshold is stopped by it.
//  - WAIT answers 0 (no replicas); ROLE says master without replicas; READONLY and
//    READWRITE answer as a Redis without cluster support.
//  - MEMORY USAGE estimates the key's records (store/keys.h); LATENCY monitoring is off,
//    as in a Redis with latency-monitor-threshold 0.
#include <signal.h>
#include <unistd.h>

#include <string>

#include "edge/resp/args.h"
#include "edge/resp/command.h"
#include "edge/resp/connection.h"
#include "edge/resp/server.h"
#include "store/keys.h"

namespace redge::resp {
namespace {

// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
void Shutdown(CommandContext& ctx) {
  bool nosave = false, save = false, abort = false, other = false;
  for (size_t i = 1; i < ctx.argv.size(); ++i) {
    const std::string& a = ctx.argv[i];
    if (EqualsIgnoreCase(a, "nosave")) {
      nosave = true;
    } else if (EqualsIgnoreCase(a, "save")) {
      save = true;
    } else if (EqualsIgnoreCase(a, "now") || EqualsIgnoreCase(a, "force")) {
      other = true;
    } else if (EqualsIgnoreCase(a, "abort")) {
      abort = true;
    } else {
      return ReplySyntaxError(ctx);
    }
  }
  if ((nosave && save) || (abort && (nosave || save || other))) return ReplySyntaxError(ctx);
  if (abort) return ctx.reply.Error("ERR No shutdown in progress.");
  if (ctx.txn != nullptr) {
    return ctx.reply.Error("ERR Command not allowed inside a transaction");
  }
  // The main thread waits for SIGTERM and runs the graceful shutdown; like Redis, the
  // client gets no reply: its connection is closed with the others.
  ::kill(::getpid(), SIGTERM);
}

void SaveGeneric(CommandContext& ctx, const char* started) {
  if (started == nullptr) {
    auto complete = ctx.conn.Suspend();
    const int proto = ctx.reply.protocol();
    ctx.server.store().SaveAsync([complete, proto](store::Status s) {
      std::string out;
      ReplyWriter w(&out, proto);
      if (s.ok()) {
        w.Simple("OK");
      } else {
        w.Error(s.message());
      }
      complete(std::move(out));
    });
    return;
  }
  ctx.server.store().SaveAsync([](store::Status) {});
  ctx.reply.Simple(started);
}

void Save(CommandContext& ctx) { SaveGeneric(ctx, nullptr); }

// BGSAVE [SCHEDULE]
void BgSave(CommandContext& ctx) {
  if (ctx.argv.size() > 2 || (ctx.argv.size() == 2 && !EqualsIgnoreCase(ctx.argv[1], "schedule"))) {
    return ReplySyntaxError(ctx);
  }
  SaveGeneric(ctx, "Background saving started");
}

void BgRewriteAof(CommandContext& ctx) {
  SaveGeneric(ctx, "Background append only file rewriting scheduled");
}

void LastSave(CommandContext& ctx) { ctx.reply.Integer(ctx.server.store().LastSaveUnix()); }

// WAIT numreplicas timeout: there are no replicas to wait for.
void Wait(CommandContext& ctx) {
  ArgReader args(ctx, 1);
  int64_t replicas = 0, timeout = 0;
  if (!args.Int64(&replicas) || !args.Int64(&timeout)) return;
  if (timeout < 0) return ctx.reply.Error("ERR timeout is negative");
  ctx.reply.Integer(0);
}

void Role(CommandContext& ctx) {
  ctx.reply.ArrayHeader(3);
  ctx.reply.Bulk("master");
  ctx.reply.Integer(0);
  ctx.reply.ArrayHeader(0);
}

void ClusterDisabled(CommandContext& ctx) {
  ctx.reply.Error("ERR This instance has cluster support disabled");
}

// SLOWLOG GET [count] | LEN | RESET | HELP
void SlowLogCmd(CommandContext& ctx) {
  std::string sub = CheckSubcommand(ctx, {{"get", -2}, {"len", 2}, {"reset", 2}, {"help", 2}});
  if (sub.empty()) return;
  SlowLog& log = ctx.server.slowlog();
  if (sub == "help") {
    return WriteHelp(ctx.reply, "slowlog",
                     {"GET [<count>]",
                      "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                      "    Entries are made of:",
                      "    id, timestamp, time in microseconds, arguments array, client IP and "
                      "port,",
                      "    client name", "LEN", "    Return the length of the slowlog.", "RESET",
                      "    Reset the slowlog."});
  }
  if (sub == "len") return ctx.reply.Integer(static_cast<int64_t>(log.Len()));
  if (sub == "reset") {
    log.Reset();
    return ctx.reply.Simple("OK");
  }
  if (ctx.argv.size() > 3) return ReplySubcommandSyntaxError(ctx);
  int64_t count = 10;
  if (ctx.argv.size() == 3) {
    ArgReader args(ctx, 2);
    if (!args.Int64InRange(-1, INT64_MAX, "count should be greater than or equal to -1", &count)) {
      return;
    }
  }
  auto entries = log.Get(count);
  ctx.reply.ArrayHeader(static_cast<int64_t>(entries.size()));
  for (const auto& e : entries) {
    ctx.reply.ArrayHeader(6);
    ctx.reply.Integer(e.id);
    ctx.reply.Integer(e.unix_time);
    ctx.reply.Integer(e.duration_us);
    ctx.reply.BulkArray(e.argv);
    ctx.reply.Bulk(e.peer);
    ctx.reply.Bulk(e.name);
  }
}

// MEMORY USAGE key [SAMPLES n] | STATS | DOCTOR | PURGE | MALLOC-STATS | HELP
void Memory(CommandContext& ctx) {
  std::string sub = CheckSubcommand(
      ctx,
      {{"usage", -3}, {"stats", 2}, {"doctor", 2}, {"purge", 2}, {"malloc-stats", 2}, {"help", 2}});
  if (sub.empty()) return;
  if (sub == "help") {
    return WriteHelp(ctx.reply, "memory",
                     {"DOCTOR", "    Return memory problems reports.", "MALLOC-STATS",
                      "    Return internal statistics report from the memory allocator.", "PURGE",
                      "    Attempt to purge dirty pages for reclamation by the allocator.", "STATS",
                      "    Return information about the memory usage of the server.",
                      "USAGE <key> [SAMPLES <count>]",
                      "    Return memory in bytes used by <key> and its value. Nested values are",
                      "    sampled up to <count> times (default: 5, 0 means sample all)."});
  }
  if (sub == "usage") {
    int64_t samples = 5;
    ArgReader args(ctx, 3);
    while (args.ok() && !args.done()) {
      if (args.remaining() >= 2 && args.Match("samples")) {
        args.Int64(&samples);
        if (args.ok() && samples < 0) return ctx.reply.Error("ERR syntax error");
      } else {
        args.SyntaxError();
      }
    }
    if (!args.ok()) return;
    auto complete = ctx.conn.Suspend();
    const int proto = ctx.reply.protocol();
    auto out = std::make_shared<std::string>();
    ctx.server.store().ExecAsync(
        ctx.conn.db(),
        [out, proto, key = ctx.argv[2], samples](store::Txn& txn) {
          ReplyWriter w(out.get(), proto);
          auto r = store::keys::MemoryUsage(txn, key, samples);
          if (r.ok()) {
            w.Integer(*r);
          } else if (r.status().IsNotFound()) {
            w.Null();
          } else {
            w.Error(r.status().message());
          }
        },
        [out, proto, complete](store::Status s) {
          if (!s.ok()) {
            out->clear();
            ReplyWriter(out.get(), proto).Error(s.message());
          }
          complete(std::move(*out));
        });
    return;
  }
  if (sub == "stats") {
    auto st = ctx.server.store().GetStats();
    ctx.reply.MapHeader(3);
    ctx.reply.Bulk("keys.count");
    int64_t keys = 0;
    for (int db = 0; db < store::Store::kNumDbs; ++db) keys += ctx.server.store().DbSize(db);
    ctx.reply.Integer(keys);
    ctx.reply.Bulk("dataset.bytes");
    ctx.reply.Integer(static_cast<int64_t>(st.disk_bytes));
    ctx.reply.Bulk("clients.normal");
    ctx.reply.Integer(ctx.server.stats().connected_clients.load());
    return;
  }
  if (sub == "doctor") {
    return ctx.reply.Verbatim(
        "txt",
        "redge keeps its data set in RocksDB on disk, not in memory: there is no memory "
        "fragmentation report to give. See INFO memory and /metrics for the process's "
        "resident size.");
  }
  if (sub == "purge") return ctx.reply.Simple("OK");
  ctx.reply.Verbatim("txt", "Stats not supported for the current allocator");
}

// LATENCY: monitoring is off (as with latency-monitor-threshold 0 in Redis).
void Latency(CommandContext& ctx) {
  std::string sub = CheckSubcommand(ctx, {{"latest", 2},
                                          {"history", 3},
                                          {"reset", -2},
                                          {"graph", 3},
                                          {"doctor", 2},
                                          {"histogram", -2},
                                          {"help", 2}});
  if (sub.empty()) return;
  if (sub == "latest" || sub == "history") return ctx.reply.ArrayHeader(0);
  if (sub == "histogram") return ctx.reply.MapHeader(0);
  if (sub == "reset") return ctx.reply.Integer(0);
  if (sub == "graph") {
    return ctx.reply.Error("ERR No samples available for event '" + ctx.argv[2] + "'");
  }
  if (sub == "doctor") {
    return ctx.reply.Verbatim("txt",
                              "Latency monitoring is disabled in this redge instance: redge "
                              "reports latency through /metrics (redge_store_write_seconds, "
                              "redge_event_delivery_seconds).\n");
  }
  WriteHelp(ctx.reply, "latency",
            {"DOCTOR", "    Return a human readable latency analysis report.", "GRAPH <event>",
             "    Return an ASCII latency graph for the <event> class.", "HISTORY <event>",
             "    Return time-latency samples for the <event> class.", "LATEST",
             "    Return the latest latency samples for all events.", "RESET [<event> ...]",
             "    Reset latency data of one or more <event> classes.", "HISTOGRAM [COMMAND ...]",
             "    Return a cumulative distribution of latencies in the format of a histogram."});
}

void Lolwut(CommandContext& ctx) {
  ctx.reply.Verbatim("txt", "redge ver. " + std::string(REDGE_VERSION) + ", following Redis ver. " +
                                ctx.server.options().version + "\n");
}

}  // namespace

void RegisterAdminCommands() {
  constexpr uint32_t kAdminCmd = kAdmin | kNoScript;
  RegisterCommands({
      {"shutdown", -1, kAdminCmd | kLoading | kStale | kNoMulti, 0, 0, 0, &Shutdown, "server",
       "Synchronously saves the database(s) to disk and shuts down the Redis server.", "1.0.0"},
      {"save", 1, kAdminCmd, 0, 0, 0, &Save, "server",
       "Synchronously saves the database(s) to disk.", "1.0.0"},
      {"bgsave", -1, kAdminCmd, 0, 0, 0, &BgSave, "server",
       "Asynchronously saves the database(s) to disk.", "1.0.0"},
      {"bgrewriteaof", 1, kAdminCmd, 0, 0, 0, &BgRewriteAof, "server",
       "Asynchronously rewrites the append-only file to disk.", "1.0.0"},
      {"lastsave", 1, kLoading | kStale | kFast, 0, 0, 0, &LastSave, "server",
       "Returns the Unix timestamp of the last successful save to disk.", "1.0.0"},
      {"wait", 3, kNoScript, 0, 0, 0, &Wait, "generic",
       "Blocks until the asynchronous replication of all preceding write commands sent by "
       "the connection is completed.",
       "3.0.0"},
      {"role", 1, kNoScript | kLoading | kStale | kFast, 0, 0, 0, &Role, "server",
       "Returns the replication role.", "2.8.12"},
      {"readonly", 1, kFast | kLoading | kStale, 0, 0, 0, &ClusterDisabled, "cluster",
       "Enables read-only queries for a connection to a Redis Cluster replica node.", "3.0.0"},
      {"readwrite", 1, kFast | kLoading | kStale, 0, 0, 0, &ClusterDisabled, "cluster",
       "Enables read-write queries for a connection to a Reids Cluster replica node.", "3.0.0"},
      {"slowlog", -2, kAdmin | kLoading | kStale, 0, 0, 0, &SlowLogCmd, "server",
       "A container for slow log commands.", "2.2.12"},
      {"memory", -2, kReadOnly, 0, 0, 0, &Memory, "server", "A container for memory commands.",
       "4.0.0"},
      {"latency", -2, kAdmin | kNoScript | kLoading | kStale, 0, 0, 0, &Latency, "server",
       "A container for latency diagnostics commands.", "2.8.13"},
      {"lolwut", -1, kReadOnly | kFast, 0, 0, 0, &Lolwut, "server",
       "Displays computer art and the Redis version", "5.0.0"},
  });
}

}  // namespace redge::resp
