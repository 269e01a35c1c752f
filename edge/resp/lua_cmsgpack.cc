// cmsgpack for scripts: MessagePack as lua-cmsgpack 0.4.0 (the version Redis 7.0 ships)
// reads and writes it, so BullMQ-style scripts see the same bytes:
//  - numbers that are whole and fit in int64 are integers (smallest encoding), others
//    are floats (32-bit when that loses nothing, else 64-bit);
//  - a table whose keys are exactly 1..n is an array (read with metamethods), any other
//    table a map; tables nested deeper than 16 levels become nil (so cycles terminate);
//  - strings use fixstr/str8/str16/str32; nil, functions, userdata become nil;
//  - unpack accepts what pack writes plus the other integer/float forms, and refuses bin
//    and ext types ("Bad data format in input.").
// Unpacking is iterative: its depth is bounded by the Lua stack (LUAI_MAXCSTACK), never
// by the C stack.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "edge/resp/lua_libs.h"
#include "edge/resp/lua_sandbox.h"

namespace redge::resp::lua {
namespace {

constexpr int kMaxNesting = 16;

void PutBe(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void EncodeBytes(std::string* out, const char* s, size_t len) {
  if (len < 32) {
    out->push_back(static_cast<char>(0xa0 | len));
  } else if (len <= 0xff) {
    out->push_back(static_cast<char>(0xd9));
    PutBe(out, len, 1);
  } else if (len <= 0xffff) {
    out->push_back(static_cast<char>(0xda));
    PutBe(out, len, 2);
  } else {
    out->push_back(static_cast<char>(0xdb));
    PutBe(out, len, 4);
  }
  out->append(s, len);
}

void EncodeInt(std::string* out, int64_t n) {
  if (n >= 0) {
    if (n <= 127) {
      out->push_back(static_cast<char>(n));
    } else if (n <= 0xff) {
      out->push_back(static_cast<char>(0xcc));
      PutBe(out, n, 1);
    } else if (n <= 0xffff) {
      out->push_back(static_cast<char>(0xcd));
      PutBe(out, n, 2);
    } else if (n <= 0xffffffffLL) {
      out->push_back(static_cast<char>(0xce));
      PutBe(out, n, 4);
    } else {
      out->push_back(static_cast<char>(0xcf));
      PutBe(out, n, 8);
    }
    return;
  }
  const uint64_t u = static_cast<uint64_t>(n);
  if (n >= -32) {
    out->push_back(static_cast<char>(static_cast<signed char>(n)));
  } else if (n >= -128) {
    out->push_back(static_cast<char>(0xd0));
    PutBe(out, u, 1);
  } else if (n >= -32768) {
    out->push_back(static_cast<char>(0xd1));
    PutBe(out, u, 2);
  } else if (n >= -2147483648LL) {
    out->push_back(static_cast<char>(0xd2));
    PutBe(out, u, 4);
  } else {
    out->push_back(static_cast<char>(0xd3));
    PutBe(out, u, 8);
  }
}

void EncodeDouble(std::string* out, double d) {
  const float f = static_cast<float>(d);
  if (d == static_cast<double>(f)) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    out->push_back(static_cast<char>(0xca));
    PutBe(out, bits, 4);
  } else {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    out->push_back(static_cast<char>(0xcb));
    PutBe(out, bits, 8);
  }
}

void EncodeContainerHeader(std::string* out, uint64_t n, bool map) {
  if (n <= 15) {
    out->push_back(static_cast<char>((map ? 0x80 : 0x90) | n));
  } else if (n <= 65535) {
    out->push_back(static_cast<char>(map ? 0xde : 0xdc));
    PutBe(out, n, 2);
  } else {
    out->push_back(static_cast<char>(map ? 0xdf : 0xdd));
    PutBe(out, n, 4);
  }
}

// (int64_t)x == x without the undefined behaviour of an out-of-range cast.
bool IsInt64(double x) {
  return x >= -9223372036854775808.0 && x < 9223372036854775808.0 &&
         static_cast<double>(static_cast<int64_t>(x)) == x;
}

bool IsInt(double x) {
  return x >= -2147483648.0 && x <= 2147483647.0 && static_cast<double>(static_cast<int>(x)) == x;
}

// Keys exactly 1..n (the table is on the top of the stack).
bool IsArray(lua_State* L) {
  const int top = lua_gettop(L);
  int64_t count = 0, max = 0;
  luaL_checkstack(L, 2, "in function table_is_an_array");
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    double n;
    if (lua_type(L, -1) != LUA_TNUMBER || (n = lua_tonumber(L, -1)) <= 0 || !IsInt(n)) {
      lua_settop(L, top);
      return false;
    }
    max = std::max<int64_t>(max, static_cast<int64_t>(n));
    count++;
  }
  lua_settop(L, top);
  return max == count;
}

// Encodes the value on the top of the stack and pops it. Recursion is bounded by
// kMaxNesting.
void Encode(lua_State* L, std::string* out, int level) {
  int t = lua_type(L, -1);
  if (t == LUA_TTABLE && level == kMaxNesting) t = LUA_TNIL;
  switch (t) {
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L, -1, &len);
      EncodeBytes(out, s, len);
      break;
    }
    case LUA_TBOOLEAN:
      out->push_back(static_cast<char>(lua_toboolean(L, -1) ? 0xc3 : 0xc2));
      break;
    case LUA_TNUMBER: {
      const double n = lua_tonumber(L, -1);
      if (IsInt64(n)) {
        EncodeInt(out, static_cast<int64_t>(lua_tointeger(L, -1)));
      } else {
        EncodeDouble(out, n);
      }
      break;
    }
    case LUA_TTABLE:
      if (IsArray(L)) {
        const size_t len = lua_objlen(L, -1);
        EncodeContainerHeader(out, len, false);
        luaL_checkstack(L, 1, "in function mp_encode_lua_table_as_array");
        for (size_t j = 1; j <= len; ++j) {
          lua_pushnumber(L, static_cast<lua_Number>(j));
          lua_gettable(L, -2);
          Encode(L, out, level + 1);
        }
      } else {
        size_t len = 0;
        luaL_checkstack(L, 3, "in function mp_encode_lua_table_as_map");
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pop(L, 1);
          len++;
        }
        EncodeContainerHeader(out, len, true);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pushvalue(L, -2);
          Encode(L, out, level + 1);  // key
          Encode(L, out, level + 1);  // value
        }
      }
      break;
    default:
      out->push_back(static_cast<char>(0xc0));
      break;
  }
  lua_pop(L, 1);
}

