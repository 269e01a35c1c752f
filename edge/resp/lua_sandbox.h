// The Lua 5.1 sandbox Redis 7.0 gives scripts, built on Debian's stock liblua5.1.
//
// Redis patches its bundled Lua with read-only tables; Debian's Lua has none, so redge
// gets the same observable behaviour from proxies. Every table a script can reach from
// its globals (string, math, table, coroutine, cjson, bit, cmsgpack, struct, redis, the
// globals themselves) is an empty proxy whose metatable forwards reads to the real table
// and refuses writes with Redis's "Attempt to modify a readonly table". The base
// functions that bypass metatables (rawset, rawget, next, pairs, ipairs, setmetatable,
// getmetatable, table.insert, unpack, ...) are replaced by versions that see through
// proxies and refuse writes the way Redis's patched lua_rawset does. The strings'
// metatable is shown to scripts read-only too.
//
// Beyond Redis's own sandbox, the wrappers close holes of Debian's unpatched 5.1 builds:
// loadstring/load refuse precompiled chunks (Redis's Lua has no undump; bytecode can
// escape any sandbox), keep the chunk name anchored while parsing (CVE-2025-49844),
// unpack counts in 64 bits (CVE-2025-46817), bit.tohex clamps its width
// (CVE-2024-31449), string patterns are bounded so the recursive matcher cannot
// overflow the C stack, and no single allocation may exceed kMaxAllocation (Debian's
// lua-cjson 2.1.0 sizes its buffers with int: CVE-2022-24834).
//
// Thread-safety: a lua_State is not thread-safe; callers serialize all use of a state.
#pragma once

#include <cstddef>
#include <lua.hpp>
#include <new>
#include <string_view>
#include <typeinfo>

namespace redge::resp::lua {

// The largest single allocation a script may make (a string of this size, or a table
// of 20 million array slots). Above it Lua raises "not enough memory".
inline constexpr size_t kMaxAllocation = 320u << 20;

// Registry field holding the real globals table (the one scripts see through a proxy).
inline constexpr char kRealGlobals[] = "redge.globals";

// A new state with the libraries Redis loads (base, table, string, math, cjson, bit,
// cmsgpack, struct) and the sandbox's wrappers; the base functions Redis removes
// (print, dofile, loadfile, getfenv, setfenv, newproxy) are gone. The globals are still
// the plain writable table: the caller adds its API, then calls LockGlobals.
// Returns nullptr if Lua cannot allocate.
lua_State* NewState();

// Pushes a read-only proxy of the table at `idx` (the same proxy for the same table).
// `strict`: reading a missing key raises "Script attempted to access nonexistent global
// variable '<key>'" (the globals' rule; the real table gets that metatable).
void PushReadonly(lua_State* L, int idx, bool strict);
// Whether the value at `idx` is a read-only proxy.
bool IsReadonly(lua_State* L, int idx);
// Replaces, in the table at `idx`, every field holding a table by its read-only proxy
// (recursively, metatables included). For trusted tables built at setup.
void ProtectFields(lua_State* L, int idx);

// Makes the globals read-only and strict for scripts (Redis's EVAL state): the thread's
// globals become a proxy of the real table, which stays in the registry at
// kRealGlobals; `_G` names the proxy. Call once, after the API is registered.
void LockGlobals(lua_State* L);

// The same for a function-engine state (Redis's FUNCTION state). Expects the library API
// table (what a library's code sees while FUNCTION LOAD runs it) on the top of the stack
// and pops it. The thread's globals become an empty read-only table whose reads go to
// the real globals, or to the library API while SetLibraryLoading(L, true); both raise
// on a missing name. `_G` names a read-only view of the real globals.
void LockFunctionGlobals(lua_State* L);
void SetLibraryLoading(lua_State* L, bool loading);

// Pushes Redis's error table {err = "<CODE> <message>"} built from `error`: "-CODE msg"
// keeps its code, a bare message gets "ERR"; CR/LF at the ends are trimmed.
void PushError(lua_State* L, std::string_view error);
// The same for an error reply's line without its '-' ("CODE msg").
void PushErrorLine(lua_State* L, std::string_view line);

// The error handler scripts run under (Redis's __redis__err__handler): turns any error
// into a table {err = ..., source = ..., line = ...} naming the script line that failed
// (the caller of a C function when the error came from one).
int ErrorHandler(lua_State* L);

// Lua 5.1 (a C library) raises errors with longjmp, which skips C++ destructors. Code that
// calls anything able to raise (luaL_check*, pushing values, metamethods) keeps its C++
// objects outside the frames being unwound: in engine-owned state, or in a userdata made
// by PushGcObject, which the collector destroys whatever way the call ends.
template <typename T>
T* PushGcObject(lua_State* L) {
  void* mem = lua_newuserdata(L, sizeof(T));
  T* obj = new (mem) T();
  if (luaL_newmetatable(L, typeid(T).name())) {
    lua_pushcfunction(L, [](lua_State* S) -> int {
      static_cast<T*>(lua_touserdata(S, 1))->~T();
      return 0;
    });
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return obj;
}

// lua_tonumber's value as Redis's (long long) cast gives it on x86-64: NaN and values out
// of range become INT64_MIN.
long long NumberToLongLong(lua_Number n);

// Shared by lua_sandbox.cc and lua_builtins.cc only.
namespace internal {
inline constexpr char kProxyTarget[] = "redge.proxy_target";  // proxy -> real table
inline constexpr char kVisibleMeta[] = "redge.visible_meta";  // proxy -> getmetatable's view
inline constexpr char kStringMeta[] = "redge.string_meta";    // the strings' real metatable
inline constexpr char kStringMetaView[] = "redge.string_meta_view";
inline constexpr char kReadonlyError[] = "Attempt to modify a readonly table";
// Pushes registry[field], creating an empty table there the first time.
void PushRegistryTable(lua_State* L, const char* field);
// Pushes the real table behind the proxy at `idx` and returns true; false (nothing
// pushed) if it is not a proxy.
bool PushProxyTarget(lua_State* L, int idx);
// Replaces the value at `idx` by the real table behind it when it is a proxy.
void ResolveArg(lua_State* L, int idx);
// Raises Redis's read-only error the way its patched lua_rawset does (no position).
int RaiseReadonly(lua_State* L);
}  // namespace internal

}  // namespace redge::resp::lua
