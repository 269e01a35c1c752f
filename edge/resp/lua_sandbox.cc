#include "edge/resp/lua_sandbox.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace redge::resp::lua {
namespace {

constexpr char kProxyOf[] = "redge.proxy_of";  // real table -> proxy
constexpr char kLibraryApi[] = "redge.library_api";
constexpr char kFunctionGlobalsMeta[] = "redge.function_globals_meta";

}  // namespace

namespace internal {

void PushRegistryTable(lua_State* L, const char* field) {
  lua_getfield(L, LUA_REGISTRYINDEX, field);
  if (lua_istable(L, -1)) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, field);
}

// Pushes the real table behind the proxy at `idx`, or nothing (returns false).
bool PushProxyTarget(lua_State* L, int idx) {
  if (!lua_istable(L, idx)) return false;
  idx = idx < 0 && idx > LUA_REGISTRYINDEX ? lua_gettop(L) + idx + 1 : idx;
  PushRegistryTable(L, kProxyTarget);
  lua_pushvalue(L, idx);
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (lua_istable(L, -1)) return true;
  lua_pop(L, 1);
  return false;
}

// Replaces the value at `idx` by the real table behind it when it is a proxy.
void ResolveArg(lua_State* L, int idx) {
  if (PushProxyTarget(L, idx)) lua_replace(L, idx);
}

// Raised the way Redis's patched lua_rawset raises it: from C, so without a position.
int RaiseReadonly(lua_State* L) {
  lua_pushstring(L, kReadonlyError);
  return lua_error(L);
}

// __newindex of every proxy: an assignment in a script, so luaL_error names its line.
int ProxyNewIndex(lua_State* L) { return luaL_error(L, kReadonlyError); }

// __index of a strict real table (the globals): a missing global is an error.
int StrictIndex(lua_State* L) {
  if (lua_gettop(L) != 2) luaL_error(L, "Wrong number of arguments to luaProtectedTableError");
  if (!lua_isstring(L, -1) && !lua_isnumber(L, -1)) {
    luaL_error(L, "Second argument to luaProtectedTableError must be a string or number");
  }
  const char* name = lua_tostring(L, -1);
  return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name);
}

}  // namespace internal

using namespace internal;  // NOLINT: this file defines them

long long NumberToLongLong(lua_Number n) {
  if (!(n >= -9223372036854775808.0 && n < 9223372036854775808.0)) return LLONG_MIN;
  return static_cast<long long>(n);
}

bool IsReadonly(lua_State* L, int idx) {
  if (!PushProxyTarget(L, idx)) return false;
  lua_pop(L, 1);
  return true;
}

void PushReadonly(lua_State* L, int idx, bool strict) {
  idx = idx < 0 && idx > LUA_REGISTRYINDEX ? lua_gettop(L) + idx + 1 : idx;
  PushRegistryTable(L, kProxyOf);
  lua_pushvalue(L, idx);
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (lua_istable(L, -1)) return;  // memoized
  lua_pop(L, 1);

  lua_newtable(L);  // the proxy
  const int proxy = lua_gettop(L);
  lua_newtable(L);  // its metatable: reads go to the real table, writes fail
  lua_pushvalue(L, idx);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ProxyNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_setmetatable(L, proxy);

  PushRegistryTable(L, kProxyOf);
  lua_pushvalue(L, idx);
  lua_pushvalue(L, proxy);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  PushRegistryTable(L, kProxyTarget);
  lua_pushvalue(L, proxy);
  lua_pushvalue(L, idx);
  lua_rawset(L, -3);
  lua_pop(L, 1);

  if (strict) {
    // The real table raises on a missing key...
    lua_newtable(L);
    lua_pushcfunction(L, StrictIndex);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, idx);
    // ...and getmetatable on the proxy shows a read-only {__index = <that function>}.
    lua_newtable(L);
    lua_pushcfunction(L, StrictIndex);
    lua_setfield(L, -2, "__index");
    PushReadonly(L, -1, false);
    lua_remove(L, -2);
    PushRegistryTable(L, kVisibleMeta);
    lua_pushvalue(L, proxy);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 2);
  }
}

namespace {

void ProtectTable(lua_State* L, int idx) {
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_istable(L, -1) && !IsReadonly(L, -1)) {
      PushRegistryTable(L, kProxyOf);
      lua_pushvalue(L, -2);
      lua_rawget(L, -2);
      const bool seen = !lua_isnil(L, -1);
      lua_pop(L, 2);
      // The proxy exists before the fields are visited, so cycles end here.
      PushReadonly(L, -1, false);
      if (!seen) ProtectTable(L, lua_gettop(L) - 1);
      lua_pushvalue(L, -3);  // key
      lua_insert(L, -2);
      lua_rawset(L, idx);  // replaces an existing key: allowed during lua_next
    }
    lua_pop(L, 1);
  }
}

}  // namespace

void ProtectFields(lua_State* L, int idx) { ProtectTable(L, idx); }