int Pack(lua_State* L) {
  const int nargs = lua_gettop(L);
  if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
  if (!lua_checkstack(L, nargs))
    return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
  // The buffer is collected by Lua even if a metamethod raises half way.
  std::string* out = PushGcObject<std::string>(L);
  for (int i = 1; i <= nargs; ++i) {
    luaL_checkstack(L, 1, "in function mp_check");
    lua_pushvalue(L, i);
    Encode(L, out, 0);
  }
  lua_pushlstring(L, out->data(), out->size());
  return 1;
}

enum class DecodeError { kNone, kEof, kBadFormat };

struct Cursor {
  const unsigned char* p;
  size_t left;
};

uint64_t GetBe(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// A container being filled: its table is on the Lua stack (with, for arrays, the next
// index, and for maps a pending key, above it).
struct Open {
  bool map;
  uint64_t remaining;  // elements (arrays) or pairs (maps) still to read
  lua_Number index;    // arrays: index of the element being read
  bool have_key;       // maps: a key is on the stack, its value comes next
};

// Decodes one complete value at the cursor and leaves it on the stack. `open` is empty
// on entry and owned by a Lua userdata (see PushGcObject).
DecodeError DecodeOne(lua_State* L, Cursor* c, std::vector<Open>& open) {
  while (true) {
    if (c->left < 1) return DecodeError::kEof;
    luaL_checkstack(L, 1,
                    "too many return values at once; use unpack_one or unpack_limit instead.");
    const unsigned char b = c->p[0];
    auto need = [&](size_t n) { return c->left >= n; };
    auto consume = [&](size_t n) {
      c->p += n;
      c->left -= n;
    };
    auto push_string = [&](size_t hdr, size_t len) -> bool {
      if (!need(hdr) || c->left - hdr < len) return false;
      lua_pushlstring(L, reinterpret_cast<const char*>(c->p + hdr), len);
      consume(hdr + len);
      return true;
    };
    bool container = false;
    uint64_t count = 0;
    bool is_map = false;
    switch (b) {
      case 0xcc:
      case 0xcd:
      case 0xce: {
        const int n = b == 0xcc ? 1 : b == 0xcd ? 2 : 4;
        if (!need(1 + n)) return DecodeError::kEof;
        lua_pushinteger(L, static_cast<lua_Integer>(GetBe(c->p + 1, n)));
        consume(1 + n);
        break;
      }
      case 0xcf:
        if (!need(9)) return DecodeError::kEof;
        lua_pushinteger(L, static_cast<lua_Integer>(GetBe(c->p + 1, 8)));
        consume(9);
        break;
      case 0xd0:
        if (!need(2)) return DecodeError::kEof;
        lua_pushinteger(L, static_cast<signed char>(c->p[1]));
        consume(2);
        break;
      case 0xd1:
        if (!need(3)) return DecodeError::kEof;
        lua_pushinteger(L, static_cast<int16_t>(GetBe(c->p + 1, 2)));
        consume(3);
        break;
      case 0xd2:
        if (!need(5)) return DecodeError::kEof;
        lua_pushinteger(L, static_cast<int32_t>(GetBe(c->p + 1, 4)));
        consume(5);
        break;
      case 0xd3:
        if (!need(9)) return DecodeError::kEof;
        lua_pushnumber(L, static_cast<lua_Number>(static_cast<int64_t>(GetBe(c->p + 1, 8))));
        consume(9);
        break;
      case 0xc0:
        lua_pushnil(L);
        consume(1);
        break;
      case 0xc2:
      case 0xc3:
        lua_pushboolean(L, b == 0xc3);
        consume(1);
        break;
      case 0xca: {
        if (!need(5)) return DecodeError::kEof;
        const uint32_t bits = static_cast<uint32_t>(GetBe(c->p + 1, 4));
        float f;
        std::memcpy(&f, &bits, 4);
        lua_pushnumber(L, f);
        consume(5);
        break;
      }
      case 0xcb: {
        if (!need(9)) return DecodeError::kEof;
        const uint64_t bits = GetBe(c->p + 1, 8);
        double d;
        std::memcpy(&d, &bits, 8);
        lua_pushnumber(L, d);
        consume(9);
        break;
      }
      case 0xd9:
        if (!need(2) || !push_string(2, GetBe(c->p + 1, 1))) return DecodeError::kEof;
        break;
      case 0xda:
        if (!need(3) || !push_string(3, GetBe(c->p + 1, 2))) return DecodeError::kEof;
        break;
      case 0xdb:
        if (!need(5) || !push_string(5, GetBe(c->p + 1, 4))) return DecodeError::kEof;
        break;
      case 0xdc:
      case 0xde:
        if (!need(3)) return DecodeError::kEof;
        container = true, is_map = b == 0xde, count = GetBe(c->p + 1, 2);
        consume(3);
        break;
      case 0xdd:
      case 0xdf:
        if (!need(5)) return DecodeError::kEof;
        container = true, is_map = b == 0xdf, count = GetBe(c->p + 1, 4);
        consume(5);
        break;
      default:
        if ((b & 0x80) == 0) {
          lua_pushinteger(L, b);
          consume(1);
        } else if ((b & 0xe0) == 0xe0) {
          lua_pushinteger(L, static_cast<signed char>(b));
          consume(1);
        } else if ((b & 0xe0) == 0xa0) {
          if (!push_string(1, b & 0x1f)) return DecodeError::kEof;
        } else if ((b & 0xf0) == 0x90 || (b & 0xf0) == 0x80) {
          container = true, is_map = (b & 0xf0) == 0x80, count = b & 0xf;
          consume(1);
        } else {
          return DecodeError::kBadFormat;
        }
    }
    if (container) {
      lua_newtable(L);
      if (!is_map) luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
      open.push_back({is_map, count, 1, false});
    }
    // Attach finished values to their containers; stop at the first one that wants more.
    while (true) {
      if (open.empty()) return DecodeError::kNone;
      Open& o = open.back();
      const bool just_opened = container;
      container = false;
      if (!just_opened) {
        if (o.map) {
          if (!o.have_key) {
            o.have_key = true;  // that was a key: read its value
            break;
          }
          lua_settable(L, -3);
          o.have_key = false;
          o.remaining--;
        } else {
          lua_settable(L, -3);
          o.remaining--;
          o.index++;
        }
      }
      if (o.remaining > 0) {
        if (!o.map) lua_pushnumber(L, o.index);
        break;
      }
      open.pop_back();  // complete: it is now a value of its parent
    }
  }
}

int UnpackFull(lua_State* L, lua_Integer limit, lua_Integer offset) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  if (offset < 0 || limit < 0) {
    return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                      static_cast<int>(offset), static_cast<int>(len));
  }
  if (static_cast<size_t>(offset) > len) {
    return luaL_error(L, "Start offset %d greater than input length %d.", static_cast<int>(offset),
                      static_cast<int>(len));
  }
  const bool all = limit == 0 && offset == 0;
  if (all) limit = INT32_MAX;
  Cursor c{reinterpret_cast<const unsigned char*>(s) + offset, len - offset};
  lua_settop(L, 1);
  std::vector<Open>* open = PushGcObject<std::vector<Open>>(L);  // index 2 while decoding
  int count = 0;
  for (; c.left > 0 && count < limit; ++count) {
    open->clear();
    const DecodeError err = DecodeOne(L, &c, *open);
    if (err == DecodeError::kEof) return luaL_error(L, "Missing bytes in input.");
    if (err == DecodeError::kBadFormat) return luaL_error(L, "Bad data format in input.");
  }
  lua_remove(L, 2);  // the decoder's scratch: results start right after the input
  if (!all) {
    luaL_checkstack(L, 1, "in function mp_unpack_full");
    lua_pushinteger(L, c.left == 0 ? -1 : static_cast<lua_Integer>(len - c.left));
    lua_insert(L, 2);
    count += 1;
  }
  return count;
}

