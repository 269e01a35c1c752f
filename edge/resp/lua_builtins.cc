// The base library as Redis's sandbox leaves it, on Debian's stock Lua 5.1: NewState
// loads the libraries, drops what Redis drops, and replaces the functions that bypass
// metatables or need hardening (see lua_sandbox.h) by the versions below.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "edge/resp/lua_libs.h"
#include "edge/resp/lua_sandbox.h"

extern "C" {
int luaopen_cjson(lua_State* L);
int luaopen_bit(lua_State* L);
}

namespace redge::resp::lua {
namespace {

using namespace internal;  // NOLINT: the sandbox's own helpers

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
    lua_pushfstring(L, "%s:1: unexpected symbol near 'char(%d)'", id,
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

// Debian's lua-cjson 2.1.0 keeps its output in an int-sized buffer: an output past 2 GiB
// aborts the process (Redis's bundled copy was fixed for CVE-2022-24834). So before
// encoding, an upper bound of the output is computed (every string byte may become a
// 6-byte escape); a value whose bound passes 1 GiB is refused. The walk is iterative and
// stops, leaving the verdict to cjson, where cjson itself would stop (max depth, the Lua
// stack).
constexpr uint64_t kMaxJsonBound = uint64_t{1} << 30;

uint64_t ScalarBound(lua_State* L, int idx) {
  if (lua_type(L, idx) == LUA_TSTRING) return 6 * uint64_t{lua_objlen(L, idx)} + 2;
  return 32;
}

int CjsonEncode(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(2));  // cjson.encode_max_depth()
  lua_call(L, 0, 1);
  const int max_depth = static_cast<int>(lua_tointeger(L, -1));
  lua_pop(L, 1);
  if (lua_gettop(L) >= 1) {
    const int base = lua_gettop(L);
    lua_pushvalue(L, 1);
    uint64_t bound = 0;
    int depth = 0;  // tables being walked (each holds a table and a key on the stack)
    bool pending = true;
    while (bound <= kMaxJsonBound) {
      if (pending) {
        pending = false;
        if (lua_istable(L, -1)) {
          if (depth >= max_depth || !lua_checkstack(L, 3)) break;  // cjson refuses it
          ResolveArg(L, lua_gettop(L));
          bound += 2;
          depth++;
          lua_pushnil(L);
        } else {
          bound += ScalarBound(L, -1);
          lua_pop(L, 1);
        }
      }
      if (depth == 0) break;
      if (lua_next(L, -2)) {  // [table, key, value]
        bound += ScalarBound(L, -2) + 2;
        pending = true;
      } else {
        lua_pop(L, 1);  // the table
        depth--;
      }
    }
    lua_settop(L, base);
    if (bound > kMaxJsonBound) return luaL_error(L, "Cannot serialise: output too large");
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

}  // namespace

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
  lua_getfield(L, g, "cjson");
  lua_getfield(L, -1, "encode");
  lua_getfield(L, -2, "encode_max_depth");
  lua_pushcclosure(L, CjsonEncode, 2);
  lua_setfield(L, -2, "encode");
  lua_pop(L, 1);
  lua_pop(L, 1);  // globals
  return L;
}

}  // namespace redge::resp::lua