void LockGlobals(lua_State* L) {
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  const int g = lua_gettop(L);
  lua_pushvalue(L, g);
  lua_setfield(L, LUA_REGISTRYINDEX, kRealGlobals);
  lua_pushnil(L);
  lua_setfield(L, g, "_G");  // set again below, to the proxy
  ProtectTable(L, g);

  // Strings index their library through a real metatable the VM reads directly: point
  // it at the read-only library and show scripts a read-only view of it.
  lua_pushstring(L, "");
  lua_getmetatable(L, -1);
  lua_getfield(L, g, "string");  // the proxy by now
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, kStringMeta);
  PushReadonly(L, -1, false);
  lua_setfield(L, LUA_REGISTRYINDEX, kStringMetaView);
  lua_pop(L, 2);

  PushReadonly(L, g, /*strict=*/true);
  lua_pushvalue(L, -1);
  lua_setfield(L, g, "_G");
  lua_replace(L, LUA_GLOBALSINDEX);
  lua_pop(L, 1);
}

void LockFunctionGlobals(lua_State* L) {
  const int api = lua_gettop(L);
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  const int g = lua_gettop(L);
  lua_pushvalue(L, g);
  lua_setfield(L, LUA_REGISTRYINDEX, kRealGlobals);
  lua_pushnil(L);
  lua_setfield(L, g, "_G");
  ProtectTable(L, g);
  ProtectTable(L, api);
  lua_pushstring(L, "");
  lua_getmetatable(L, -1);
  lua_getfield(L, g, "string");
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, kStringMeta);
  PushReadonly(L, -1, false);
  lua_setfield(L, LUA_REGISTRYINDEX, kStringMetaView);
  lua_pop(L, 2);

  PushReadonly(L, api, /*strict=*/true);  // gives the API its strict metatable
  lua_pop(L, 1);
  lua_pushvalue(L, api);
  lua_setfield(L, LUA_REGISTRYINDEX, kLibraryApi);
  PushReadonly(L, g, /*strict=*/true);
  lua_setfield(L, g, "_G");

  // The thread's globals: an empty read-only table reading through a switchable __index.
  lua_newtable(L);
  const int proxy = lua_gettop(L);
  lua_newtable(L);
  lua_pushvalue(L, g);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ProxyNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, kFunctionGlobalsMeta);
  lua_setmetatable(L, proxy);
  PushRegistryTable(L, kProxyTarget);
  lua_pushvalue(L, proxy);
  lua_pushvalue(L, g);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  lua_newtable(L);  // what getmetatable(_G) shows
  lua_getfield(L, g, "_G");
  lua_setfield(L, -2, "__index");
  PushReadonly(L, -1, false);
  lua_remove(L, -2);
  PushRegistryTable(L, kVisibleMeta);
  lua_pushvalue(L, proxy);
  lua_pushvalue(L, -3);
  lua_rawset(L, -3);
  lua_pop(L, 2);
  lua_replace(L, LUA_GLOBALSINDEX);
  lua_settop(L, api - 1);
}

void SetLibraryLoading(lua_State* L, bool loading) {
  lua_getfield(L, LUA_REGISTRYINDEX, kFunctionGlobalsMeta);
  lua_getfield(L, LUA_REGISTRYINDEX, loading ? kLibraryApi : kRealGlobals);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

namespace {

void PushErrorParts(lua_State* L, std::string_view code, std::string_view msg) {
  while (!msg.empty() && (msg.front() == '\r' || msg.front() == '\n')) msg.remove_prefix(1);
  while (!msg.empty() && (msg.back() == '\r' || msg.back() == '\n')) msg.remove_suffix(1);
  // As Redis builds it with lua_pushstring: a NUL byte ends the message.
  code = code.substr(0, code.find('\0'));
  msg = msg.substr(0, msg.find('\0'));
  lua_newtable(L);
  lua_pushlstring(L, code.data(), code.size());
  lua_pushlstring(L, " ", 1);
  lua_pushlstring(L, msg.data(), msg.size());
  lua_concat(L, 3);
  lua_setfield(L, -2, "err");
}

}  // namespace

void PushErrorLine(lua_State* L, std::string_view line) {
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) {
    PushErrorParts(L, "ERR", line);
  } else {
    PushErrorParts(L, line.substr(0, space), line.substr(space + 1));
  }
}

void PushError(lua_State* L, std::string_view error) {
  if (!error.empty() && error.front() == '-') {
    PushErrorLine(L, error.substr(1));
  } else {
    PushErrorParts(L, "ERR", error);
  }
}

int ErrorHandler(lua_State* L) {
  lua_settop(L, 1);
  lua_Debug ar;
  bool have = lua_getstack(L, 1, &ar) && lua_getinfo(L, "nSl", &ar);
  if (have && std::strcmp(ar.what, "C") == 0) {
    have = lua_getstack(L, 2, &ar) && lua_getinfo(L, "nSl", &ar);
  }
  if (!lua_istable(L, 1)) {
    // {err = 'ERR ' .. tostring(err)}
    lua_getfield(L, LUA_REGISTRYINDEX, "redge.tostring");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    lua_pushstring(L, "ERR ");
    lua_insert(L, -2);
    lua_concat(L, 2);
    lua_newtable(L);
    lua_insert(L, -2);
    lua_setfield(L, -2, "err");
    lua_replace(L, 1);
  }
  if (have) {
    lua_pushstring(L, ar.source);
    lua_setfield(L, 1, "source");
    lua_pushinteger(L, ar.currentline);
    lua_setfield(L, 1, "line");
  }
  return 1;
}

}  // namespace redge::resp::lua