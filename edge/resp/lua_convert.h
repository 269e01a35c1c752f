// Conversions between Lua values and RESP replies, with Redis 7.0's rules.
//
// Lua -> reply (a script's return value, luaReplyToRedisReply): strings are bulk
// strings; numbers are integers (truncated toward zero; NaN and out-of-range values as
// x86-64's cast gives them); true is :1 (RESP3 #t once the script called setresp(3));
// false is a null (RESP3 #f after setresp(3)); a table with a string field `err` is an
// error, `ok` a status, a number `double` a double, a string `big_number` a big number,
// a table `verbatim_string` {format, string} a verbatim string, a table `map` a map, a
// table `set` a set (its keys), any other table an array of its items 1..n up to the
// first nil; anything else is a null. Fields are read raw: no metamethod ever runs.
//
// reply -> Lua (what redis.call returns, redisProtocolToLuaType): integers are numbers,
// bulk strings strings, null bulk/array false, arrays tables, status {ok = s}, error
// {err = "<CODE> <msg>"}, and the RESP3 types map {map = t}, set {set = {k = true}},
// null nil, boolean, double {double = d}, big number {big_number = s}, verbatim
// {verbatim_string = {string = s, format = f}}; attributes are skipped.
//
// Both directions are iterative. Lua -> reply nests as deep as Redis's (it stops with
// "-ERR reached lua stack limit" where the Lua stack runs out, LUAI_MAXCSTACK slots);
// reply -> Lua refuses replies nested deeper than kMaxReplyDepth (commands never
// produce them). Neither recursion nor any C++ object is at risk from a Lua error.
//
// Thread-safety: as the lua_State they use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "edge/resp/lua_sandbox.h"

namespace redge::resp::lua {

inline constexpr int kMaxReplyDepth = 1000;

// State LuaToReply keeps between levels (reused across calls by the caller).
struct ReplyFrame {
  int kind;
  size_t header_pos;
  int64_t count;
  lua_Number next;
  bool value_next;
};

// Converts the value on the top of the stack, which it pops, and appends the reply to
// `out` for a client speaking `client_resp`; `script_resp` is the protocol the script
// chose with redis.setresp (booleans depend on it). If Lua fails (out of memory), what
// was appended is replaced by an error reply.
void LuaToReply(lua_State* L, std::string* out, int client_resp, int script_resp,
                std::vector<ReplyFrame>* scratch);

// State PushReply keeps between levels.
struct ParseFrame {
  char kind;
  int64_t remaining;
  lua_Number index;
  bool have_key;
};

// Pushes the Lua value of the one complete reply in `reply`. May raise a Lua error (out
// of memory). A malformed or too deeply nested reply pushes an error table.
void PushReply(lua_State* L, std::string_view reply, std::vector<ParseFrame>* scratch);

}  // namespace redge::resp::lua
