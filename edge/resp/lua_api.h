// The `redis` table scripts see (redis.call, redis.pcall, redis.log, ...), the pcall
// that unwraps error tables, and math.random / math.randomseed over the engine's PRNG,
// as Redis 7.0 registers them. Internal to the scripting engine.
//
// Thread-safety: as the lua_State.
#pragma once

#include <lua.hpp>

namespace redge::resp {
class ScriptEngine;
}

namespace redge::resp::lua {

// Registers the API in a new state whose globals are still open. `eval_mode`: EVAL's
// state, whose redis table also has breakpoint, debug and replicate_commands.
void RegisterRedisApi(lua_State* L, bool eval_mode);

// Pushes the table a library's code sees while FUNCTION LOAD runs it: only
// redis.register_function, redis.log, the LOG_* levels and REDIS_VERSION(_NUM); the
// redis table is strict (reading anything else is an error).
void PushLibraryApi(lua_State* L);

}  // namespace redge::resp::lua
