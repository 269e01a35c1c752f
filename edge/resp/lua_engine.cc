#include "edge/resp/lua_engine.h"

#include <strings.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/numbers.h"
#include "base/sha1.h"
#include "edge/log.h"
#include "edge/resp/connection.h"
#include "edge/resp/lua_api.h"
#include "edge/resp/lua_sandbox.h"
#include "edge/resp/server.h"

namespace redge::resp {

const ScriptFlagName kScriptFlagNames[5] = {{kScriptNoWrites, "no-writes"},
                                            {kScriptAllowOom, "allow-oom"},
                                            {kScriptAllowStale, "allow-stale"},
                                            {kScriptNoCluster, "no-cluster"},
                                            {kScriptAllowCrossSlot, "allow-cross-slot-keys"}};

namespace {

constexpr char kEngineKey[] = "redge.engine";
constexpr char kRunKey[] = "redge.run";
constexpr char kLoadKey[] = "redge.load";
constexpr int kHookInstructions = 100000;  // as Redis: kill latency well under a millisecond
constexpr int kGcPeriod = 50;              // Redis's LUA_GC_CYCLE_PERIOD

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int ParseVersionNum(const std::string& v) {
  int major = 0, minor = 0, patch = 0;
  std::sscanf(v.c_str(), "%d.%d.%d", &major, &minor, &patch);
  return (major << 16) | (minor << 8) | patch;
}

void* RegistryPointer(lua_State* L, const char* key) {
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  void* p = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return p;
}

void SetRegistryPointer(lua_State* L, const char* key, void* p) {
  if (p == nullptr) {
    lua_pushnil(L);
  } else {
    lua_pushlightuserdata(L, p);
  }
  lua_setfield(L, LUA_REGISTRYINDEX, key);
}

// Redis's NOSCRIPT commands (src/commands/*.json of 7.0): refused from scripts whatever
// flags another command group gave them.
bool IsNoScript(const CommandSpec& spec) {
  static const char* const kNames[] = {
      "acl",          "auth",       "bgrewriteaof", "bgsave",    "blmove",     "blpop",
      "brpop",        "brpoplpush", "bzpopmax",     "bzpopmin",  "client",     "config",
      "debug",        "discard",    "eval",         "eval_ro",   "evalsha",    "evalsha_ro",
      "exec",         "failover",   "fcall",        "fcall_ro",  "function",   "hello",
      "latency",      "module",     "monitor",      "multi",     "psubscribe", "psync",
      "punsubscribe", "quit",       "replconf",     "replicaof", "reset",      "role",
      "save",         "script",     "shutdown",     "slaveof",   "ssubscribe", "subscribe",
      "sunsubscribe", "sync",       "unsubscribe",  "unwatch",   "wait",       "watch"};
  if (spec.flags & kNoScript) return true;
  for (const char* n : kNames) {
    if (std::strcmp(n, spec.name) == 0) return true;
  }
  return false;
}

// Commands Redis flags may-replicate: read-only scripts may not call them either.
bool MayReplicate(const CommandSpec& spec) {
  return std::strcmp(spec.name, "publish") == 0 || std::strcmp(spec.name, "spublish") == 0 ||
         std::strcmp(spec.name, "pfcount") == 0;
}

struct RunArgs {
  ScriptRun* run;
  const std::vector<std::string>* argv;
  int64_t numkeys;
};

void PushArray(lua_State* L, const std::vector<std::string>& argv, size_t from, size_t to) {
  lua_createtable(L, static_cast<int>(to - from), 0);
  for (size_t i = from; i < to; ++i) {
    lua_pushlstring(L, argv[i].data(), argv[i].size());
    lua_rawseti(L, -2, static_cast<int>(i - from + 1));
  }
}

// Runs in protected mode: builds KEYS and ARGV (which may fail for lack of memory) and
// calls the script (eval: KEYS/ARGV as globals) or the function (as its arguments).
int RunTrampoline(lua_State* L) {
  auto* args = static_cast<RunArgs*>(lua_touserdata(L, 1));
  const std::vector<std::string>& argv = *args->argv;
  const size_t first_key = 3, first_arg = 3 + static_cast<size_t>(args->numkeys);
  if (args->run->eval_mode) {
    lua_getfield(L, LUA_REGISTRYINDEX, lua::kRealGlobals);
    PushArray(L, argv, first_key, first_arg);
    lua_setfield(L, -2, "KEYS");
    PushArray(L, argv, first_arg, argv.size());
    lua_setfield(L, -2, "ARGV");
    lua_pop(L, 1);
    lua_call(L, 0, 1);
  } else {
    PushArray(L, argv, first_key, first_arg);
    PushArray(L, argv, first_arg, argv.size());
    lua_call(L, 2, 1);
  }
  return 1;
}

}  // namespace

ScriptEngine::ScriptEngine(std::string version)
    : version_(std::move(version)), version_num_(ParseVersionNum(version_)) {
  CreateEvalState();
  CreateFunctionState();
  UpdateCounters();
}

ScriptEngine::~ScriptEngine() {
  ClearFunctions();
  if (eval_) lua_close(eval_);
  if (functions_state_) lua_close(functions_state_);
}

void ScriptEngine::CreateEvalState() {
  lua_State* L = lua::NewState();
  if (L == nullptr) {
    Log(spdlog::level::critical, "cannot create the Lua state for scripts");
    std::abort();
  }
  SetRegistryPointer(L, kEngineKey, this);
  lua::RegisterRedisApi(L, /*eval_mode=*/true);
  lua_pushcfunction(L, lua::ErrorHandler);
  lua_setglobal(L, "__redis__err__handler");
  lua::LockGlobals(L);
  eval_ = L;
}

void ScriptEngine::CreateFunctionState() {
  lua_State* L = lua::NewState();
  if (L == nullptr) {
    Log(spdlog::level::critical, "cannot create the Lua state for functions");
    std::abort();
  }
  SetRegistryPointer(L, kEngineKey, this);
  lua::RegisterRedisApi(L, /*eval_mode=*/false);
  lua::PushLibraryApi(L);
  lua::LockFunctionGlobals(L);
  functions_state_ = L;
}

ScriptEngine* ScriptEngine::FromState(lua_State* L) {
  return static_cast<ScriptEngine*>(RegistryPointer(L, kEngineKey));
}

ScriptRun* ScriptEngine::CurrentRun(lua_State* L) {
  return static_cast<ScriptRun*>(RegistryPointer(L, kRunKey));
}

ScriptEngine::LoadContext* ScriptEngine::CurrentLoad(lua_State* L) {
  return static_cast<LoadContext*>(RegistryPointer(L, kLoadKey));
}

int32_t ScriptEngine::Rand() {
  rand_state_ = (0x5DEECE66DULL * rand_state_ + 0xB) & ((uint64_t{1} << 48) - 1);
  return static_cast<int32_t>(rand_state_ >> 17);
}

void ScriptEngine::Seed(int32_t seed) {
  rand_state_ = (uint64_t{static_cast<uint32_t>(seed)} << 16) | 0x330E;
}

// --- Shebangs ------------------------------------------------------------------------

namespace {

// Redis's evalExtractShebangFlags: "#!lua [flags=a,b]" on the first line.
bool ExtractShebangFlags(const std::string& body, uint32_t* flags, size_t* shebang_len,
                         std::string* err) {
  *flags = kScriptEvalCompat;
  *shebang_len = 0;
  if (body.compare(0, 2, "#!") != 0) return true;
  const size_t end = body.find('\n');
  if (end == std::string::npos) {
    *err = "Invalid script shebang";
    return false;
  }
  bool ok = false;
  const std::vector<std::string> parts = SplitArgs(std::string_view(body).substr(0, end), &ok);
  if (!ok || parts.empty()) {
    *err = "Invalid engine in script shebang";
    return false;
  }
  if (parts[0] != "#!lua") {
    *err = "Unexpected engine in script shebang: " + parts[0];
    return false;
  }
  *flags = 0;
  for (size_t j = 1; j < parts.size(); ++j) {
    if (parts[j].compare(0, 6, "flags=") != 0) {
      *err = "Unknown lua shebang option: " + parts[j];
      return false;
    }
    const std::string list = parts[j].substr(6);
    size_t start = 0;
    while (!list.empty() && start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      const std::string name = list.substr(start, comma - start);
      bool found = false;
      for (const auto& def : kScriptFlagNames) {
        if (name == def.name) {
          *flags |= def.flag;
          found = true;
        }
      }
      if (!found) {
        *err = "Unexpected flag in script shebang: " + name;
        return false;
      }
      start = comma + 1;
    }
  }
  *shebang_len = end;
  return true;
}

}  // namespace

// --- EVAL ----------------------------------------------------------------------------

std::optional<std::string> ScriptEngine::CreateEvalScript(const std::string& body,
                                                          ReplyWriter& reply) {
  std::string sha = base::Sha1Hex(body);
  if (scripts_.count(sha)) return sha;
  uint32_t flags = 0;
  size_t shebang_len = 0;
  std::string err;
  if (!ExtractShebangFlags(body, &flags, &shebang_len, &err)) {
    reply.Error("ERR " + err);
    return std::nullopt;
  }
  lua_State* L = eval_;
  // The shebang is skipped, its line feed kept, so line numbers stay the user's.
  const char* code = body.data() + shebang_len;
  const size_t len = body.size() - shebang_len;
  lua_pushstring(L, "@user_script");  // anchors the chunk name while parsing
  int status = 0;
  if (len > 0 && code[0] == LUA_SIGNATURE[0]) {
    // Redis's Lua has no undump: a precompiled chunk is a syntax error there.
    lua_pushfstring(L, "user_script:1: unexpected symbol near 'char(%d)'",
                    static_cast<int>(static_cast<unsigned char>(code[0])));
    status = LUA_ERRSYNTAX;
  } else {
    status = luaL_loadbuffer(L, code, len, "@user_script");
  }
  if (status != 0) {
    const char* msg = lua_tostring(L, -1);
    reply.Error(std::string("ERR Error compiling script (new function): ") + (msg ? msg : "?"));
    lua_settop(L, 0);
    return std::nullopt;
  }
  lua_setfield(L, LUA_REGISTRYINDEX, ("f_" + sha).c_str());
  lua_settop(L, 0);
  scripts_bytes_ += static_cast<int64_t>(body.size() + sha.size());
  scripts_.emplace(sha, EvalScript{body, flags});
  return sha;
}

void ScriptEngine::Eval(CommandContext& ctx, bool evalsha, bool read_only) {
  const std::string& script = ctx.argv[1];
  if (evalsha && script.size() != 40) {
    return ctx.reply.Error("NOSCRIPT No matching script. Please use EVAL.");
  }
  int64_t numkeys = 0;
  if (!base::ParseInt64(ctx.argv[2], &numkeys)) {
    return ctx.reply.Error("ERR value is not an integer or out of range");
  }
  if (numkeys > static_cast<int64_t>(ctx.argv.size()) - 3) {
    return ctx.reply.Error("ERR Number of keys can't be greater than number of args");
  }
  if (numkeys < 0) return ctx.reply.Error("ERR Number of keys can't be negative");
  std::string sha;
  if (evalsha) {
    sha = ToLower(script);
    if (!scripts_.count(sha))
      return ctx.reply.Error("NOSCRIPT No matching script. Please use EVAL.");
  } else {
    auto created = CreateEvalScript(script, ctx.reply);
    if (!created) return;
    sha = std::move(*created);
  }
  const uint32_t flags = scripts_[sha].flags;
  if (!(flags & kScriptEvalCompat) && !(flags & kScriptNoWrites) && read_only) {
    return ctx.reply.Error("ERR Can not execute a script with write flag using *_ro command.");
  }
  lua_State* L = eval_;
  lua_settop(L, 0);
  lua_pushcfunction(L, lua::ErrorHandler);
  lua_getfield(L, LUA_REGISTRYINDEX, ("f_" + sha).c_str());
  Run(ctx, L, sha, flags, read_only, /*eval_mode=*/true, numkeys);
}

void ScriptEngine::ScriptLoad(CommandContext& ctx) {
  auto sha = CreateEvalScript(ctx.argv[2], ctx.reply);
  if (sha) ctx.reply.Bulk(*sha);
  UpdateCounters();
}

void ScriptEngine::ScriptExists(CommandContext& ctx) {
  ctx.reply.ArrayHeader(static_cast<int64_t>(ctx.argv.size() - 2));
  for (size_t j = 2; j < ctx.argv.size(); ++j) {
    ctx.reply.Integer(scripts_.count(ToLower(ctx.argv[j])) ? 1 : 0);
  }
}

void ScriptEngine::ScriptFlush(CommandContext& ctx) {
  if (ctx.argv.size() > 3 || (ctx.argv.size() == 3 && !EqualsIgnoreCase(ctx.argv[2], "sync") &&
                              !EqualsIgnoreCase(ctx.argv[2], "async"))) {
    return ctx.reply.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
  }
  lua_close(eval_);
  eval_ = nullptr;
  scripts_.clear();
  scripts_bytes_ = 0;
  CreateEvalState();
  UpdateCounters();
  ctx.reply.Simple("OK");
}

// --- Running ---------------------------------------------------------------------------

void ScriptEngine::Run(CommandContext& ctx, lua_State* L, const std::string& name, uint32_t flags,
                       bool read_only, bool eval_mode, int64_t numkeys) {
  // Stack: [error handler, function].
  store::Txn& txn = *ctx.txn;
  const int caller_db = txn.db();
  ScriptRun run;
  run.engine = this;
  run.caller = &ctx;
  run.db = caller_db;
  run.eval_mode = eval_mode;
  run.read_only = read_only || (!(flags & kScriptEvalCompat) && (flags & kScriptNoWrites));
  SetRegistryPointer(L, kRunKey, &run);
  {
    std::lock_guard lock(run_mu_);
    running_name_ = name;
    running_argv_ = &ctx.argv;
    running_eval_ = eval_mode;
    dirty_ = false;
    kill_ = shutting_down_.load();
    slow_logged_ = false;
    start_ms_ = SteadyMs();
    running_.store(true, std::memory_order_release);
  }
  // Always hooked (Redis hooks only with a threshold): SCRIPT KILL and shutdown reach
  // the script even with lua-time-limit 0.
  lua_sethook(L, Hook, LUA_MASKCOUNT, kHookInstructions);
  txn.SetSavePoint();

  RunArgs args{&run, &ctx.argv, numkeys};
  lua_pushcfunction(L, RunTrampoline);
  lua_insert(L, 2);
  lua_pushlightuserdata(L, &args);
  lua_insert(L, 3);
  const int status = lua_pcall(L, 2, 1, 1);
  lua_sethook(L, nullptr, 0, 0);
  if (++calls_ % kGcPeriod == 0) lua_gc(L, LUA_GCSTEP, kGcPeriod);

  if (status != 0) {
    txn.RollbackToSavePoint();
    std::string msg;
    std::string source, line;
    if (!lua_istable(L, -1)) {
      const char* m = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";
      std::string text(m);
      if (text.size() > 100) text.resize(100);
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      ctx.reply.Error("ERR Error running script " + name + ", " + text);
    } else {
      lua_pushstring(L, "err");
      lua_rawget(L, -2);
      if (lua_isstring(L, -1)) {
        msg = lua_tostring(L, -1);
      } else {
        // Redis 7.0 crashes on an error table without `err`; redge reports it.
        msg = "ERR (error object is a table value)";
      }
      lua_pop(L, 1);
      lua_pushstring(L, "source");
      lua_rawget(L, -2);
      const bool has_source = lua_isstring(L, -1);
      if (has_source) source = lua_tostring(L, -1);
      lua_pop(L, 1);
      lua_pushstring(L, "line");
      lua_rawget(L, -2);
      const bool has_line = lua_isstring(L, -1);
      if (has_line) line = lua_tostring(L, -1);
      lua_pop(L, 1);
      std::string final_msg = "-" + msg;
      if (has_source && has_line) {
        final_msg += " script: " + name + ", on " + source + ":" + line + ".";
      }
      ctx.reply.Error(final_msg);
    }
    lua_pop(L, 1);
  } else {
    txn.PopSavePoint();
    lua::LuaToReply(L, ctx.reply.buffer(), ctx.reply.protocol(), run.resp, &reply_frames_);
  }
  lua_settop(L, 0);
  SetRegistryPointer(L, kRunKey, nullptr);
  {
    std::lock_guard lock(run_mu_);
    running_.store(false, std::memory_order_release);
    running_argv_ = nullptr;
    running_name_.clear();
  }
  txn.SwitchDb(caller_db);
  UpdateCounters();
}

void ScriptEngine::CallCommand(ScriptRun& run, std::string* error) {
  const std::vector<std::string>& argv = run.argv;
  const CommandSpec* spec = FindCommand(argv[0]);
  const int argc = static_cast<int>(argv.size());
  if (spec == nullptr) {
    *error = "Unknown Redis command called from script";
    return;
  }
  if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
    *error = "Wrong number of args calling Redis command from script";
    return;
  }
  if (IsNoScript(*spec)) {
    *error = "This Redis command is not allowed from script";
    return;
  }
  const bool write = spec->flags & kWrite;
  if (run.read_only && (write || MayReplicate(*spec))) {
    *error = "Write commands are not allowed from read-only scripts.";
    return;
  }
  if (write) dirty_ = true;

