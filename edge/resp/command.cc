#include "edge/resp/command.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>

#include "edge/resp/connection.h"
#include "edge/resp/server.h"
#include "store/strings.h"

namespace redge::resp {
namespace {

std::map<std::string, CommandSpec>& Table() {
  static std::map<std::string, CommandSpec> table;
  return table;
}

}  // namespace

// Each group file defines its registration function.
void RegisterConnectionCommands();
void RegisterServerCommands();
void RegisterKeyCommands();
void RegisterStringCommands();
void RegisterListCommands();
void RegisterPubSubCommands();
void RegisterTransactionCommands();
void RegisterHashCommands();
void RegisterSetCommands();
void RegisterZSetCommands();
void RegisterScriptingCommands();
void RegisterStreamCommands();
void RegisterAdminCommands();

void RegisterAllCommands() {
  static std::once_flag once;
  std::call_once(once, [] {
    RegisterConnectionCommands();
    RegisterServerCommands();
    RegisterKeyCommands();
    RegisterStringCommands();
    RegisterListCommands();
    RegisterPubSubCommands();
    RegisterTransactionCommands();
    RegisterHashCommands();
    RegisterSetCommands();
    RegisterZSetCommands();
    RegisterScriptingCommands();
    RegisterStreamCommands();
    RegisterAdminCommands();
  });
}

void RegisterCommands(const std::vector<CommandSpec>& specs) {
  for (const auto& s : specs) Table()[s.name] = s;
}

const CommandSpec* FindCommand(std::string_view name) {
  if (name.size() > 32) return nullptr;
  std::string lower = ToLower(name);
  auto& t = Table();
  auto it = t.find(lower);
  return it == t.end() ? nullptr : &it->second;
}

std::vector<const CommandSpec*> AllCommands() {
  std::vector<const CommandSpec*> out;
  for (auto& [name, spec] : Table()) out.push_back(&spec);
  return out;
}

std::vector<std::string> RedactedArgv(const std::vector<std::string>& argv) {
  std::vector<std::string> out = argv;
  if (out.empty()) return out;
  const std::string cmd = ToLower(out[0]);
  auto redact = [&](size_t i) {
    if (i < out.size()) out[i] = "(redacted)";
  };
  if (cmd == "auth") {
    for (size_t i = 1; i < out.size(); ++i) redact(i);
  } else if (cmd == "hello") {
    for (size_t i = 1; i + 2 < out.size(); ++i) {
      if (EqualsIgnoreCase(out[i], "auth")) {
        redact(i + 1);
        redact(i + 2);
        break;
      }
    }
  } else if (cmd == "acl" && out.size() > 1 && EqualsIgnoreCase(out[1], "setuser")) {
    for (size_t i = 3; i < out.size(); ++i) redact(i);
  } else if (cmd == "config" && out.size() > 1 && EqualsIgnoreCase(out[1], "set")) {
    for (size_t i = 2; i + 1 < out.size(); i += 2) {
      if (EqualsIgnoreCase(out[i], "requirepass") || EqualsIgnoreCase(out[i], "masterauth")) {
        redact(i + 1);
      }
    }
  } else if (cmd == "migrate") {
    for (size_t i = 6; i < out.size(); ++i) {
      if (EqualsIgnoreCase(out[i], "auth")) {
        redact(i + 1);
      } else if (EqualsIgnoreCase(out[i], "auth2")) {
        redact(i + 1);
        redact(i + 2);
      }
    }
  }
  return out;
}

void RunHandler(const CommandSpec& spec, CommandContext& ctx) {
  const auto t0 = std::chrono::steady_clock::now();
  spec.handler(ctx);
  const int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  // EXEC is not logged, the commands it ran are (Redis's skip_slowlog flag).
  if (std::string_view(spec.name) == "exec") return;
  SlowLog& log = ctx.server.slowlog();
  if (log.Slow(us)) log.Record(RedactedArgv(ctx.argv), us, ctx.conn.peer(), ctx.conn.name());
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (tolower(static_cast<unsigned char>(a[i])) != tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool ArgInt64(CommandContext& ctx, std::string_view arg, int64_t* out) {
  if (store::strings::ParseInt64(arg, out)) return true;
  ctx.reply.Error("ERR value is not an integer or out of range");
  return false;
}

bool ArgTimeout(CommandContext& ctx, std::string_view arg, int64_t* timeout_ms) {
  std::string s(arg);
  char* end = nullptr;
  errno = 0;
  long double v = strtold(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || std::isnan(v) ||
      std::isinf(v) || isspace(static_cast<unsigned char>(s[0]))) {
    ctx.reply.Error("ERR timeout is not a float or out of range");
    return false;
  }
  if (v < 0) {
    ctx.reply.Error("ERR timeout is negative");
    return false;
  }
  long double ms = v * 1000.0L;
  if (ms > 9.2e15L) {
    ctx.reply.Error("ERR timeout is out of range");
    return false;
  }
  // A positive timeout below 1 ms still waits 1 ms (0 means forever).
  int64_t r = static_cast<int64_t>(std::ceil(ms));
  *timeout_ms = (v > 0 && r == 0) ? 1 : r;
  return true;
}

void ReplyStatusError(CommandContext& ctx, const store::Status& s) { ctx.reply.Error(s.message()); }

void ReplyBulkOrNull(CommandContext& ctx, const store::Result<std::string>& r) {
  if (r.ok()) {
    ctx.reply.Bulk(*r);
  } else if (r.status().IsNotFound()) {
    ctx.reply.Null();
  } else {
    ReplyStatusError(ctx, r.status());
  }
}

void ReplySyntaxError(CommandContext& ctx) { ctx.reply.Error("ERR syntax error"); }

void ReplyArityError(CommandContext& ctx) {
  ctx.reply.Error("ERR wrong number of arguments for '" + ToLower(ctx.argv[0]) + "' command");
}

std::string UpperCase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return out;
}

void WriteHelp(ReplyWriter& w, std::string_view command, const std::vector<std::string>& lines) {
  w.ArrayHeader(static_cast<int64_t>(lines.size()) + 3);
  w.Simple(UpperCase(command) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  for (const auto& l : lines) w.Simple(l);
  w.Simple("HELP");
  w.Simple("    Prints this help.");
}

std::string SubcommandSyntaxError(const CommandContext& ctx) {
  return "ERR unknown subcommand or wrong number of arguments for '" + ctx.argv[1].substr(0, 128) +
         "'. Try " + UpperCase(ctx.argv[0]) + " HELP.";
}

void ReplySubcommandSyntaxError(CommandContext& ctx) {
  ctx.reply.Error(SubcommandSyntaxError(ctx));
}

std::string CheckSubcommand(CommandContext& ctx, const std::vector<Subcommand>& table) {
  std::string sub = ToLower(ctx.argv[1]);
  for (const auto& s : table) {
    if (sub != s.name) continue;
    const int argc = static_cast<int>(ctx.argv.size());
    if ((s.arity > 0 && argc != s.arity) || (s.arity < 0 && argc < -s.arity)) {
      ctx.reply.Error("ERR wrong number of arguments for '" + ToLower(ctx.argv[0]) + "|" + sub +
                      "' command");
      return "";
    }
    return sub;
  }
  ctx.reply.Error("ERR unknown subcommand '" + ctx.argv[1].substr(0, 128) + "'. Try " +
                  UpperCase(ctx.argv[0]) + " HELP.");
  return "";
}

}  // namespace redge::resp
