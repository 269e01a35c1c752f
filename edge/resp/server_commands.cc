// Server commands: DBSIZE FLUSHDB FLUSHALL TIME COMMAND CONFIG (INFO: info_command.cc).
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "edge/resp/acl.h"
#include "edge/resp/command.h"
#include "edge/resp/command_docs.h"
#include "edge/resp/command_meta.h"
#include "edge/resp/connection.h"
#include "edge/resp/lua_engine.h"
#include "edge/resp/server.h"
#include "edge/resp/stream_util.h"
#include "store/glob.h"

namespace redge::resp {
namespace {

void DbSize(CommandContext& ctx) { ctx.reply.Integer(ctx.server.store().DbSize(ctx.conn.db())); }

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

// COMMAND [subcommand]: INFO, LIST and GETKEYS answer from Redis 7.0's metadata for the
// commands redge implements (edge/resp/command_meta.h).
void WriteAllInfo(CommandContext& ctx, const std::vector<const CommandSpec*>& all) {
  ctx.reply.ArrayHeader(static_cast<int64_t>(all.size()));
  for (auto* c : all) WriteCommandInfo(ctx.reply, c->name);
}

// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: commands and the
// subcommands redge implements ("client|list").
void CommandList(CommandContext& ctx, const std::vector<const CommandSpec*>& all) {
  const size_t argc = ctx.argv.size();
  std::string by, value;
  if (argc == 5 && EqualsIgnoreCase(ctx.argv[2], "FILTERBY")) {
    by = ToLower(ctx.argv[3]);
    value = ctx.argv[4];
    if (by != "module" && by != "aclcat" && by != "pattern") return ReplySyntaxError(ctx);
  } else if (argc != 2) {
    return ReplySyntaxError(ctx);
  }
  std::vector<std::string> names;
  auto consider = [&](const std::string& name) {
    if (by == "module") return;  // no modules here
    if (by == "pattern" && !store::GlobMatch(ToLower(value), name)) return;
    if (by == "aclcat") {
      const CommandMeta* m = FindCommandMeta(name);
      if (m == nullptr) return;
      const std::string cat = "@" + ToLower(value);
      if (std::none_of(m->acl_categories.begin(), m->acl_categories.end(),
                       [&](const char* c) { return cat == c; })) {
        return;
      }
    }
    names.push_back(name);
  };
  for (auto* c : all) {
    consider(c->name);
    for (const auto& sub : ImplementedSubcommands(*c)) consider(sub);
  }
  ctx.reply.BulkArray(names);
}

void CommandGetKeys(CommandContext& ctx, bool with_flags) {
  std::vector<std::string> args(ctx.argv.begin() + 2, ctx.argv.end());
  std::vector<KeyRef> keys;
  std::string err = GetKeys(args, &keys);
  if (!err.empty()) return ctx.reply.Error(err);
  ctx.reply.ArrayHeader(static_cast<int64_t>(keys.size()));
  for (const auto& k : keys) {
    if (!with_flags) {
      ctx.reply.Bulk(args[k.pos]);
      continue;
    }
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(args[k.pos]);
    ctx.reply.SetHeader(static_cast<int64_t>(k.flags.size()));
    for (const char* f : k.flags) ctx.reply.Simple(f);
  }
}

void Command(CommandContext& ctx) {
  auto all = AllCommands();
  if (ctx.argv.size() == 1) return WriteAllInfo(ctx, all);
  const std::string sub = CheckSubcommand(ctx, {{"count", 2},
                                                {"docs", -2},
                                                {"getkeys", -4},
                                                {"getkeysandflags", -4},
                                                {"help", 2},
                                                {"info", -2},
                                                {"list", -2}});
  if (sub.empty()) return;
  if (sub == "count") {
    ctx.reply.Integer(static_cast<int64_t>(all.size()));
  } else if (sub == "info") {
    if (ctx.argv.size() == 2) return WriteAllInfo(ctx, all);
    ctx.reply.ArrayHeader(static_cast<int64_t>(ctx.argv.size() - 2));
    for (size_t i = 2; i < ctx.argv.size(); ++i) {
      if (!WriteCommandInfo(ctx.reply, ctx.argv[i])) ctx.reply.Null();
    }
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
    CommandList(ctx, all);
  } else if (sub == "getkeys" || sub == "getkeysandflags") {
    CommandGetKeys(ctx, sub == "getkeysandflags");
  } else {  // help
    ReplyHelp(ctx,
              {"(no subcommand)", "    Return details about all Redis commands.", "COUNT",
               "    Return the total number of commands in this Redis server.", "LIST",
               "    Return a list of all commands in this Redis server.",
               "INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
               "    If no command names are given, documentation details for all",
               "    commands are returned.", "DOCS [<command-name> ...]",
               "    Return documentation details about multiple Redis commands.",
               "    If no command names are given, documentation details for all",
               "    commands are returned.", "GETKEYS <full-command>",
               "    Return the keys from a full Redis command.", "GETKEYSANDFLAGS <full-command>",
               "    Return the keys and the access flags from a full Redis command."});
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
    ctx.server.ResetStats();
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
