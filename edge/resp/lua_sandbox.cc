#include "edge/resp/lua_sandbox.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "edge/resp/lua_libs.h"

extern "C" {
int luaopen_cjson(lua_State* L);
int luaopen_bit(lua_State* L);
}

namespace redge::resp::lua {
namespace {

// Registry fields of the sandbox.
constexpr char kProxyTarget[] = "redge.proxy_target";  // proxy -> real table
constexpr char kProxyOf[] = "redge.proxy_of";          // real table -> proxy
constexpr char kVisibleMeta[] = "redge.visible_meta";  // proxy -> what getmetatable shows
constexpr char kStringMeta[] = "redge.string_meta";    // the strings' metatable (real)
constexpr char kStringMetaView[] = "redge.string_meta_view";
constexpr char kLibraryApi[] = "redge.library_api";
constexpr char kFunctionGlobalsMeta[] = "redge.function_globals_meta";

constexpr char kReadonlyError[] = "Attempt to modify a readonly table";
// Longest pattern with magic characters the string functions accept: Lua 5.1's matcher
// recurses once per pattern item and has no depth limit of its own. Measured with
// Debian's build: ~60 bytes of C stack per level, 100000 levels fit in 8 MiB; 16384
// characters stay far below that on any thread redge runs scripts on.
constexpr size_t kMaxPatternLength = 16384;

void* Allocate(void*, void* ptr, size_t, size_t nsize) {
  if (nsize == 0) {
    std::free(ptr);
    return nullptr;
  }
  if (nsize > kMaxAllocation) return nullptr;  // Lua raises "not enough memory"
  return std::realloc(ptr, nsize);
}

int Panic(lua_State* L) {
  // Only reached by an error outside any protected call, which redge never makes.
  const char* msg = lua_tostring(L, -1);
  std::fprintf(stderr, "redge: unprotected Lua error: %s\n", msg ? msg : "?");
  std::abort();
}

// Pushes registry[field], creating an empty table there the first time.
void PushRegistryTable(lua_State* L, const char* field) {
  lua_getfield(L, LUA_REGISTRYINDEX, field);
  if (lua_istable(L, -1)) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, field);
}

// Pushes the real table behind the proxy at `idx`, or nothing (returns false).
bool PushTarget(lua_State* L, int idx) {
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
  if (PushTarget(L, idx)) lua_replace(L, idx);
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

// --- Wrapped base functions ---------------------------------------------------------

int RawSet(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  if (IsReadonly(L, 1)) return RaiseReadonly(L);
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

int RawGet(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  lua_settop(L, 2);
  ResolveArg(L, 1);
  lua_rawget(L, 1);
  return 1;
}

int Next(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  ResolveArg(L, 1);
  if (lua_next(L, 1)) return 2;
  lua_pushnil(L);
  return 1;
}

int Pairs(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushvalue(L, lua_upvalueindex(1));  // Next
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

int IpairsStep(lua_State* L) {
  int i = luaL_checkint(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  ResolveArg(L, 1);
  i++;
  lua_pushinteger(L, i);
  lua_rawgeti(L, 1, i);
  return lua_isnil(L, -1) ? 0 : 2;
}

int Ipairs(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushvalue(L, lua_upvalueindex(1));  // IpairsStep
  lua_pushvalue(L, 1);
  lua_pushinteger(L, 0);
  return 3;
}

int GetMetatable(lua_State* L) {
  luaL_checkany(L, 1);
  if (IsReadonly(L, 1)) {
    PushRegistryTable(L, kVisibleMeta);
    lua_pushvalue(L, 1);
    lua_rawget(L, -2);
    return 1;
  }
  if (!lua_getmetatable(L, 1)) {
    lua_pushnil(L);
    return 1;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, kStringMeta);
  if (lua_rawequal(L, -1, -2)) {
    lua_getfield(L, LUA_REGISTRYINDEX, kStringMetaView);
    return 1;
  }
  lua_pop(L, 1);
  luaL_getmetafield(L, 1, "__metatable");
  return 1;
}

int SetMetatable(lua_State* L) {
  const int t = lua_type(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argcheck(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table expected");
  if (IsReadonly(L, 1)) return RaiseReadonly(L);
  if (luaL_getmetafield(L, 1, "__metatable")) luaL_error(L, "cannot change a protected metatable");
  lua_settop(L, 2);
  lua_setmetatable(L, 1);
  return 1;
}

int Unpack(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  ResolveArg(L, 1);
  const int64_t i = luaL_optint(L, 2, 1);
  const int64_t e = luaL_opt(L, luaL_checkint, 3, luaL_getn(L, 1));
  if (i > e) return 0;
  const int64_t n = e - i + 1;
  if (n >= INT_MAX || !lua_checkstack(L, static_cast<int>(n))) {
    return luaL_error(L, "too many results to unpack");
  }
  for (int64_t k = i; k <= e; ++k) lua_rawgeti(L, 1, static_cast<int>(k));
  return static_cast<int>(n);
}

// The name luaO_chunkid gives a chunk in messages (for a refused binary chunk).
void ChunkId(const char* source, char* out, size_t size) {
  if (*source == '=' || *source == '@') {
    std::snprintf(out, size, "%s", source + 1);
    return;
  }
  const size_t first = std::strcspn(source, "\n\r");
  const size_t room = LUA_IDSIZE - 15;
  const bool cut = first > room || source[first] != '\0';
  std::snprintf(out, size, "[string \"%.*s%s\"]", static_cast<int>(std::min(first, room)), source,
                cut ? "..." : "");
}

// Loads `len` bytes as Lua source; binary chunks are refused as a parse error, the way
// Redis's Lua (which has no undump) reports them. Pushes the function or nil + message.
int LoadChunk(lua_State* L, const char* s, size_t len, const char* chunkname) {
  if (len > 0 && s[0] == LUA_SIGNATURE[0]) {
    char id[LUA_IDSIZE + 16];
    ChunkId(chunkname, id, sizeof(id));
    lua_pushnil(L);
    lua_pushfstring(L, "%s:1: unexpected symbol near '<\\%d>'", id,
                    static_cast<int>(static_cast<unsigned char>(s[0])));
    return 2;
  }
  // Interned strings are shared: with `chunkname` on the stack, the parser's copy of it
  // cannot be collected while the parser runs.
  lua_pushstring(L, chunkname);
  if (luaL_loadbuffer(L, s, len, chunkname) == 0) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

int LoadString(lua_State* L) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  const char* chunkname = luaL_optstring(L, 2, s);
  return LoadChunk(L, s, len, chunkname);
}

int Load(lua_State* L) {
  const char* chunkname = luaL_optstring(L, 2, "=(load)");
  luaL_checktype(L, 1, LUA_TFUNCTION);
  luaL_Buffer b;
  lua_settop(L, 3);  // 3: reserved for the reader's results
  luaL_buffinit(L, &b);
  while (true) {
    lua_pushvalue(L, 1);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    if (!lua_isstring(L, -1)) return luaL_error(L, "reader function must return a string");
    const bool empty = lua_objlen(L, -1) == 0;
    luaL_addvalue(&b);
    if (empty) break;
  }
  luaL_pushresult(&b);
  size_t len;
  const char* s = lua_tolstring(L, -1, &len);
  return LoadChunk(L, s, len, chunkname);
}

// table.insert on a proxy fails like Redis's rawseti; the rest is the original.
int TableInsert(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (IsReadonly(L, 1)) {
    if (lua_gettop(L) != 2 && lua_gettop(L) != 3) {
      return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    return RaiseReadonly(L);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// Calls the original function (upvalue 1) with argument 1 resolved to its real table.
int CallResolved(lua_State* L) {
  ResolveArg(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// The string functions that run the recursive matcher refuse a pattern it could not
// finish within the C stack; the rest is the original.
int CheckedPatternCall(lua_State* L) {
  size_t len = 0;
  const char* p = lua_tolstring(L, 2, &len);
  const bool plain = lua_toboolean(L, 4) && lua_tointeger(L, lua_upvalueindex(2)) == 1;
  if (p != nullptr && len > kMaxPatternLength && !plain &&
      std::strpbrk(p, "^$*+?.([%-") != nullptr) {
    return luaL_error(L, "pattern too complex");
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// bit.tohex(x, n) with n = INT32_MIN would overflow its digit count (CVE-2024-31449).
int BitToHex(lua_State* L) {
  if (lua_gettop(L) >= 2 && lua_isnumber(L, 2) && lua_tonumber(L, 2) <= INT32_MIN) {
    lua_pushinteger(L, INT32_MIN + 1);
    lua_replace(L, 2);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// Replaces table[name] (table at `idx`) by `fn` with the old value as upvalue 1 and
// `extra` (if not LUA_NOREF-like -1) as upvalue 2.
void Wrap(lua_State* L, int idx, const char* name, lua_CFunction fn, int extra = -1) {
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  lua_getfield(L, idx, name);
  int n = 1;
  if (extra >= 0) {
    lua_pushinteger(L, extra);
    n = 2;
  }
  lua_pushcclosure(L, fn, n);
  lua_setfield(L, idx, name);
}

void SetFunction(lua_State* L, int idx, const char* name, lua_CFunction fn) {
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  lua_pushcfunction(L, fn);
  lua_setfield(L, idx, name);
}

void OpenLib(lua_State* L, const char* name, lua_CFunction open) {
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
}

void ProtectTable(lua_State* L, int idx);

}  // namespace

long long NumberToLongLong(lua_Number n) {
  if (!(n >= -9223372036854775808.0 && n < 9223372036854775808.0)) return LLONG_MIN;
  return static_cast<long long>(n);
}

bool IsReadonly(lua_State* L, int idx) {
  if (!PushTarget(L, idx)) return false;
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

lua_State* NewState() {
  lua_State* L = lua_newstate(Allocate, nullptr);
  if (L == nullptr) return nullptr;
  lua_atpanic(L, Panic);
  OpenLib(L, "", luaopen_base);
  OpenLib(L, LUA_TABLIBNAME, luaopen_table);
  OpenLib(L, LUA_STRLIBNAME, luaopen_string);
  OpenLib(L, LUA_MATHLIBNAME, luaopen_math);
  lua_pushcfunction(L, luaopen_cjson);
  lua_call(L, 0, 1);
  lua_setglobal(L, "cjson");
  lua_pushcfunction(L, OpenStruct);
  lua_call(L, 0, 1);
  lua_setglobal(L, "struct");
  lua_pushcfunction(L, OpenCmsgpack);
  lua_call(L, 0, 1);
  lua_setglobal(L, "cmsgpack");
  OpenLib(L, "bit", luaopen_bit);
  lua_getglobal(L, "tostring");  // the error handler's, whatever scripts do
  lua_setfield(L, LUA_REGISTRYINDEX, "redge.tostring");

  // What Redis (with Debian's security updates) leaves out of the base library.
  for (const char* name : {"print", "dofile", "loadfile", "getfenv", "setfenv", "newproxy"}) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  const int g = lua_gettop(L);
  SetFunction(L, g, "rawset", RawSet);
  SetFunction(L, g, "rawget", RawGet);
  SetFunction(L, g, "getmetatable", GetMetatable);
  SetFunction(L, g, "setmetatable", SetMetatable);
  SetFunction(L, g, "unpack", Unpack);
  SetFunction(L, g, "loadstring", LoadString);
  SetFunction(L, g, "load", Load);
  lua_pushcfunction(L, Next);
  lua_pushvalue(L, -1);
  lua_setfield(L, g, "next");
  lua_pushcclosure(L, Pairs, 1);
  lua_setfield(L, g, "pairs");
  lua_pushcfunction(L, IpairsStep);
  lua_pushcclosure(L, Ipairs, 1);
  lua_setfield(L, g, "ipairs");

  lua_getfield(L, g, "table");
  Wrap(L, -1, "insert", TableInsert);
  Wrap(L, -1, "foreach", CallResolved);
  Wrap(L, -1, "foreachi", CallResolved);
  lua_pop(L, 1);
  lua_getfield(L, g, "string");
  Wrap(L, -1, "find", CheckedPatternCall, 1);
  Wrap(L, -1, "match", CheckedPatternCall, 0);
  Wrap(L, -1, "gmatch", CheckedPatternCall, 0);
  Wrap(L, -1, "gfind", CheckedPatternCall, 0);
  Wrap(L, -1, "gsub", CheckedPatternCall, 0);
  lua_pop(L, 1);
  lua_getfield(L, g, "bit");
  Wrap(L, -1, "tohex", BitToHex);
  lua_pop(L, 1);
  lua_pop(L, 1);  // globals
  return L;
}

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