int Unpack(lua_State* L) { return UnpackFull(L, 0, 0); }

int UnpackOne(lua_State* L) {
  const lua_Integer offset = luaL_optinteger(L, 2, 0);
  lua_pop(L, lua_gettop(L) - 1);
  return UnpackFull(L, 1, offset);
}

int UnpackLimit(lua_State* L) {
  const lua_Integer limit = luaL_checkinteger(L, 2);
  const lua_Integer offset = luaL_optinteger(L, 3, 0);
  lua_pop(L, lua_gettop(L) - 1);
  return UnpackFull(L, limit, offset);
}

}  // namespace

int OpenCmsgpack(lua_State* L) {
  lua_newtable(L);
  const luaL_Reg functions[] = {
      {"pack", Pack}, {"unpack", Unpack}, {"unpack_one", UnpackOne}, {"unpack_limit", UnpackLimit}};
  for (const auto& f : functions) {
    lua_pushcfunction(L, f.func);
    lua_setfield(L, -2, f.name);
  }
  lua_pushliteral(L, "cmsgpack");
  lua_setfield(L, -2, "_NAME");
  lua_pushliteral(L, "lua-cmsgpack 0.4.0");
  lua_setfield(L, -2, "_VERSION");
  lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");
  lua_setfield(L, -2, "_COPYRIGHT");
  lua_pushliteral(L, "MessagePack C implementation for Lua");
  lua_setfield(L, -2, "_DESCRIPTION");
  return 1;
}

}  // namespace redge::resp::lua
