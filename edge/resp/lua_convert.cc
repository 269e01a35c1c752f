#include "edge/resp/lua_convert.h"

#include <cstdlib>
#include <cstring>

#include "base/numbers.h"
#include "edge/resp/protocol.h"

namespace redge::resp::lua {
namespace {

enum Kind { kArray, kMap, kSet };

// --- Lua -> reply ----------------------------------------------------------------------

struct ConvertJob {
  std::string* out;
  int client_resp;
  int script_resp;
  std::vector<ReplyFrame>* frames;
};

// A NUL-terminated copy's length, as Redis's sdsnew(lua_tostring(...)) sees the string.
size_t CStringLength(const char* s, size_t len) {
  const void* nul = std::memchr(s, '\0', len);
  return nul ? static_cast<size_t>(static_cast<const char*>(nul) - s) : len;
}

void MapCrLf(std::string* s, size_t from) {
  for (size_t i = from; i < s->size(); ++i) {
    if ((*s)[i] == '\r' || (*s)[i] == '\n') (*s)[i] = ' ';
  }
}

// Inserts the header of a finished aggregate where its elements start.
void InsertHeader(std::string* out, int client_resp, const ReplyFrame& f) {
  char prefix = '*';
  int64_t n = f.count;
  if (f.kind == kMap) {
    if (client_resp >= 3) {
      prefix = '%';
    } else {
      n *= 2;
    }
  } else if (f.kind == kSet && client_resp >= 3) {
    prefix = '~';
  }
  char buf[32];
  const int len = std::snprintf(buf, sizeof(buf), "%c%lld\r\n", prefix, static_cast<long long>(n));
  out->insert(f.header_pos, buf, static_cast<size_t>(len));
}

// Pushes t[name] (raw) and returns its type; the caller pops it.
int RawField(lua_State* L, const char* name) {
  lua_pushstring(L, name);
  lua_rawget(L, -2);
  return lua_type(L, -1);
}

// Converts one table that is not an aggregate; returns false (stack unchanged) if it is
// an aggregate (map, set or array). Pops the table when it returns true.
bool ConvertSpecialTable(lua_State* L, ReplyWriter& w, std::string* out) {
  if (RawField(L, "err") == LUA_TSTRING) {
    size_t len;
    const char* s = lua_tolstring(L, -1, &len);
    len = CStringLength(s, len);
    while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == '\n')) len--;
    std::string line = "-";  // Error() strips one leading '-'
    line.append(s, len);
    w.Error(line);
    lua_pop(L, 2);
    return true;
  }
  lua_pop(L, 1);
  if (RawField(L, "ok") == LUA_TSTRING) {
    size_t len;
    const char* s = lua_tolstring(L, -1, &len);
    const size_t start = out->size();
    out->push_back('+');
    out->append(s, CStringLength(s, len));
    MapCrLf(out, start);
    out->append("\r\n");
    lua_pop(L, 2);
    return true;
  }
  lua_pop(L, 1);
  if (RawField(L, "double") == LUA_TNUMBER) {
    w.Double(lua_tonumber(L, -1));
    lua_pop(L, 2);
    return true;
  }
  lua_pop(L, 1);
  if (RawField(L, "big_number") == LUA_TSTRING) {
    size_t len;
    const char* s = lua_tolstring(L, -1, &len);
    std::string num(s, len);
    MapCrLf(&num, 0);
    if (w.protocol() >= 3) {
      out->push_back('(');
      out->append(num);
      out->append("\r\n");
    } else {
      w.Bulk(num);
    }
    lua_pop(L, 2);
    return true;
  }
  lua_pop(L, 1);
  if (RawField(L, "verbatim_string") == LUA_TTABLE) {
    if (RawField(L, "format") == LUA_TSTRING) {
      size_t flen;
      const char* format = lua_tolstring(L, -1, &flen);
      lua_pushstring(L, "string");
      lua_rawget(L, -3);
      if (lua_type(L, -1) == LUA_TSTRING) {
        size_t len;
        const char* s = lua_tolstring(L, -1, &len);
        w.Verbatim(std::string_view(format, CStringLength(format, flen)), std::string_view(s, len));
        lua_pop(L, 4);
        return true;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return false;
}

int Convert(lua_State* L) {
  auto* job = static_cast<ConvertJob*>(lua_touserdata(L, 1));
  std::string* out = job->out;
  std::vector<ReplyFrame>& frames = *job->frames;
  ReplyWriter w(out, job->client_resp);
  frames.clear();
  bool pending = true;  // a value on the top of the stack waits to be converted
  while (true) {
    if (pending) {
      pending = false;
      if (!lua_checkstack(L, 4)) {
        // The same place Redis stops: it checks for 4 free slots at every level.
        w.Error("ERR reached lua stack limit");
        lua_pop(L, 1);
      } else {
        switch (lua_type(L, -1)) {
          case LUA_TSTRING: {
            size_t len;
            const char* s = lua_tolstring(L, -1, &len);
            w.Bulk(std::string_view(s, len));
            lua_pop(L, 1);
            break;
          }
          case LUA_TBOOLEAN:
            if (job->script_resp == 2) {
              if (lua_toboolean(L, -1)) {
                w.Integer(1);
              } else {
                w.Null();
              }
            } else {
              w.Boolean(lua_toboolean(L, -1));
            }
            lua_pop(L, 1);
            break;
          case LUA_TNUMBER:
            w.Integer(NumberToLongLong(lua_tonumber(L, -1)));
            lua_pop(L, 1);
            break;
          case LUA_TTABLE:
            if (ConvertSpecialTable(L, w, out)) break;
            if (RawField(L, "map") == LUA_TTABLE) {
              frames.push_back({kMap, out->size(), 0, 0, false});
              lua_pushnil(L);
              break;
            }
            lua_pop(L, 1);
            if (RawField(L, "set") == LUA_TTABLE) {
              frames.push_back({kSet, out->size(), 0, 0, false});
              lua_pushnil(L);
              break;
            }
            lua_pop(L, 1);
            frames.push_back({kArray, out->size(), 0, 1, false});
            break;
          default:
            w.Null();
            lua_pop(L, 1);
        }
      }
    }
    if (frames.empty()) break;
    ReplyFrame& f = frames.back();
    switch (f.kind) {
      case kArray:
        lua_pushnumber(L, f.next++);
        lua_rawget(L, -2);
        if (lua_isnil(L, -1)) {
          lua_pop(L, 2);  // the nil and the array
          InsertHeader(out, job->client_resp, f);
          frames.pop_back();
        } else {
          f.count++;
          pending = true;
        }
        break;
      case kMap:
        if (f.value_next) {  // the key is converted: now its value (on the top)
          f.value_next = false;
          f.count++;
          pending = true;
        } else if (lua_next(L, -2)) {
          lua_pushvalue(L, -2);  // convert a copy of the key, keep it for lua_next
          f.value_next = true;
          pending = true;
        } else {
          lua_pop(L, 2);  // the inner table and the table holding it
          InsertHeader(out, job->client_resp, f);
          frames.pop_back();
        }
        break;
      case kSet:
        if (lua_next(L, -2)) {
          lua_pop(L, 1);
          lua_pushvalue(L, -1);
          f.count++;
          pending = true;
        } else {
          lua_pop(L, 2);
          InsertHeader(out, job->client_resp, f);
          frames.pop_back();
        }
        break;
    }
  }
  return 0;
}

// --- reply -> Lua ----------------------------------------------------------------------

// Reads the line starting at `pos` (after the type byte) up to CRLF.
bool ReadLine(std::string_view in, size_t* pos, std::string_view* line) {
  const size_t end = in.find("\r\n", *pos);
  if (end == std::string_view::npos) return false;
  *line = in.substr(*pos, end - *pos);
  *pos = end + 2;
  return true;
}

bool ParseLength(std::string_view s, int64_t* n) { return base::ParseInt64(s, n); }

void PushTableWithField(lua_State* L, const char* field) {
  lua_newtable(L);
  lua_pushstring(L, field);
}

}  // namespace

void LuaToReply(lua_State* L, std::string* out, int client_resp, int script_resp,
                std::vector<ReplyFrame>* scratch) {
  const size_t start = out->size();
  ConvertJob job{out, client_resp, script_resp, scratch};
  // Called as a function of two arguments, like Redis's conversion runs with two values
  // on the stack, so the stack limit is met at exactly the same depth.
  lua_pushcfunction(L, Convert);
  lua_pushlightuserdata(L, &job);
  lua_pushvalue(L, -3);
  if (lua_pcall(L, 2, 0, 0) != 0) {
    const char* msg = lua_tostring(L, -1);
    out->resize(start);
    ReplyWriter w(out, client_resp);
    w.Error(std::string("ERR ") + (msg ? msg : "error converting the script's reply"));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

void PushReply(lua_State* L, std::string_view in, std::vector<ParseFrame>* scratch) {
  std::vector<ParseFrame>& frames = *scratch;
  frames.clear();
  const int base = lua_gettop(L);
  size_t pos = 0;
  auto fail = [&](const char* why) {
    lua_settop(L, base);
    PushError(L, why);
  };
  while (true) {
    if (pos >= in.size()) return fail("-ERR malformed reply from command");
    if (!lua_checkstack(L, 5) || static_cast<int>(frames.size()) > kMaxReplyDepth) {
      return fail("-ERR reply too deeply nested for Lua");
    }
    const char type = in[pos++];
    std::string_view line;
    if (!ReadLine(in, &pos, &line)) return fail("-ERR malformed reply from command");
    int64_t n = 0;
    bool opened = false;
    switch (type) {
      case '+':
        PushTableWithField(L, "ok");
        lua_pushlstring(L, line.data(), line.size());
        lua_settable(L, -3);
        break;
      case '-': {
        PushErrorLine(L, line);
        lua_pushstring(L, "ignore_error_stats_update");
        lua_pushboolean(L, 1);
        lua_settable(L, -3);
        break;
      }
      case ':': {
        if (!ParseLength(line, &n)) return fail("-ERR malformed reply from command");
        lua_pushnumber(L, static_cast<lua_Number>(n));
        break;
      }
      case '$':
      case '=': {
        if (!ParseLength(line, &n)) return fail("-ERR malformed reply from command");
        if (n < 0) {
          lua_pushboolean(L, 0);
          break;
        }
        if (in.size() - pos < static_cast<size_t>(n) + 2) {
          return fail("-ERR malformed reply from command");
        }
        std::string_view body = in.substr(pos, static_cast<size_t>(n));
        pos += static_cast<size_t>(n) + 2;
        if (type == '$') {
          lua_pushlstring(L, body.data(), body.size());
        } else {
          if (body.size() < 4) return fail("-ERR malformed reply from command");
          PushTableWithField(L, "verbatim_string");
          lua_newtable(L);
          lua_pushstring(L, "string");
          lua_pushlstring(L, body.data() + 4, body.size() - 4);
          lua_settable(L, -3);
          lua_pushstring(L, "format");
          lua_pushlstring(L, body.data(), 3);
          lua_settable(L, -3);
          lua_settable(L, -3);
        }
        break;
      }
      case '_':
        lua_pushnil(L);
        break;
      case '#':
        lua_pushboolean(L, line == "t");
        break;
      case ',': {
        char text[512];
        if (line.size() >= sizeof(text)) return fail("-ERR malformed reply from command");
        std::memcpy(text, line.data(), line.size());
        text[line.size()] = '\0';
        const double d = std::strtod(text, nullptr);
        PushTableWithField(L, "double");
        lua_pushnumber(L, d);
        lua_settable(L, -3);
        break;
      }
      case '(':
        PushTableWithField(L, "big_number");
        lua_pushlstring(L, line.data(), line.size());
        lua_settable(L, -3);
        break;
      case '*':
      case '>':
      case '%':
      case '~':
      case '|': {
        if (!ParseLength(line, &n)) return fail("-ERR malformed reply from command");
        if (n < 0) {
          lua_pushboolean(L, 0);  // null array
          break;
        }
        if (type == '*' || type == '>') {
          lua_newtable(L);
          frames.push_back({'*', n, 1, false});
        } else if (type == '%') {
          PushTableWithField(L, "map");
          lua_newtable(L);
          frames.push_back({'%', n, 0, false});
        } else if (type == '~') {
          PushTableWithField(L, "set");
          lua_newtable(L);
          frames.push_back({'~', n, 0, false});
        } else {
          frames.push_back({'|', n * 2, 0, false});  // attribute: parsed and dropped
        }
        opened = true;
        break;
      }
      default:
        return fail("-ERR malformed reply from command");
    }
    // Attach finished values to their aggregates until one wants another element.
    while (true) {
      if (frames.empty()) return;
      ParseFrame& f = frames.back();
      if (!opened) {
        switch (f.kind) {
          case '*':
            lua_settable(L, -3);
            f.remaining--;
            f.index++;
            break;
          case '%':
            if (!f.have_key) {
              f.have_key = true;
              goto next_value;
            }
            lua_settable(L, -3);
            f.have_key = false;
            f.remaining--;
            break;
          case '~':
            lua_pushboolean(L, 1);
            lua_settable(L, -3);
            f.remaining--;
            break;
          case '|':
            lua_pop(L, 1);
            f.remaining--;
            break;
        }
      }
      opened = false;
      if (f.remaining > 0) {
        if (f.kind == '*') lua_pushnumber(L, f.index);
        goto next_value;
      }
      if (f.kind == '%' || f.kind == '~') lua_settable(L, -3);  // {map = t} / {set = t}
      const bool attribute = f.kind == '|';
      frames.pop_back();
      if (attribute) goto next_value;  // the real reply follows its attribute
    }
  next_value:;
  }
}

}  // namespace redge::resp::lua
