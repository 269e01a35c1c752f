// Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Lua 5.1, see
// lua_engine.h). A script runs as one exclusive store operation on the store's writer
// thread, so no event-loop thread waits while it runs, and its reply is sent once its
// writes are durable; inside MULTI/EXEC it runs in the EXEC's transaction.
//
// SCRIPT DEBUG: redge has no Lua debugger. SCRIPT DEBUG NO answers OK (debugging is off,
// as asked); YES and SYNC are refused with an error saying so.
#include "base/numbers.h"
#include "edge/resp/command.h"
#include "edge/resp/connection.h"
#include "edge/resp/lua_engine.h"
#include "edge/resp/server.h"

namespace redge::resp {

void RunWithEngine(CommandContext& ctx, bool exclusive,
                   void (*op)(ScriptEngine& engine, CommandContext& ctx)) {
  ScriptEngine& engine = ctx.server.scripting();
  if (ctx.txn != nullptr) {  // inside EXEC: part of its transaction
    op(engine, ctx);
    return;
  }
  auto complete = ctx.conn.Suspend();
  auto reply = std::make_shared<std::string>();
  const int protocol = ctx.reply.protocol();
  RespServer* server = &ctx.server;
  // The operation may run after this handler returned: it owns what it uses.
  server->store().ExecAsync(
      ctx.conn.db(),
      [op, reply, protocol, server, self = ctx.conn.shared_from_this(),
       argv = ctx.argv](store::Txn& txn) {
        txn.set_client(self->ClientLabel());
        ReplyWriter w(reply.get(), protocol);
        CommandContext inner{*self, *server, argv, w, &txn};
        op(server->scripting(), inner);
      },
      [reply, protocol, complete = std::move(complete)](store::Status s) {
        if (!s.ok()) {
          // Nothing was written: the client gets the store's error instead of the reply.
          reply->clear();
          ReplyWriter w(reply.get(), protocol);
          w.Error(s.message());
        }
        complete(std::move(*reply));
      },
      exclusive ? store::ExecMode::kExclusive : store::ExecMode::kInlineOrQueue);
}

void ReplyHelp(CommandContext& ctx, const char* command, std::initializer_list<const char*> lines) {
  WriteHelp(ctx.reply, command, std::vector<std::string>(lines.begin(), lines.end()));
}

// Checks a container's subcommand arity as Redis's command table does.
bool SubcommandArity(CommandContext& ctx, const char* container, int arity) {
  const int argc = static_cast<int>(ctx.argv.size());
  if ((arity > 0 && argc != arity) || (arity < 0 && argc < -arity)) {
    ctx.reply.Error(std::string("ERR wrong number of arguments for '") + container + "|" +
                    ToLower(ctx.argv[1]) + "' command");
    return false;
  }
  return true;
}

namespace {

void Eval(CommandContext& ctx) {
  RunWithEngine(ctx, true, [](ScriptEngine& e, CommandContext& c) { e.Eval(c, false, false); });
}

void EvalRo(CommandContext& ctx) {
  RunWithEngine(ctx, true, [](ScriptEngine& e, CommandContext& c) { e.Eval(c, false, true); });
}

void EvalSha(CommandContext& ctx) {
  RunWithEngine(ctx, true, [](ScriptEngine& e, CommandContext& c) { e.Eval(c, true, false); });
}

void EvalShaRo(CommandContext& ctx) {
  RunWithEngine(ctx, true, [](ScriptEngine& e, CommandContext& c) { e.Eval(c, true, true); });
}

void Script(CommandContext& ctx) {
  const std::string sub = ToLower(ctx.argv[1]);
  if (sub == "help") {
    if (!SubcommandArity(ctx, "script", 2)) return;
    return ReplyHelp(
        ctx, "SCRIPT",
        {"DEBUG (YES|SYNC|NO)", "    Set the debug mode for subsequent scripts executed.",
         "EXISTS <sha1> [<sha1> ...]",
         "    Return information about the existence of the scripts in the script cache.",
         "FLUSH [ASYNC|SYNC]", "    Flush the Lua scripts cache. Very dangerous on replicas.",
         "    When called without the optional mode argument, the behavior is determined by the",
         "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
         "    * ASYNC: Asynchronously flush the scripts cache.",
         "    * SYNC: Synchronously flush the scripts cache.", "KILL",
         "    Kill the currently executing Lua script.", "LOAD <script>",
         "    Load a script into the scripts cache without executing it."});
  }
  if (sub == "load") {
    if (!SubcommandArity(ctx, "script", 3)) return;
    return RunWithEngine(ctx, false, [](ScriptEngine& e, CommandContext& c) { e.ScriptLoad(c); });
  }
  if (sub == "exists") {
    if (!SubcommandArity(ctx, "script", -3)) return;
    return RunWithEngine(ctx, false, [](ScriptEngine& e, CommandContext& c) { e.ScriptExists(c); });
  }
  if (sub == "flush") {
    if (!SubcommandArity(ctx, "script", -2)) return;
    return RunWithEngine(ctx, false, [](ScriptEngine& e, CommandContext& c) { e.ScriptFlush(c); });
  }
  if (sub == "kill") {
    if (!SubcommandArity(ctx, "script", 2)) return;
    const std::string line = ctx.server.scripting().Kill(/*is_eval=*/true);
    return line[0] == '+' ? ctx.reply.Simple(line.substr(1)) : ctx.reply.Error(line);
  }
  if (sub == "debug") {
    if (!SubcommandArity(ctx, "script", 3)) return;
    const std::string mode = ToLower(ctx.argv[2]);
    if (mode == "no") return ctx.reply.Simple("OK");
    if (mode == "yes" || mode == "sync") {
      return ctx.reply.Error("ERR SCRIPT DEBUG is not supported: redge has no Lua debugger");
    }
    return ctx.reply.Error("ERR Use SCRIPT DEBUG YES/SYNC/NO");
  }
  ctx.reply.Error("ERR unknown subcommand '" + ctx.argv[1].substr(0, 128) + "'. Try SCRIPT HELP.");
}

}  // namespace

bool ScriptCommandKeys(const std::vector<std::string>& argv, size_t first,
                       std::vector<std::string>* keys) {
  static const char* const kNames[] = {"eval",       "evalsha", "eval_ro",
                                       "evalsha_ro", "fcall",   "fcall_ro"};
  bool match = false;
  for (const char* n : kNames) match |= EqualsIgnoreCase(argv[first], n);
  if (!match) return false;
  int64_t numkeys = 0;
  if (argv.size() >= first + 3 && base::ParseInt64(argv[first + 2], &numkeys) && numkeys > 0 &&
      static_cast<uint64_t>(numkeys) <= argv.size() - first - 3) {
    for (int64_t i = 0; i < numkeys; ++i) keys->push_back(argv[first + 3 + i]);
  }
  return true;
}

void RegisterFunctionCommands();  // function_commands.cc

void RegisterScriptingCommands() {
  RegisterFunctionCommands();
  constexpr uint32_t kScript = kNoScript | kStale;
  RegisterCommands({
      {"eval", -3, kScript | kMayReplicate, 0, 0, 0, &Eval, "scripting",
       "Executes a server-side Lua script.", "2.6.0"},
      {"evalsha", -3, kScript | kMayReplicate, 0, 0, 0, &EvalSha, "scripting",
       "Executes a server-side Lua script by SHA1 digest.", "2.6.0"},
      {"eval_ro", -3, kScript | kReadOnly, 0, 0, 0, &EvalRo, "scripting",
       "Executes a read-only server-side Lua script.", "7.0.0"},
      {"evalsha_ro", -3, kScript | kReadOnly, 0, 0, 0, &EvalShaRo, "scripting",
       "Executes a read-only server-side Lua script by SHA1 digest.", "7.0.0"},
      {"script", -2, kNoScript, 0, 0, 0, &Script, "scripting",
       "A container for Lua scripts management commands.", "2.6.0"},
  });
}

}  // namespace redge::resp
