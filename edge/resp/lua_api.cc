// The redis.* functions, with Redis 7.0's arguments checks and error texts. Each raises
// Redis's error tables ({err = "ERR ..."}), which the error handler completes with the
// script's line. None keeps a C++ object in its frame across a call that may raise (see
// PushGcObject in lua_sandbox.h): scratch buffers live in the ScriptRun.
#include "edge/resp/lua_api.h"

#include <strings.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "base/sha1.h"
#include "edge/log.h"
#include "edge/resp/lua_convert.h"
#include "edge/resp/lua_engine.h"
#include "edge/resp/lua_sandbox.h"

namespace redge::resp::lua {
namespace {

// Redis's PROPAGATE_* values and log levels.
constexpr int kReplAof = 1, kReplReplica = 2;
constexpr int kLogDebug = 0, kLogVerbose = 1, kLogNotice = 2, kLogWarning = 3;

int RaiseError(lua_State* L, const char* msg) {
  PushError(L, msg);
  return lua_error(L);
}

// Converts the call's arguments into run->argv (numbers as "%.17g", as Redis 7.0 does)
// and pops them. Returns false if one is neither a string nor a number.
bool CollectArgs(lua_State* L, std::vector<std::string>* argv) {
  const int argc = lua_gettop(L);
  argv->resize(static_cast<size_t>(argc));
  int j = 0;
  for (; j < argc; ++j) {
    if (lua_type(L, j + 1) == LUA_TNUMBER) {
      char buf[64];
      const int n = std::snprintf(buf, sizeof(buf), "%.17g", lua_tonumber(L, j + 1));
      (*argv)[j].assign(buf, static_cast<size_t>(n));
    } else {
      size_t len;
      const char* s = lua_tolstring(L, j + 1, &len);
      if (s == nullptr) break;
      (*argv)[j].assign(s, len);
    }
  }
  lua_pop(L, argc);
  return j == argc;
}

// Thread-local error text of the command call in progress (not on the frame of a
// function that may raise).
thread_local std::string call_error;

int GenericCommand(lua_State* L, bool raise) {
  ScriptRun* run = ScriptEngine::CurrentRun(L);
  if (run == nullptr) {
    return RaiseError(L, "redis.call/pcall can only be called inside a script invocation");
  }
  if (lua_gettop(L) == 0) {
    PushError(L, "Please specify at least one argument for this redis lib call");
    return raise ? lua_error(L) : 1;
  }
  if (!CollectArgs(L, &run->argv)) {
    PushError(L, "Lua redis lib command arguments must be strings or integers");
    return raise ? lua_error(L) : 1;
  }
  call_error.clear();
  run->engine->CallCommand(*run, &call_error);
  if (!call_error.empty()) {
    PushError(L, call_error);
    lua_pushstring(L, "ignore_error_stats_update");
    lua_pushboolean(L, 1);
    lua_settable(L, -3);
    return raise ? lua_error(L) : 1;
  }
  if (raise && (run->reply.empty() || run->reply[0] != '-')) raise = false;
  PushReply(L, run->reply, &run->parse_frames);
  return raise ? lua_error(L) : 1;
}

int Call(lua_State* L) { return GenericCommand(L, true); }
int PCall(lua_State* L) { return GenericCommand(L, false); }

// The global pcall: as Lua's, but an error table {err = ...} comes back as its string
// (what scripts written for Redis < 7 expect).
int Pcall(lua_State* L) {
  luaL_checkany(L, 1);
  const int argc = lua_gettop(L);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  if (lua_pcall(L, argc - 1, LUA_MULTRET, 0) != 0) {
    lua_remove(L, 1);
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "err");
      if (lua_isstring(L, -1)) lua_replace(L, -2);
    }
    lua_pushboolean(L, 0);
    lua_insert(L, 1);
  }
  return lua_gettop(L);
}

