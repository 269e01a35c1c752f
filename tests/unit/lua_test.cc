// Unit tests of the Lua layer of scripting: the sandbox (read-only tables, removed and
// wrapped functions), the Lua <-> RESP conversions (with their depth limits), cmsgpack,
// struct and SHA-1. The engine with commands is tested end to end in tests/compat.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/sha1.h"
#include "edge/resp/lua_convert.h"
#include "edge/resp/lua_sandbox.h"

namespace redge::resp::lua {
namespace {

class LuaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    L = NewState();
    ASSERT_NE(L, nullptr);
    LockGlobals(L);
  }
  void TearDown() override { lua_close(L); }

  // Runs `code` as a chunk under the scripts' error handler. "ok:<result>" (the first
  // result through tostring), or "err:<message>" (an error table's err field).
  std::string Run(const std::string& code) {
    lua_settop(L, 0);
    lua_pushcfunction(L, ErrorHandler);
    if (luaL_loadbuffer(L, code.data(), code.size(), "@test") != 0) {
      std::string msg = lua_tostring(L, -1);
      lua_settop(L, 0);
      return "compile:" + msg;
    }
    std::string out;
    if (lua_pcall(L, 0, 1, 1) != 0) {
      lua_getfield(L, -1, "err");
      out = std::string("err:") + (lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
    } else {
      lua_getglobal(L, "tostring");
      lua_pushvalue(L, -2);
      lua_call(L, 1, 1);
      out = std::string("ok:") + lua_tostring(L, -1);
    }
    lua_settop(L, 0);
    return out;
  }

  // Converts the value `code` returns into a reply.
  std::string Reply(const std::string& code, int client_resp = 2, int script_resp = 2) {
    lua_settop(L, 0);
    lua_pushcfunction(L, ErrorHandler);
    EXPECT_EQ(luaL_loadbuffer(L, code.data(), code.size(), "@test"), 0);
    EXPECT_EQ(lua_pcall(L, 0, 1, 1), 0);
    std::string out;
    LuaToReply(L, &out, client_resp, script_resp, &frames_);
    EXPECT_EQ(lua_gettop(L), 1);  // the value was consumed
    lua_settop(L, 0);
    return out;
  }

  lua_State* L = nullptr;
  std::vector<ReplyFrame> frames_;
  std::vector<ParseFrame> parse_frames_;
};

TEST(Sha1Test, KnownDigests) {
  EXPECT_EQ(base::Sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(base::Sha1Hex("Pizza & Mandolino"), "74822d82031af7493c20eefa13bd07ec4fada82f");
  EXPECT_EQ(base::Sha1Hex("return 1+1"), "a27e7e8a43702b7046d4f6a7ccf5b60cef6b9bd9");
  EXPECT_EQ(base::Sha1Hex(std::string(1000, 'a')), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
}

TEST_F(LuaTest, GlobalsAreReadOnlyAndStrict) {
  EXPECT_EQ(Run("return a"),
            "err:ERR test:1: Script attempted to access nonexistent global variable 'a'");
  EXPECT_EQ(Run("a = 10"), "err:ERR test:1: Attempt to modify a readonly table");
  EXPECT_EQ(Run("_G = {}"), "err:ERR test:1: Attempt to modify a readonly table");
  EXPECT_EQ(Run("string.upper = nil"), "err:ERR test:1: Attempt to modify a readonly table");
  EXPECT_EQ(Run("cjson.encode = function() end"),
            "err:ERR test:1: Attempt to modify a readonly table");
  EXPECT_EQ(Run("bit.band = nil"), "err:ERR test:1: Attempt to modify a readonly table");
  EXPECT_EQ(Run("cmsgpack.pack = nil"), "err:ERR test:1: Attempt to modify a readonly table");
  EXPECT_EQ(Run("local x = 1; return x + 1"), "ok:2");
}

TEST_F(LuaTest, RawAccessCannotBypassProtection) {
  // Raised from C, as Redis's patched lua_rawset does: no position in the message.
  EXPECT_EQ(Run("rawset(_G, 'x', 1)"), "err:ERR Attempt to modify a readonly table");
  EXPECT_EQ(Run("rawset(string, 'x', 1)"), "err:ERR Attempt to modify a readonly table");
  EXPECT_EQ(Run("table.insert(string, 1)"), "err:ERR Attempt to modify a readonly table");
  EXPECT_EQ(Run("setmetatable(_G, {})"), "err:ERR Attempt to modify a readonly table");
  EXPECT_EQ(Run("local g = getmetatable(_G); g.__index = {}"),
            "err:ERR test:1: Attempt to modify a readonly table");
  EXPECT_EQ(Run("getmetatable('').__index = {}"),
            "err:ERR test:1: Attempt to modify a readonly table");
  EXPECT_EQ(Run("getmetatable('').__index.upper = nil"),
            "err:ERR test:1: Attempt to modify a readonly table");
  // Reads see through the proxies.
  EXPECT_EQ(Run("return rawget(_G, 'string') == string"), "ok:true");
  EXPECT_EQ(Run("return rawget(string, 'upper') == string.upper"), "ok:true");
  EXPECT_EQ(Run("local n = 0 for k in pairs(string) do n = n + 1 end return n > 10"), "ok:true");
  EXPECT_EQ(Run("return next(math) ~= nil"), "ok:true");
  EXPECT_EQ(Run("return ('abc'):upper()"), "ok:ABC");
  EXPECT_EQ(Run("return getmetatable('').__index == string"), "ok:true");
  // A script's own tables are ordinary.
  EXPECT_EQ(Run("local t = {} rawset(t, 'a', 1) table.insert(t, 2) setmetatable(t, {}) "
                "return t.a + t[1]"),
            "ok:3");
}

TEST_F(LuaTest, RemovedFunctions) {
  for (const char* name : {"print", "dofile", "loadfile", "getfenv", "setfenv", "newproxy",
                           "require", "module", "os", "io", "debug", "package"}) {
    EXPECT_EQ(
        Run(std::string("return ") + name),
        std::string("err:ERR test:1: Script attempted to access nonexistent global variable '") +
            name + "'")
        << name;
  }
}

TEST_F(LuaTest, BytecodeIsRefused) {
  EXPECT_EQ(Run("return loadstring(string.dump(function() return 1 end)) == nil"), "ok:true");
  EXPECT_EQ(Run("local f, e = loadstring(string.dump(function() return 1 end)) return e"),
            "ok:[string \"\x1bLuaQ\"]:1: unexpected symbol near 'char(27)'");
  EXPECT_EQ(Run("local s = string.dump(function() return 1 end) local done = false "
                "return load(function() if done then return nil end done = true return s end) "
                "== nil"),
            "ok:true");
  EXPECT_EQ(Run("return loadstring('return 40 + 2')()"), "ok:42");
}

TEST_F(LuaTest, HardenedBuiltins) {
  EXPECT_EQ(Run("return unpack({}, 1, 1e8)"), "err:ERR test:1: too many results to unpack");
  EXPECT_EQ(Run("return unpack({1,2,3}, -2147483648, 2147483647)"),
            "err:ERR test:1: too many results to unpack");
  EXPECT_EQ(Run("return select('#', unpack({1, 2, 3}))"), "ok:3");
  EXPECT_EQ(Run("return bit.tohex(65, -2147483648)"), "ok:00000041");
  EXPECT_EQ(Run("return string.find('aaa', string.rep('a?', 20000))"),
            "err:ERR test:1: pattern too complex");
  EXPECT_EQ(Run("return string.find('aaa', string.rep('a?', 3000))"), "ok:1");
  EXPECT_EQ(Run("return string.find(string.rep('x', 20000), string.rep('x', 20000), 1, true)"),
            "ok:1");
}

TEST_F(LuaTest, CjsonOutputIsBounded) {
  // Debian's lua-cjson aborts past 2 GiB of output: values whose output could exceed
  // 1 GiB (6 bytes per string byte at worst) are refused before encoding.
  EXPECT_EQ(Run("local s = string.rep(string.rep('x', 1048576), 180) "
                "local ok, e = pcall(cjson.encode, {a = {s}}) return e"),
            "ok:Cannot serialise: output too large");
  EXPECT_EQ(Run("return cjson.encode({a = {1, 2, {b = 'x'}}})"), "ok:{\"a\":[1,2,{\"b\":\"x\"}]}");
  EXPECT_EQ(Run("local t = {} t[1] = t local ok, e = pcall(cjson.encode, t) return e"),
            "ok:Cannot serialise, excessive nesting (1001)");
}

TEST_F(LuaTest, NoAllocationAboveTheCap) {
  // What keeps Debian's lua-cjson (int-sized buffers, CVE-2022-24834) safe: no string can
  // grow big enough to overflow its size arithmetic.
  lua_pushcfunction(L, [](lua_State* S) -> int {
    lua_newuserdata(S, kMaxAllocation + 1);
    return 0;
  });
  EXPECT_EQ(lua_pcall(L, 0, 0, 0), LUA_ERRMEM);
  EXPECT_STREQ(lua_tostring(L, -1), "not enough memory");
  lua_settop(L, 0);
  lua_pushcfunction(L, [](lua_State* S) -> int {
    lua_newuserdata(S, 1 << 20);
    return 0;
  });
  EXPECT_EQ(lua_pcall(L, 0, 0, 0), 0);
}

TEST_F(LuaTest, DeepStructuresFailCleanly) {
  // cjson and cmsgpack stop where the Lua stack ends, whatever depth limit a script sets.
  EXPECT_EQ(Run("cjson.decode_max_depth(1000000) local ok, e = pcall(cjson.decode, "
                "string.rep('[', 200000) .. string.rep(']', 200000)) return e"),
            "ok:Found too many nested data structures (7999) at character 7999");
  EXPECT_EQ(Run("cjson.encode_max_depth(1000000) local t = {} local c = t for i = 1, 100000 do "
                "c[1] = {} c = c[1] end local ok, e = pcall(cjson.encode, t) return ok"),
            "ok:false");
  EXPECT_EQ(Run("local ok, e = pcall(cmsgpack.unpack, string.rep('\\145', 200000) .. '\\1') "
                "return e"),
            "ok:stack overflow (too many return values at once; use unpack_one or unpack_limit "
            "instead.)");
  EXPECT_EQ(Run("local t = cmsgpack.unpack(string.rep('\\145', 1000) .. '\\7') "
                "for i = 1, 999 do t = t[1] end return t[1]"),
            "ok:7");
}

TEST_F(LuaTest, CmsgpackEncodings) {
  auto hex = [&](const std::string& expr) {
    return Run("local e = cmsgpack.pack(" + expr +
               ") local h = '' for i = 1, #e do h = h .. string.format('%02x', e:byte(i)) end "
               "return h");
  };
  EXPECT_EQ(hex("0.1"), "ok:cb3fb999999999999a");
  EXPECT_EQ(hex("-1099511627776"), "ok:d3ffffff0000000000");
  EXPECT_EQ(hex("1.5"), "ok:ca3fc00000");
  EXPECT_EQ(hex("127"), "ok:7f");
  EXPECT_EQ(hex("128"), "ok:cc80");
  EXPECT_EQ(hex("-32"), "ok:e0");
  EXPECT_EQ(hex("-33"), "ok:d0df");
  EXPECT_EQ(hex("65536"), "ok:ce00010000");
  EXPECT_EQ(hex("4294967296"), "ok:cf0000000100000000");
  EXPECT_EQ(hex("'abc'"), "ok:a3616263");
  EXPECT_EQ(hex("true, false, nil"), "ok:c3c2c0");
  EXPECT_EQ(hex("{1, 2}"), "ok:920102");
  EXPECT_EQ(hex("{a = 1}"), "ok:81a16101");
  EXPECT_EQ(hex("{}"), "ok:90");
  EXPECT_EQ(hex("string.rep('x', 40)").substr(0, 7), "ok:d928");
  // Tables nested deeper than 16 levels are cut (so cycles terminate).
  EXPECT_EQ(hex("(function() local t = {} t[1] = t return t end)()"),
            "ok:91919191919191919191919191919191c0");
}

TEST_F(LuaTest, CmsgpackRoundTrips) {
  EXPECT_EQ(Run("local t = cmsgpack.unpack(cmsgpack.pack({a = 1, b = {c = {1, 2, 'x'}}, d = "
                "1.25, e = -7, f = 2^40})) return t.a + t.b.c[2] + t.d + t.e + t.f == 1 + 2 + 1.25 "
                "- 7 + 2^40 and t.b.c[3] == 'x'"),
            "ok:true");
  EXPECT_EQ(Run("local a, b, c = cmsgpack.unpack(cmsgpack.pack(1, 'two', {3})) "
                "return a .. b .. c[1]"),
            "ok:1two3");
  EXPECT_EQ(Run("local o, v = cmsgpack.unpack_one(cmsgpack.pack(10, 20)) return o .. ',' .. v"),
            "ok:1,10");
  EXPECT_EQ(Run("local o, v = cmsgpack.unpack_one(cmsgpack.pack(10, 20), 1) return o .. ',' .. v"),
            "ok:-1,20");
  EXPECT_EQ(Run("local o, a, b = cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2) "
                "return o .. ',' .. a .. ',' .. b"),
            "ok:2,1,2");
  EXPECT_EQ(Run("local s = string.rep('y', 70000) return cmsgpack.unpack(cmsgpack.pack(s)) == s"),
            "ok:true");
  EXPECT_EQ(Run("local t = {} for i = 1, 70000 do t[i] = i end "
                "return #cmsgpack.unpack(cmsgpack.pack(t))"),
            "ok:70000");
  EXPECT_EQ(Run("return select(2, pcall(cmsgpack.unpack, '\\205\\1'))"),
            "ok:Missing bytes in input.");
  EXPECT_EQ(Run("return select(2, pcall(cmsgpack.unpack, '\\193'))"),
            "ok:Bad data format in input.");
  EXPECT_EQ(Run("return select(2, pcall(cmsgpack.pack))"),
            "ok:bad argument #0 to '?' (MessagePack pack needs input.)");
}

TEST_F(LuaTest, Struct) {
  EXPECT_EQ(Run("return struct.size('>ihd')"), "ok:14");
  EXPECT_EQ(Run("return struct.unpack('<i4', struct.pack('<i4', -5))"), "ok:-5");
  EXPECT_EQ(Run("local a, b = struct.unpack('>I2', struct.pack('>I2', 258)) return a .. ':' .. b"),
            "ok:258:3");
  EXPECT_EQ(Run("return struct.unpack('bc0', struct.pack('b', 3) .. 'abcd')"), "ok:abc");
  EXPECT_EQ(Run("return select(2, pcall(struct.unpack, 'i4', 'ab'))"),
            "ok:bad argument #2 to '?' (data string too short)");
  EXPECT_EQ(Run("return select(2, pcall(struct.pack, 'i33', 1))"),
            "ok:integral size 33 is larger than limit of 32");
}

TEST_F(LuaTest, ReplyConversionRules) {
  EXPECT_EQ(Reply("return 'hello'"), "$5\r\nhello\r\n");
  EXPECT_EQ(Reply("return 100.9"), ":100\r\n");
  EXPECT_EQ(Reply("return -100.9"), ":-100\r\n");
  EXPECT_EQ(Reply("return 0/0"), ":-9223372036854775808\r\n");
  EXPECT_EQ(Reply("return 1e300"), ":-9223372036854775808\r\n");
  EXPECT_EQ(Reply("return true"), ":1\r\n");
  EXPECT_EQ(Reply("return false"), "$-1\r\n");
  EXPECT_EQ(Reply("return false", 3), "_\r\n");
  EXPECT_EQ(Reply("return nil"), "$-1\r\n");
  EXPECT_EQ(Reply("return {ok = 'fine'}"), "+fine\r\n");
  EXPECT_EQ(Reply("return {ok = 'a\\r\\nb'}"), "+a  b\r\n");
  EXPECT_EQ(Reply("return {err = 'ERR bad'}"), "-ERR bad\r\n");
  EXPECT_EQ(Reply("return {err = 'bad'}"), "-bad\r\n");
  EXPECT_EQ(Reply("return {err = ''}"), "-\r\n");
  EXPECT_EQ(Reply("return {ok = 5}"), "*0\r\n");
  EXPECT_EQ(Reply("return {1, 2, nil, 4}"), "*2\r\n:1\r\n:2\r\n");
  EXPECT_EQ(Reply("return {1, {2, 'x'}}"), "*2\r\n:1\r\n*2\r\n:2\r\n$1\r\nx\r\n");
  EXPECT_EQ(Reply("return {double = 3.25}"), "$4\r\n3.25\r\n");
  EXPECT_EQ(Reply("return {double = 3.25}", 3), ",3.25\r\n");
  EXPECT_EQ(Reply("return {big_number = '123'}"), "$3\r\n123\r\n");
  EXPECT_EQ(Reply("return {big_number = '123'}", 3), "(123\r\n");
  EXPECT_EQ(Reply("return {map = {a = 1}}"), "*2\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(Reply("return {map = {a = 1}}", 3), "%1\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(Reply("return {set = {a = true}}", 3), "~1\r\n$1\r\na\r\n");
  EXPECT_EQ(Reply("return {verbatim_string = {format = 'txt', string = 'hey'}}", 3),
            "=7\r\ntxt:hey\r\n");
  // Booleans follow the script's protocol (redis.setresp), the rest the client's.
  EXPECT_EQ(Reply("return {true, false}", 2, 3), "*2\r\n:1\r\n:0\r\n");
  EXPECT_EQ(Reply("return {true, false}", 3, 3), "*2\r\n#t\r\n#f\r\n");
  // Metamethods never run: fields are read raw.
  EXPECT_EQ(Reply("return setmetatable({}, {__index = function() error('no') end})"), "*0\r\n");
  EXPECT_EQ(Reply("return _G"), "*0\r\n");
}

TEST_F(LuaTest, ReplyConversionStopsAtTheLuaStackLimit) {
  // A table containing itself: Redis writes 7995 levels of "*1" and then the error
  // (its stack holds the error handler and the value when it starts); so does redge.
  const std::string out = Reply("local a = {} local b = {a} a[1] = b return a");
  const std::string error = "-ERR reached lua stack limit\r\n";
  ASSERT_GE(out.size(), error.size());
  EXPECT_EQ(out.substr(out.size() - error.size()), error);
  EXPECT_EQ((out.size() - error.size()) / 4, 7995u);
  EXPECT_EQ(out.substr(0, 8), "*1\r\n*1\r\n");
}

TEST_F(LuaTest, RepliesBecomeLuaValues) {
  auto parse = [&](const std::string& reply, const std::string& check) {
    lua_settop(L, 0);
    PushReply(L, reply, &parse_frames_);
    EXPECT_EQ(lua_gettop(L), 1) << reply;
    // Runs `check` as a function of the value.
    std::string code = "local v = ... " + check;
    luaL_loadbuffer(L, code.data(), code.size(), "@check");
    lua_insert(L, 1);
    EXPECT_EQ(lua_pcall(L, 1, 1, 0), 0) << lua_tostring(L, -1);
    const bool ok = lua_toboolean(L, -1);
    lua_settop(L, 0);
    return ok;
  };
  EXPECT_TRUE(parse(":42\r\n", "return v == 42"));
  EXPECT_TRUE(parse("$3\r\nfoo\r\n", "return v == 'foo'"));
  EXPECT_TRUE(parse("$-1\r\n", "return v == false"));
  EXPECT_TRUE(parse("*-1\r\n", "return v == false"));
  EXPECT_TRUE(parse("_\r\n", "return v == nil"));
  EXPECT_TRUE(parse("+OK\r\n", "return v.ok == 'OK'"));
  EXPECT_TRUE(parse("-WRONGTYPE Operation\r\n",
                    "return v.err == 'WRONGTYPE Operation' and v.ignore_error_stats_update"));
  EXPECT_TRUE(parse("-NOCODE\r\n", "return v.err == 'ERR NOCODE'"));
  EXPECT_TRUE(parse("*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+x\r\n",
                    "return v[1] == 1 and v[2][1] == 'a' and v[2][2] == false and v[3].ok == 'x'"));
  EXPECT_TRUE(parse("%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*1\r\n:2\r\n",
                    "return v.map.a == 1 and v.map.b[1] == 2"));
  EXPECT_TRUE(parse("~2\r\n$1\r\na\r\n$1\r\nb\r\n", "return v.set.a == true and v.set.b == true"));
  EXPECT_TRUE(parse(",3.5\r\n", "return v.double == 3.5"));
  EXPECT_TRUE(parse("#t\r\n", "return v == true"));
  EXPECT_TRUE(parse("(12345678901234567890\r\n", "return v.big_number == '12345678901234567890'"));
  EXPECT_TRUE(parse("=7\r\ntxt:hey\r\n",
                    "return v.verbatim_string.string == 'hey' and v.verbatim_string.format == "
                    "'txt'"));
  EXPECT_TRUE(parse("|1\r\n+a\r\n+b\r\n:5\r\n", "return v == 5"));  // attribute skipped
  EXPECT_TRUE(parse("*0\r\n", "return next(v) == nil"));
  // Malformed or absurdly deep input becomes an error value, not a crash.
  EXPECT_TRUE(parse("*2\r\n:1\r\n", "return v.err ~= nil"));
  EXPECT_TRUE(parse("?x\r\n", "return v.err ~= nil"));
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  EXPECT_TRUE(parse(deep, "return v.err == 'ERR reply too deeply nested for Lua'"));
  std::string ok_deep;
  for (int i = 0; i < 500; ++i) ok_deep += "*1\r\n";
  ok_deep += ":7\r\n";
  EXPECT_TRUE(parse(ok_deep, "for i = 1, 500 do v = v[1] end return v == 7"));
}

}  // namespace
}  // namespace redge::resp::lua
