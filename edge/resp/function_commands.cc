// Function commands: FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/KILL/HELP, FCALL
// and FCALL_RO (Redis 7.0 function libraries, see lua_engine.h). FUNCTION KILL and STATS
// answer on the event loop at once, even while a function runs; the others run in a
// store transaction (FCALL as an exclusive operation, like EVAL).
#include "edge/resp/command.h"
#include "edge/resp/connection.h"
#include "edge/resp/lua_engine.h"
#include "edge/resp/server.h"

namespace redge::resp {
namespace {

void Fcall(CommandContext& ctx) {
  RunWithEngine(ctx, true, [](ScriptEngine& e, CommandContext& c) { e.Fcall(c, false); });
}

void FcallRo(CommandContext& ctx) {
  RunWithEngine(ctx, true, [](ScriptEngine& e, CommandContext& c) { e.Fcall(c, true); });
}

void Function(CommandContext& ctx) {
  const std::string sub = ToLower(ctx.argv[1]);
  using Op = void (*)(ScriptEngine&, CommandContext&);
  struct Sub {
    const char* name;
    int arity;
    Op op;
  };
  static const Sub kSubs[] = {
      {"load", -3, [](ScriptEngine& e, CommandContext& c) { e.FunctionLoad(c); }},
      {"delete", 3, [](ScriptEngine& e, CommandContext& c) { e.FunctionDelete(c); }},
      {"list", -2, [](ScriptEngine& e, CommandContext& c) { e.FunctionList(c); }},
      {"flush", -2, [](ScriptEngine& e, CommandContext& c) { e.FunctionFlush(c); }},
      {"dump", 2, [](ScriptEngine& e, CommandContext& c) { e.FunctionDump(c); }},
      {"restore", -3, [](ScriptEngine& e, CommandContext& c) { e.FunctionRestore(c); }},
  };
  for (const Sub& s : kSubs) {
    if (sub == s.name) {
      if (!SubcommandArity(ctx, "function", s.arity)) return;
      return RunWithEngine(ctx, false, s.op);
    }
  }
  if (sub == "kill") {
    if (!SubcommandArity(ctx, "function", 2)) return;
    const std::string line = ctx.server.scripting().Kill(/*is_eval=*/false);
    return line[0] == '+' ? ctx.reply.Simple(line.substr(1)) : ctx.reply.Error(line);
  }
  if (sub == "stats") {
    if (!SubcommandArity(ctx, "function", 2)) return;
    return ctx.server.scripting().WriteFunctionStats(ctx.reply);
  }
  if (sub == "help") {
    if (!SubcommandArity(ctx, "function", 2)) return;
    return ReplyHelp(
        ctx, "FUNCTION",
        {"LOAD [REPLACE] <FUNCTION CODE>",
         "    Create a new library with the given library name and code.",
         "DELETE <LIBRARY NAME>",
         "    Delete the given library.",
         "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
         "    Return general information on all the libraries:",
         "    * Library name",
         "    * The engine used to run the Library",
         "    * Library description",
         "    * Functions list",
         "    * Library code (if WITHCODE is given)",
         "    It also possible to get only function that matches a pattern using LIBRARYNAME "
         "argument.",
         "STATS",
         "    Return information about the current function running:",
         "    * Function name",
         "    * Command used to run the function",
         "    * Duration in MS that the function is running",
         "    If no function is running, return nil",
         "    In addition, returns a list of available engines.",
         "KILL",
         "    Kill the current running function.",
         "FLUSH [ASYNC|SYNC]",
         "    Delete all the libraries.",
         "    When called without the optional mode argument, the behavior is determined by the",
         "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
         "    * ASYNC: Asynchronously flush the libraries.",
         "    * SYNC: Synchronously flush the libraries.",
         "DUMP",
         "    Return a serialized payload representing the current libraries, can be restored "
         "using FUNCTION RESTORE command",
         "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
         "    Restore the libraries represented by the given payload, it is possible to give a "
         "restore policy to",
         "    control how to handle existing libraries (default APPEND):",
         "    * FLUSH: delete all existing libraries.",
         "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
         "abort.",
         "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
         "replace the old",
         "      libraries with the new libraries (notice that even on this option there is a "
         "chance of failure",
         "      in case of functions name collision with another library)."});
  }
  ctx.reply.Error("ERR unknown subcommand '" + ctx.argv[1].substr(0, 128) +
                  "'. Try FUNCTION HELP.");
}

}  // namespace

void RegisterFunctionCommands() {
  constexpr uint32_t kScript = kNoScript | kStale;
  RegisterCommands({
      {"fcall", -3, kScript | kMayReplicate, 0, 0, 0, &Fcall, "scripting", "Invokes a function.",
       "7.0.0"},
      {"fcall_ro", -3, kScript | kReadOnly, 0, 0, 0, &FcallRo, "scripting",
       "Invokes a read-only function.", "7.0.0"},
      {"function", -2, kNoScript, 0, 0, 0, &Function, "scripting",
       "A container for function commands.", "7.0.0"},
  });
}

}  // namespace redge::resp