int Sha1Hex(lua_State* L) {
  if (lua_gettop(L) != 1) return RaiseError(L, "wrong number of arguments");
  size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  base::Sha1 sha;
  if (s != nullptr) sha.Update(s, len);
  const auto digest = sha.Final();
  static constexpr char kHex[] = "0123456789abcdef";
  char hex[41];
  for (size_t i = 0; i < digest.size(); ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  hex[40] = '\0';
  lua_pushstring(L, hex);
  return 1;
}

int ErrorReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    PushError(L, "wrong number or type of arguments");
    return 1;
  }
  const char* err = lua_tostring(L, -1);  // as Redis: up to a NUL byte
  if (err[0] == '-') {
    PushError(L, err);
  } else {
    PushErrorLine(L, err);
  }
  return 1;
}

int StatusReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    PushError(L, "wrong number or type of arguments");
    return 1;
  }
  lua_newtable(L);
  lua_pushstring(L, "ok");
  lua_pushvalue(L, -3);
  lua_settable(L, -3);
  return 1;
}

int SetRepl(lua_State* L) {
  if (ScriptEngine::CurrentRun(L) == nullptr) {
    return RaiseError(L, "redis.set_repl can only be called inside a script invocation");
  }
  if (lua_gettop(L) != 1) return RaiseError(L, "redis.set_repl() requires two arguments.");
  const int flags = static_cast<int>(lua_tonumber(L, -1));
  if ((flags & ~(kReplAof | kReplReplica)) != 0) {
    return RaiseError(
        L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
  }
  return 0;  // redge has no replication: accepted, nothing to do
}

int ReplicateCommands(lua_State* L) {
  lua_pushboolean(L, 1);
  return 1;
}

// redis.breakpoint / redis.debug: redge has no Lua debugger, so they do what Redis's do
// when no debugging session is active.
int Breakpoint(lua_State* L) {
  lua_pushboolean(L, 0);
  return 1;
}

int Debug(lua_State*) { return 0; }

int AclCheckCmd(lua_State* L) {
  ScriptRun* run = ScriptEngine::CurrentRun(L);
  if (run == nullptr) {
    return RaiseError(L, "redis.acl_check_cmd can only be called inside a script invocation");
  }
  if (lua_gettop(L) == 0) {
    return RaiseError(L, "Please specify at least one argument for this redis lib call");
  }
  if (!CollectArgs(L, &run->argv)) {
    return RaiseError(L, "Lua redis lib command arguments must be strings or integers");
  }
  if (FindCommand(run->argv[0]) == nullptr) {
    return RaiseError(L, "Invalid command passed to redis.acl_check_cmd()");
  }
  // RESP clients of redge all have every permission (no ACL users yet).
  lua_pushboolean(L, 1);
  return 1;
}

int Log(lua_State* L) {
  const int argc = lua_gettop(L);
  if (argc < 2) return RaiseError(L, "redis.log() requires two arguments or more.");
  if (!lua_isnumber(L, -argc)) return RaiseError(L, "First argument must be a number (log level).");
  const int level = static_cast<int>(lua_tonumber(L, -argc));
  if (level < kLogDebug || level > kLogWarning) return RaiseError(L, "Invalid debug level.");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int j = 1; j < argc; ++j) {
    size_t len;
    const char* s = lua_tolstring(L, j + 1, &len);
    if (s != nullptr) {
      if (j != 1) luaL_addchar(&b, ' ');
      luaL_addlstring(&b, s, len);
    }
  }
  luaL_pushresult(&b);
  size_t len;
  const char* msg = lua_tolstring(L, -1, &len);
  const auto spd = level == kLogWarning  ? spdlog::level::warn
                   : level == kLogNotice ? spdlog::level::info
                                         : spdlog::level::debug;
  redge::Log(spd, "lua script log", {{"message", std::string(msg, len)}});
  return 0;
}

int SetResp(lua_State* L) {
  ScriptRun* run = ScriptEngine::CurrentRun(L);
  if (run == nullptr) {
    return RaiseError(L, "redis.setresp can only be called inside a script invocation");
  }
  const int argc = lua_gettop(L);
  if (argc != 1) return RaiseError(L, "redis.setresp() requires one argument.");
  const int resp = static_cast<int>(lua_tonumber(L, -argc));
  if (resp != 2 && resp != 3) return RaiseError(L, "RESP version must be 2 or 3.");
  run->resp = resp;
  return 0;
}