  CommandContext& caller = *run.caller;
  store::Txn& txn = *caller.txn;
  txn.SwitchDb(run.db);
  run.reply.clear();
  ReplyWriter w(&run.reply, run.resp);
  Connection& conn = caller.conn;
  const int conn_db = conn.db();
  CommandContext sub{conn, caller.server, run.argv, w, &txn, /*in_exec=*/true};
  sub.in_script = true;
  spec->handler(sub);
  // SELECT switched the transaction's database: it is the script's alone.
  if (conn.db() != conn_db) conn.set_db(conn_db);
  run.db = txn.db();
  // MONITOR shows what scripts run as Redis does: after the command, from client "lua".
  if (caller.server.has_monitors() && !(spec->flags & kAdmin)) {
    caller.server.FeedMonitors(run.db, "lua", run.argv);
  }
  if (run.reply.empty()) w.Error("ERR the command produced no reply");
}

// --- Redis's sdssplitargs ---------------------------------------------------------------

std::vector<std::string> SplitArgs(std::string_view line, bool* ok) {
  std::vector<std::string> out;
  *ok = false;
  line = line.substr(0, line.find('\0'));  // Redis reads a C string
  size_t p = 0;
  auto hex = [](char c) {
    return std::isdigit(static_cast<unsigned char>(c))
               ? c - '0'
               : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
  };
  while (true) {
    while (p < line.size() && std::isspace(static_cast<unsigned char>(line[p]))) p++;
    if (p >= line.size()) break;
    std::string cur;
    bool inq = false, insq = false, done = false;
    while (!done) {
      const bool end = p >= line.size();
      const char c = end ? '\0' : line[p];
      if (inq) {
        if (end) return {};  // unterminated quotes
        if (c == '\\' && p + 3 < line.size() && line[p + 1] == 'x' &&
            std::isxdigit(static_cast<unsigned char>(line[p + 2])) &&
            std::isxdigit(static_cast<unsigned char>(line[p + 3]))) {
          cur.push_back(static_cast<char>(hex(line[p + 2]) * 16 + hex(line[p + 3])));
          p += 3;
        } else if (c == '\\' && p + 1 < line.size()) {
          p++;
          const char e = line[p];
          cur.push_back(e == 'n'   ? '\n'
                        : e == 'r' ? '\r'
                        : e == 't' ? '\t'
                        : e == 'b' ? '\b'
                        : e == 'a' ? '\a'
                                   : e);
        } else if (c == '"') {
          // A closing quote must be followed by a space or the end.
          if (p + 1 < line.size() && !std::isspace(static_cast<unsigned char>(line[p + 1]))) {
            return {};
          }
          done = true;
        } else {
          cur.push_back(c);
        }
      } else if (insq) {
        if (end) return {};
        if (c == '\\' && p + 1 < line.size() && line[p + 1] == '\'') {
          p++;
          cur.push_back('\'');
        } else if (c == '\'') {
          if (p + 1 < line.size() && !std::isspace(static_cast<unsigned char>(line[p + 1]))) {
            return {};
          }
          done = true;
        } else {
          cur.push_back(c);
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            inq = true;
            break;
          case '\'':
            insq = true;
            break;
          default:
            cur.push_back(c);
        }
      }
      if (!end) p++;
    }
    out.push_back(std::move(cur));
  }
  *ok = true;
  return out;
}

}  // namespace redge::resp
