#include "edge/resp/command.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>

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
void RegisterObjectCommands();
void RegisterSortCommands();
void RegisterBitCommands();
void RegisterInfoCommand();

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
    RegisterObjectCommands();
    RegisterSortCommands();
    RegisterBitCommands();
    RegisterInfoCommand();
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

bool IsContainerCommand(std::string_view name) {
  static constexpr std::string_view kContainers[] = {
      "client", "command",  "config", "pubsub", "object",  "memory",  "acl",
      "script", "function", "xinfo",  "xgroup", "latency", "slowlog", "module"};
  for (auto c : kContainers) {
    if (c == name) return true;
  }
  return false;
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

}  // namespace redge::resp

namespace redge::resp {

std::string CheckSubcommand(CommandContext& ctx, std::initializer_list<Subcommand> subs) {
  const std::string container = ToLower(ctx.argv[0]);
  std::string upper = ctx.argv[0];
  for (auto& c : upper) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  const std::string sub = ToLower(ctx.argv[1]);
  const int argc = static_cast<int>(ctx.argv.size());
  for (const auto& s : subs) {
    if (sub != s.name) continue;
    if ((s.arity > 0 && argc != s.arity) || (s.arity < 0 && argc < -s.arity)) {
      ctx.reply.Error("ERR wrong number of arguments for '" + container + "|" + sub + "' command");
      return "";
    }
    return sub;
  }
  ctx.reply.Error("ERR unknown subcommand '" + ctx.argv[1].substr(0, 128) + "'. Try " + upper +
                  " HELP.");
  return "";
}

void ReplyHelp(CommandContext& ctx, std::initializer_list<const char*> lines) {
  std::string upper = ctx.argv[0];
  for (auto& c : upper) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  ctx.reply.ArrayHeader(static_cast<int64_t>(lines.size()) + 3);
  ctx.reply.Simple(upper + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  for (const char* line : lines) ctx.reply.Simple(line);
  ctx.reply.Simple("HELP");
  ctx.reply.Simple("    Prints this help.");
}

}  // namespace redge::resp