// math.random as Lua 5.1's, over Redis's PRNG (the same sequence on every machine).
int MathRandom(lua_State* L) {
  ScriptEngine* engine = ScriptEngine::FromState(L);
  if (ScriptEngine::CurrentRun(L) == nullptr) {
    return luaL_error(L, "math.random can only be called inside a script invocation");
  }
  const lua_Number r = static_cast<lua_Number>(engine->Rand() % INT32_MAX) / INT32_MAX;
  switch (lua_gettop(L)) {
    case 0:
      lua_pushnumber(L, r);
      break;
    case 1: {
      const int u = luaL_checkint(L, 1);
      luaL_argcheck(L, 1 <= u, 1, "interval is empty");
      lua_pushnumber(L, std::floor(r * u) + 1);
      break;
    }
    case 2: {
      const int l = luaL_checkint(L, 1);
      const int u = luaL_checkint(L, 2);
      luaL_argcheck(L, l <= u, 2, "interval is empty");
      lua_pushnumber(L, std::floor(r * (static_cast<lua_Number>(u) - l + 1)) + l);
      break;
    }
    default:
      return luaL_error(L, "wrong number of arguments");
  }
  return 1;
}

int MathRandomSeed(lua_State* L) {
  if (ScriptEngine::CurrentRun(L) == nullptr) {
    return luaL_error(L, "math.randomseed can only be called inside a script invocation");
  }
  ScriptEngine::FromState(L)->Seed(luaL_checkint(L, 1));
  return 0;
}

void SetFn(lua_State* L, const char* name, lua_CFunction fn) {
  lua_pushcfunction(L, fn);
  lua_setfield(L, -2, name);
}

void SetNum(lua_State* L, const char* name, lua_Number n) {
  lua_pushnumber(L, n);
  lua_setfield(L, -2, name);
}

// redis.log, the LOG_* levels and the version: shared by the API and the library API.
void AddLogAndVersion(lua_State* L) {
  SetFn(L, "log", Log);
  SetNum(L, "LOG_DEBUG", kLogDebug);
  SetNum(L, "LOG_VERBOSE", kLogVerbose);
  SetNum(L, "LOG_NOTICE", kLogNotice);
  SetNum(L, "LOG_WARNING", kLogWarning);
  ScriptEngine* engine = ScriptEngine::FromState(L);
  SetNum(L, "REDIS_VERSION_NUM", engine->version_num());
  lua_pushstring(L, engine->version().c_str());
  lua_setfield(L, -2, "REDIS_VERSION");
}

}  // namespace

void RegisterRedisApi(lua_State* L, bool eval_mode) {
  lua_pushcfunction(L, Pcall);
  lua_setglobal(L, "pcall");

  lua_newtable(L);
  SetFn(L, "call", Call);
  SetFn(L, "pcall", PCall);
  AddLogAndVersion(L);
  SetFn(L, "setresp", SetResp);
  SetFn(L, "sha1hex", Sha1Hex);
  SetFn(L, "error_reply", ErrorReply);
  SetFn(L, "status_reply", StatusReply);
  SetFn(L, "set_repl", SetRepl);
  SetNum(L, "REPL_NONE", 0);
  SetNum(L, "REPL_AOF", kReplAof);
  SetNum(L, "REPL_SLAVE", kReplReplica);
  SetNum(L, "REPL_REPLICA", kReplReplica);
  SetNum(L, "REPL_ALL", kReplAof | kReplReplica);
  SetFn(L, "acl_check_cmd", AclCheckCmd);
  if (eval_mode) {
    SetFn(L, "breakpoint", Breakpoint);
    SetFn(L, "debug", Debug);
    SetFn(L, "replicate_commands", ReplicateCommands);
  }
  lua_setglobal(L, "redis");

  lua_getglobal(L, "math");
  SetFn(L, "random", MathRandom);
  SetFn(L, "randomseed", MathRandomSeed);
  lua_pop(L, 1);
}

namespace {
int RegisterFunction(lua_State* L);
}  // namespace

void PushLibraryApi(lua_State* L) {
  lua_newtable(L);  // the library globals
  lua_newtable(L);  // their redis table
  SetFn(L, "register_function", RegisterFunction);
  AddLogAndVersion(L);
  PushReadonly(L, -1, /*strict=*/true);
  lua_remove(L, -2);
  lua_setfield(L, -2, "redis");
}

