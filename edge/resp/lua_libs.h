// Lua libraries redge writes itself for scripts, matching the ones Redis 7.0 bundles:
// cmsgpack (lua-cmsgpack 0.4.0's behaviour) and struct (Roberto Ierusalimschy's struct
// library as Redis ships it). cjson and bit come from Debian (lua-cjson, lua-bitop).
//
// Thread-safety: as any Lua C function, only on the thread that owns the state.
#pragma once

#include <lua.hpp>

namespace redge::resp::lua {

// Push the module table (the caller names it: cmsgpack / struct).
int OpenCmsgpack(lua_State* L);
int OpenStruct(lua_State* L);

}  // namespace redge::resp::lua
