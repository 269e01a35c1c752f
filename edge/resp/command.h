// The RESP command table: each command's name, arity, flags, key positions and handler.
// Handlers know the protocol; store/ knows the data types (strings.h, lists.h, ...).
//
// A handler writes exactly one reply to ctx.reply (or parks the client, for blocking
// commands outside MULTI). Handlers with kTxn run inside a store transaction (ctx.txn is
// set, the store lock is held: they must not call Store::Exec or anything that does);
// the others run on the connection's loop thread without the lock.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "edge/resp/protocol.h"
#include "store/txn.h"

namespace redge::resp {

class Connection;
class RespServer;

enum CommandFlag : uint32_t {
  kWrite = 1u << 0,      // may modify data ("write" in COMMAND INFO)
  kReadOnly = 1u << 1,   // "readonly"
  kTxn = 1u << 2,        // runs inside a store transaction
  kBlocking = 1u << 3,   // may park the client ("blocking")
  kPubSubCtx = 1u << 4,  // allowed in RESP2 subscribe mode
  kNoAuth = 1u << 5,     // allowed before AUTH ("no_auth")
  kNoMulti = 1u << 6,    // executed at once even inside MULTI (MULTI/EXEC/DISCARD/WATCH/...)
  kAdmin = 1u << 7,      // "admin"
  kFast = 1u << 8,       // "fast"
  kPubSub = 1u << 9,     // "pubsub"
  kLoading = 1u << 10,   // "loading" (informational)
  kStale = 1u << 11,     // "stale" (informational)
  kNoScript = 1u << 12,  // "noscript" (informational)
  kDenyOom = 1u << 13,   // "denyoom" (informational: redge has no maxmemory)
  kMovable = 1u << 14,   // "movablekeys": keys found by parsing (numkeys), not positions
  // "may_replicate": not a write, yet held by CLIENT PAUSE WRITE like one (PUBLISH,
  // PFCOUNT, EVAL, EVALSHA, FCALL: Redis 7.0's CMD_MAY_REPLICATE).
  kMayReplicate = 1u << 15,
  // Runs alone on the store's writer thread (ExecMode::kExclusive), never inline on the
  // client's event loop: commands whose work grows with the whole database in redge
  // (SWAPDB moves every key of both databases), so the loop's other clients are still
  // answered meanwhile.
  kOffLoop = 1u << 16,
};

struct CommandContext {
  Connection& conn;
  RespServer& server;
  const std::vector<std::string>& argv;
  ReplyWriter& reply;
  store::Txn* txn = nullptr;  // set for kTxn commands
  bool in_exec = false;       // running inside EXEC: blocking commands must not block
  // Called from a Lua script (redis.call). in_exec is set too; commands Redis refuses in
  // scripts only with some options check this (XREAD BLOCK: "... is not allowed with
  // BLOCK option from scripts").
  bool in_script = false;
};

using CommandHandler = void (*)(CommandContext& ctx);

struct CommandSpec {
  const char* name;  // lower case
  int arity;         // Redis convention: N exact, -N at least N (command name included)
  uint32_t flags;
  int first_key, last_key, step;  // Redis key spec for COMMAND INFO / GETKEYS
  CommandHandler handler;
  const char* group;    // "string", "list", "generic", "pubsub", "transactions", ...
  const char* summary;  // for COMMAND DOCS
  const char* since;    // Redis version that introduced it
};

// Registers `specs` (called once per command group at startup).
void RegisterCommands(const std::vector<CommandSpec>& specs);
// Looks a command up by name, case-insensitively; nullptr if unknown.
const CommandSpec* FindCommand(std::string_view name);
// Every registered command, sorted by name.
std::vector<const CommandSpec*> AllCommands();
// The arguments as MONITOR and SLOWLOG show them: credentials replaced by "(redacted)"
// (every AUTH argument, HELLO's after AUTH, ACL SETUSER's rules, CONFIG SET's
// requirepass/masterauth values, MIGRATE's AUTH/AUTH2), as Redis 7.0 redacts them.
std::vector<std::string> RedactedArgv(const std::vector<std::string>& argv);
// Registers every group of edge/resp/*_commands.cc (idempotent).
void RegisterAllCommands();

// Commands whose first argument names a subcommand ("client list"): CLIENT LIST and INFO
// commandstats report them as "client|list".
bool IsContainerCommand(std::string_view name);

// Helpers shared by the groups.
std::string ToLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Parses an integer argument; on failure writes Redis's error and returns false.
bool ArgInt64(CommandContext& ctx, std::string_view arg, int64_t* out);
// A timeout for blocking commands in seconds (fractional allowed): "ERR timeout is not a
// float or out of range" / "ERR timeout is negative".
bool ArgTimeout(CommandContext& ctx, std::string_view arg, int64_t* timeout_ms);
// Writes `s` as an error reply; the message is the Redis line.
void ReplyStatusError(CommandContext& ctx, const store::Status& s);
// A bulk-string result: the value, nil for NotFound, else the error line.
void ReplyBulkOrNull(CommandContext& ctx, const store::Result<std::string>& r);
void ReplySyntaxError(CommandContext& ctx);
// "ERR wrong number of arguments for '<name>' command".
void ReplyArityError(CommandContext& ctx);

std::string UpperCase(std::string_view s);
// addReplyHelp: "<CMD> <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", the
// lines, then HELP's own two lines, as status replies.
void WriteHelp(ReplyWriter& w, std::string_view command, const std::vector<std::string>& lines);
// "ERR unknown subcommand or wrong number of arguments for '<sub>'. Try <CMD> HELP."
std::string SubcommandSyntaxError(const CommandContext& ctx);
void ReplySubcommandSyntaxError(CommandContext& ctx);
// A container command's subcommand table check (Redis's processCommand): unknown
// subcommand or wrong arity get Redis's errors; returns the lower-case subcommand or ""
// after writing the error.
// Container commands (OBJECT, MEMORY, ...): argv[1] checked against the subcommands as
// Redis's command table checks them: "ERR unknown subcommand '<x>'. Try <CMD> HELP." or
// "ERR wrong number of arguments for '<cmd>|<sub>' command" (arity as in CommandSpec,
// counting the container's name). Returns the lower-case subcommand, or "" after writing
// the error.
struct Subcommand {
  const char* name;
  int arity;
};
std::string CheckSubcommand(CommandContext& ctx, const std::vector<Subcommand>& table);
// addReplyHelp: "<CMD> <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", the
// lines, then HELP's own two lines, as status replies.
void ReplyHelp(CommandContext& ctx, std::initializer_list<const char*> lines);

}  // namespace redge::resp