// --- redis.register_function ---------------------------------------------------------

namespace {

bool ReadFlags(lua_State* L, uint32_t* flags) {
  // The flags table is on the top of the stack.
  uint32_t f = 0;
  for (int j = 1;; ++j) {
    lua_pushnumber(L, j);
    lua_gettable(L, -2);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    if (!lua_isstring(L, -1)) {
      lua_pop(L, 1);
      return false;
    }
    const char* name = lua_tostring(L, -1);
    bool found = false;
    for (const auto& def : kScriptFlagNames) {
      if (strcasecmp(def.name, name) == 0) {
        f |= def.flag;
        found = true;
        break;
      }
    }
    lua_pop(L, 1);
    if (!found) return false;
  }
  *flags = f;
  return true;
}

void SetString(lua_State* L, int idx, std::string* out) {
  size_t len;
  const char* s = lua_tolstring(L, idx, &len);
  out->assign(s, len);
}

// Reads {function_name=, callback=, description=, flags=} (table at index 1) into `load`.
const char* ReadNamedArgs(lua_State* L, ScriptEngine::LoadContext& load) {
  if (!lua_istable(L, 1)) {
    return "calling redis.register_function with a single argument is only applicable to Lua "
           "table (representing named arguments).";
  }
  bool have_name = false;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    if (!lua_isstring(L, -2))
      return "named argument key given to redis.register_function is not a string";
    const char* key = lua_tostring(L, -2);
    if (strcasecmp(key, "function_name") == 0) {
      if (!lua_isstring(L, -1)) {
        return "function_name argument given to redis.register_function must be a string";
      }
      SetString(L, -1, &load.name);
      have_name = true;
    } else if (strcasecmp(key, "description") == 0) {
      if (!lua_isstring(L, -1)) {
        return "description argument given to redis.register_function must be a string";
      }
      load.desc.emplace();
      SetString(L, -1, &*load.desc);
    } else if (strcasecmp(key, "callback") == 0) {
      if (!lua_isfunction(L, -1)) {
        return "callback argument given to redis.register_function must be a function";
      }
      if (load.ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, load.ref);
      load.ref = luaL_ref(L, LUA_REGISTRYINDEX);  // pops the function
      continue;
    } else if (strcasecmp(key, "flags") == 0) {
      if (!lua_istable(L, -1)) {
        return "flags argument to redis.register_function must be a table representing function "
               "flags";
      }
      if (!ReadFlags(L, &load.flags)) return "unknown flag given";
    } else {
      return "unknown argument given to redis.register_function";
    }
    lua_pop(L, 1);
  }
  if (!have_name) return "redis.register_function must get a function name argument";
  if (load.ref == LUA_NOREF) return "redis.register_function must get a callback argument";
  return nullptr;
}

const char* ReadPositionalArgs(lua_State* L, ScriptEngine::LoadContext& load) {
  if (!lua_isstring(L, 1)) return "first argument to redis.register_function must be a string";
  SetString(L, 1, &load.name);
  if (!lua_isfunction(L, 2)) return "second argument to redis.register_function must be a function";
  load.ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return nullptr;
}

int RegisterFunction(lua_State* L) {
  ScriptEngine::LoadContext* load = ScriptEngine::CurrentLoad(L);
  if (load == nullptr) {
    return RaiseError(L, "redis.register_function can only be called on FUNCTION LOAD command");
  }
  load->ResetArgs();
  const int argc = lua_gettop(L);
  const char* err = nullptr;
  if (argc < 1 || argc > 2) {
    err = "wrong number of arguments to redis.register_function";
  } else if (argc == 1) {
    err = ReadNamedArgs(L, *load);
  } else {
    err = ReadPositionalArgs(L, *load);
  }
  if (err == nullptr) err = ScriptEngine::FromState(L)->RegisterFunction(*load);
  if (err != nullptr) {
    if (load->ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, load->ref);
    load->ref = LUA_NOREF;
    return RaiseError(L, err);
  }
  load->ref = LUA_NOREF;  // the library owns it now
  return 0;
}

}  // namespace
}  // namespace redge::resp::lua
