// Connection commands: PING ECHO HELLO AUTH SELECT QUIT RESET CLIENT.
#include <algorithm>

#include "edge/auth_guard.h"
#include "edge/resp/command.h"
#include "edge/resp/connection.h"
#include "edge/resp/server.h"
#include "store/strings.h"

namespace redge::resp {
namespace {

void Ping(CommandContext& ctx) {
  if (ctx.argv.size() > 2) return ReplyArityError(ctx);
  // RESP2 subscribers get PING as a push-shaped array, as Redis does.
  if (ctx.conn.protocol() == 2 && ctx.conn.has_subscriptions()) {
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk("pong");
    ctx.reply.Bulk(ctx.argv.size() == 2 ? ctx.argv[1] : "");
    return;
  }
  if (ctx.argv.size() == 2) return ctx.reply.Bulk(ctx.argv[1]);
  ctx.reply.Simple("PONG");
}

void Echo(CommandContext& ctx) { ctx.reply.Bulk(ctx.argv[1]); }

bool CheckPassword(CommandContext& ctx, const std::string& user, const std::string& pass) {
  static constexpr char kWrongPass[] =
      "WRONGPASS invalid username-password pair or user is disabled.";
  // Constant time, and the user name checked after the password, so neither comparison
  // ends early on what a guesser sent.
  const bool pass_ok = SecretEquals(pass, ctx.server.requirepass());
  if (!pass_ok || user != "default") {
    auto hold = ctx.server.auth_throttle().Failed(
        ctx.conn.peer(), user != "default" ? "unknown user" : "wrong password");
    if (hold.count() > 0 && ctx.txn == nullptr) {
      ctx.conn.HoldErrorReply(hold, kWrongPass);
    } else {
      ctx.reply.Error(kWrongPass);
    }
    return false;
  }
  ctx.conn.set_authenticated(true);
  return true;
}

void Auth(CommandContext& ctx) {
  if (ctx.argv.size() > 3) return ReplySyntaxError(ctx);
  if (ctx.server.requirepass().empty() && ctx.argv.size() == 2) {
    return ctx.reply.Error(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?");
  }
  std::string user = ctx.argv.size() == 3 ? ctx.argv[1] : "default";
  if (CheckPassword(ctx, user, ctx.argv.back())) ctx.reply.Simple("OK");
}

void Hello(CommandContext& ctx) {
  int proto = ctx.conn.protocol();
  size_t i = 1;
  if (ctx.argv.size() >= 2) {
    int64_t v;
    if (!store::strings::ParseInt64(ctx.argv[1], &v)) {
      return ctx.reply.Error("ERR Protocol version is not an integer or out of range");
    }
    if (v < 2 || v > 3) return ctx.reply.Error("NOPROTO unsupported protocol version");
    proto = static_cast<int>(v);
    i = 2;
  }
  std::string setname;
  bool has_setname = false;
  for (; i < ctx.argv.size(); ++i) {
    bool more = i + 1 < ctx.argv.size();
    if (EqualsIgnoreCase(ctx.argv[i], "AUTH") && i + 2 < ctx.argv.size()) {
      if (!CheckPassword(ctx, ctx.argv[i + 1], ctx.argv[i + 2])) return;
      i += 2;
    } else if (EqualsIgnoreCase(ctx.argv[i], "SETNAME") && more) {
      setname = ctx.argv[++i];
      has_setname = true;
    } else {
      return ctx.reply.Error("ERR Syntax error in HELLO option '" + ctx.argv[i] + "'");
    }
  }
  if (!ctx.conn.authenticated()) {
    return ctx.reply.Error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
        "select the RESP protocol version at the same time");
  }
  if (has_setname) {
    if (setname.find_first_of(" \n") != std::string::npos) {
      return ctx.reply.Error(
          "ERR Client names cannot contain spaces, newlines or special characters.");
    }
    ctx.conn.set_name(setname);
  }
  ctx.conn.set_protocol(proto);
  ctx.reply.set_protocol(proto);
  ctx.reply.MapHeader(7);
  ctx.reply.Bulk("server");
  ctx.reply.Bulk("redis");
  ctx.reply.Bulk("version");
  ctx.reply.Bulk(ctx.server.options().version);
  ctx.reply.Bulk("proto");
  ctx.reply.Integer(proto);
  ctx.reply.Bulk("id");
  ctx.reply.Integer(static_cast<int64_t>(ctx.conn.id()));
  ctx.reply.Bulk("mode");
  ctx.reply.Bulk("standalone");
  ctx.reply.Bulk("role");
  ctx.reply.Bulk("master");
  ctx.reply.Bulk("modules");
  ctx.reply.ArrayHeader(0);
}

void Select(CommandContext& ctx) {
  int64_t index = 0;
  if (!ArgInt64(ctx, ctx.argv[1], &index)) return;
  if (index < 0 || index >= store::Store::kNumDbs) {
    ctx.reply.Error("ERR DB index is out of range");
    return;
  }
  const int db = static_cast<int>(index);
  ctx.conn.set_db(db);
  if (ctx.txn) ctx.txn->SwitchDb(db);  // SELECT inside MULTI
  ctx.reply.Simple("OK");
}

void Quit(CommandContext& ctx) {
  ctx.reply.Simple("OK");
  ctx.conn.CloseAfterReply();
}

void Reset(CommandContext& ctx) {
  ctx.conn.Reset();
  ctx.reply.set_protocol(2);
  ctx.reply.Simple("RESET");
}

bool ValidClientName(const std::string& n) {
  return std::all_of(n.begin(), n.end(), [](char c) { return c > ' ' && c <= '~'; });
}

void ClientList(CommandContext& ctx, bool only_self) {
  std::string out;
  std::vector<uint64_t> ids;
  std::string type;
  for (size_t i = 2; i < ctx.argv.size(); ++i) {
    if (EqualsIgnoreCase(ctx.argv[i], "TYPE") && i + 1 < ctx.argv.size()) {
      type = ToLower(ctx.argv[++i]);
      if (type != "normal" && type != "pubsub" && type != "master" && type != "replica" &&
          type != "slave") {
        return ctx.reply.Error("ERR Unknown client type '" + ctx.argv[i] + "'");
      }
    } else if (EqualsIgnoreCase(ctx.argv[i], "ID") && i + 1 < ctx.argv.size()) {
      for (++i; i < ctx.argv.size(); ++i) {
        int64_t id;
        if (!store::strings::ParseInt64(ctx.argv[i], &id) || id <= 0) {
          return ctx.reply.Error("ERR Invalid client ID");
        }
        ids.push_back(static_cast<uint64_t>(id));
      }
    } else {
      return ReplySyntaxError(ctx);
    }
  }
  if (only_self) {
    out = ctx.conn.ClientInfoLine() + "\n";
  } else {
    for (auto& c : ctx.server.Clients()) {
      if (!ids.empty() && std::find(ids.begin(), ids.end(), c->id()) == ids.end()) continue;
      bool pubsub = c->subscription_count() > 0;
      if (type == "normal" && pubsub) continue;
      if (type == "pubsub" && !pubsub) continue;
      if (type == "master" || type == "replica" || type == "slave") continue;
      out += c->ClientInfoLine() + "\n";
    }
  }
  ctx.reply.Verbatim("txt", out);
}

void ClientKill(CommandContext& ctx) {
  // Old form: CLIENT KILL addr:port -> +OK or an error.
  if (ctx.argv.size() == 3) {
    for (auto& c : ctx.server.Clients()) {
      if (c->peer() == ctx.argv[2]) {
        if (c.get() == &ctx.conn) {
          ctx.reply.Simple("OK");
          ctx.conn.CloseAfterReply();
        } else {
          c->KillFromAnyThread();
          ctx.reply.Simple("OK");
        }
        return;
      }
    }
    return ctx.reply.Error("ERR No such client");
  }
  // New form: filters, reply = number killed.
  uint64_t id = 0;
  std::string addr, laddr, user;
  bool skipme = true;
  for (size_t i = 2; i < ctx.argv.size(); i += 2) {
    if (i + 1 >= ctx.argv.size()) return ReplySyntaxError(ctx);
    const std::string& opt = ctx.argv[i];
    const std::string& val = ctx.argv[i + 1];
    if (EqualsIgnoreCase(opt, "ID")) {
      int64_t v;
      if (!store::strings::ParseInt64(val, &v) || v <= 0) {
        return ctx.reply.Error("ERR client-id should be greater than 0");
      }
      id = static_cast<uint64_t>(v);
    } else if (EqualsIgnoreCase(opt, "ADDR")) {
      addr = val;
    } else if (EqualsIgnoreCase(opt, "LADDR")) {
      laddr = val;
    } else if (EqualsIgnoreCase(opt, "USER")) {
      user = val;
    } else if (EqualsIgnoreCase(opt, "SKIPME")) {
      if (EqualsIgnoreCase(val, "yes")) {
        skipme = true;
      } else if (EqualsIgnoreCase(val, "no")) {
        skipme = false;
      } else {
        return ReplySyntaxError(ctx);
      }
    } else if (EqualsIgnoreCase(opt, "TYPE") || EqualsIgnoreCase(opt, "MAXAGE")) {
      continue;  // accepted; redge has no replicas and no max-age policy to match
    } else {
      return ReplySyntaxError(ctx);
    }
  }
  int64_t killed = 0;
  for (auto& c : ctx.server.Clients()) {
    if (id != 0 && c->id() != id) continue;
    if (!addr.empty() && c->peer() != addr) continue;
    if (!laddr.empty() && c->local_addr() != laddr) continue;
    if (!user.empty() && user != "default") continue;
    if (c.get() == &ctx.conn) {
      if (skipme) continue;
      ctx.conn.CloseAfterReply();
    } else {
      c->KillFromAnyThread();
    }
    killed++;
  }
  ctx.reply.Integer(killed);
}

void Client(CommandContext& ctx) {
  std::string sub = ToLower(ctx.argv[1]);
  size_t argc = ctx.argv.size();
  auto arity = [&](bool ok) {
    if (!ok) ctx.reply.Error("ERR wrong number of arguments for 'client|" + sub + "' command");
    return ok;
  };
  if (sub == "setname") {
    if (!arity(argc == 3)) return;
    if (!ValidClientName(ctx.argv[2])) {
      return ctx.reply.Error(
          "ERR Client names cannot contain spaces, newlines or special characters.");
    }
    ctx.conn.set_name(ctx.argv[2]);
    ctx.reply.Simple("OK");
  } else if (sub == "getname") {
    if (!arity(argc == 2)) return;
    std::string n = ctx.conn.name();
    if (n.empty()) return ctx.reply.Null();
    ctx.reply.Bulk(n);
  } else if (sub == "id") {
    if (!arity(argc == 2)) return;
    ctx.reply.Integer(static_cast<int64_t>(ctx.conn.id()));
  } else if (sub == "list") {
    ClientList(ctx, false);
  } else if (sub == "info") {
    if (!arity(argc == 2)) return;
    ClientList(ctx, true);
  } else if (sub == "kill") {
    if (!arity(argc >= 3)) return;
    ClientKill(ctx);
  } else if (sub == "unblock") {
    if (!arity(argc == 3 || argc == 4)) return;
    int64_t id;
    if (!ArgInt64(ctx, ctx.argv[2], &id)) return;
    bool error = false;
    if (argc == 4) {
      if (EqualsIgnoreCase(ctx.argv[3], "ERROR")) {
        error = true;
      } else if (!EqualsIgnoreCase(ctx.argv[3], "TIMEOUT")) {
        return ctx.reply.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
      }
    }
    auto c = id > 0 ? ctx.server.FindClient(static_cast<uint64_t>(id)) : nullptr;
    ctx.reply.Integer(c && c->UnblockFromAnyThread(error) ? 1 : 0);
  } else if (sub == "no-evict" || sub == "no-touch") {
    if (!arity(argc == 3)) return;
    if (!EqualsIgnoreCase(ctx.argv[2], "on") && !EqualsIgnoreCase(ctx.argv[2], "off")) {
      return ReplySyntaxError(ctx);
    }
    if (sub == "no-evict") ctx.conn.no_evict = EqualsIgnoreCase(ctx.argv[2], "on");
    ctx.reply.Simple("OK");
  } else if (sub == "setinfo") {
    if (!arity(argc == 4)) return;
    std::string attr = ToLower(ctx.argv[2]);
    if (attr == "lib-name") {
      ctx.conn.set_lib(ctx.argv[3], "");
    } else if (attr == "lib-ver") {
      ctx.conn.set_lib("", ctx.argv[3]);
    } else {
      return ctx.reply.Error("ERR Unrecognized option '" + ctx.argv[2] + "'");
    }
    ctx.reply.Simple("OK");
  } else if (sub == "reply") {
    if (!arity(argc == 3)) return;
    if (EqualsIgnoreCase(ctx.argv[2], "on")) {
      ctx.conn.SetReplyMode(Connection::ReplyMode::kOn);
      ctx.reply.Simple("OK");
    } else if (EqualsIgnoreCase(ctx.argv[2], "off")) {
      ctx.conn.SetReplyMode(Connection::ReplyMode::kOff);
    } else if (EqualsIgnoreCase(ctx.argv[2], "skip")) {
      ctx.conn.SetReplyMode(Connection::ReplyMode::kSkip);
    } else {
      ReplySyntaxError(ctx);
    }
  } else if (sub == "help") {
    ctx.reply.BulkArray(
        {"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "GETNAME", "ID", "INFO",
         "KILL <ip:port> | <option> <value> ...", "LIST [TYPE normal|pubsub] [ID <id> ...]",
         "NO-EVICT (ON|OFF)", "REPLY (ON|OFF|SKIP)", "SETINFO <LIB-NAME|LIB-VER> <value>",
         "SETNAME <name>", "UNBLOCK <clientid> [TIMEOUT|ERROR]", "HELP"});
  } else {
    ctx.reply.Error("ERR unknown subcommand '" + ctx.argv[1] + "'. Try CLIENT HELP.");
  }
}

// MONITOR: refused inside MULTI and scripts, as Redis refuses it to clients that may not
// block.
void Monitor(CommandContext& ctx) {
  if (ctx.txn != nullptr)
    return ctx.reply.Error("ERR MONITOR isn't allowed for DENY BLOCKING client");
  if (ctx.conn.is_monitor()) return;
  ctx.conn.StartMonitor();
  ctx.reply.Simple("OK");
}

}  // namespace

void RegisterConnectionCommands() {
  RegisterCommands({
      {"ping", -1, kFast | kPubSubCtx, 0, 0, 0, &Ping, "connection",
       "Returns the server's liveliness response.", "1.0.0"},
      {"echo", 2, kFast, 0, 0, 0, &Echo, "connection", "Returns the given string.", "1.0.0"},
      {"auth", -2, kNoAuth | kFast, 0, 0, 0, &Auth, "connection", "Authenticates the connection.",
       "1.0.0"},
      {"hello", -1, kNoAuth | kFast, 0, 0, 0, &Hello, "connection",
       "Handshakes with the Redis server.", "6.0.0"},
      {"select", 2, kFast, 0, 0, 0, &Select, "connection", "Changes the selected database.",
       "1.0.0"},
      {"quit", -1, kNoAuth | kFast | kPubSubCtx | kNoMulti, 0, 0, 0, &Quit, "connection",
       "Closes the connection.", "1.0.0"},
      {"reset", 1, kNoAuth | kFast | kPubSubCtx | kNoMulti, 0, 0, 0, &Reset, "connection",
       "Resets the connection.", "6.2.0"},
      {"monitor", 1, kAdmin | kNoScript | kLoading | kStale, 0, 0, 0, &Monitor, "server",
       "Lists commands processed by the server in real time.", "1.0.0"},
      {"client", -2, kAdmin, 0, 0, 0, &Client, "connection",
       "A container for client connection commands.", "2.4.0"},
  });
}

}  // namespace redge::resp
