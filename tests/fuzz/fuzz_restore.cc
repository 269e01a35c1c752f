// libFuzzer target: RESTORE of hostile payloads. DUMP payloads carry a CRC64, so random
// bytes never get past it and a fuzzer of RESTORE alone tests only the checksum. Here the
// input is the payload without its footer; the target appends the right RDB version and
// CRC, so every mutation reaches redge's payload parser, as a client that computes the
// checksum itself (it is public) would. A restored key then gets every read and write of
// every type (replies to the wrong type are WRONGTYPE), DUMP, COPY and RENAME, over a real
// socket of an in-process redge.
//
// Checked: redge never crashes (ASan/UBSan), every reply is well-formed RESP, and all
// replies, the last one a PONG, arrive within 20 s. Seeds (corpus/restore) are real
// DUMPs of each type, footer removed (tests/fuzz/make_restore_seeds.py).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edge/resp/connection.h"
#include "edge/resp/server.h"
#include "store/dump.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using redge::fuzz::Client;
using redge::fuzz::CountRespReplies;
using redge::fuzz::EncodeCommand;
using redge::fuzz::Server;
using std::chrono::milliseconds;

// Everything that reads or changes a restored key, whatever its type.
const std::vector<std::vector<std::string>> kProbes = {
    {"TYPE", "k"},
    {"OBJECT", "ENCODING", "k"},
    {"MEMORY", "USAGE", "k"},
    {"DUMP", "k"},
    {"GET", "k"},
    {"STRLEN", "k"},
    {"GETRANGE", "k", "0", "-1"},
    {"APPEND", "k", "x"},
    {"LLEN", "k"},
    {"LRANGE", "k", "0", "-1"},
    {"LINDEX", "k", "-1"},
    {"LPUSH", "k", "a"},
    {"RPOP", "k"},
    {"LPOS", "k", "a"},
    {"LREM", "k", "0", "a"},
    {"HLEN", "k"},
    {"HGETALL", "k"},
    {"HGET", "k", "f"},
    {"HSET", "k", "f", "v"},
    {"HDEL", "k", "f"},
    {"HSCAN", "k", "0"},
    {"HRANDFIELD", "k", "-3", "WITHVALUES"},
    {"SCARD", "k"},
    {"SMEMBERS", "k"},
    {"SISMEMBER", "k", "a"},
    {"SADD", "k", "a"},
    {"SPOP", "k"},
    {"SRANDMEMBER", "k", "-3"},
    {"SSCAN", "k", "0"},
    {"SINTER", "k", "k"},
    {"ZCARD", "k"},
    {"ZRANGE", "k", "0", "-1", "WITHSCORES"},
    {"ZRANK", "k", "a"},
    {"ZADD", "k", "1", "a"},
    {"ZSCORE", "k", "a"},
    {"ZCOUNT", "k", "-inf", "+inf"},
    {"ZRANGEBYLEX", "k", "-", "+"},
    {"ZREVRANGE", "k", "0", "2"},
    {"ZPOPMIN", "k"},
    {"ZSCAN", "k", "0"},
    {"ZRANDMEMBER", "k", "-3"},
    {"ZUNION", "1", "k"},
    {"XLEN", "k"},
    {"XRANGE", "k", "-", "+"},
    {"XREVRANGE", "k", "+", "-", "COUNT", "3"},
    {"XINFO", "STREAM", "k"},
    {"XINFO", "STREAM", "k", "FULL"},
    {"XINFO", "GROUPS", "k"},
    {"XINFO", "CONSUMERS", "k", "g"},
    {"XADD", "k", "*", "f", "v"},
    {"XREAD", "COUNT", "2", "STREAMS", "k", "0"},
    {"XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "k", ">"},
    {"XPENDING", "k", "g"},
    {"XPENDING", "k", "g", "-", "+", "5"},
    {"XAUTOCLAIM", "k", "g", "c2", "0", "0-0"},
    {"XCLAIM", "k", "g", "c3", "0", "0-1"},
    {"XACK", "k", "g", "0-1"},
    {"XTRIM", "k", "MAXLEN", "2"},
    {"XDEL", "k", "0-1"},
    {"XSETID", "k", "99999999-0"},
    {"XGROUP", "CREATE", "k", "g2", "0"},
    {"SORT", "k", "ALPHA", "LIMIT", "0", "5"},
    {"COPY", "k", "copy", "REPLACE"},
    {"RENAME", "copy", "renamed"},
    {"DUMP", "renamed"},
    {"EXPIRE", "k", "100"},
    {"DEL", "renamed"},
    {"DEL", "k"},
};

void Fail(const char* what, const std::string& detail) {
  fprintf(stderr, "fuzz_restore: %s\n%s\n", what, detail.substr(0, 2000).c_str());
  // What the server's clients were doing (CLIENT LIST lines), for a liveness failure.
  for (const auto& c : Server::Get().resp().Clients()) {
    fprintf(stderr, "client: %s\n", c->ClientInfoLine().c_str());
  }
  const std::string ss =
      "ss -tanpi 2>&1 | grep -A1 ':" + std::to_string(Server::Get().resp_port()) + "' >&2";
  (void)system(ss.c_str());
  abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Server& server = Server::Get({.resp = true, .http = false});
  std::string payload(reinterpret_cast<const char*>(data), size);
  // The footer DUMP writes: RDB version 10, then the CRC64 of everything before it.
  payload.push_back('\x0a');
  payload.push_back('\x00');
  const uint64_t crc = redge::store::dump::Crc64(0, payload);
  for (int i = 0; i < 8; ++i) payload.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));

  // One connection for the whole run: a new pair of connections per input (hundreds per
  // second) piles up TIME-WAIT sockets, and loopback port reuse then stalls a connect for
  // seconds, which reads as a hang of the server.
  static std::unique_ptr<Client> c;
  if (!c || !c->connected()) c = std::make_unique<Client>(server.resp_port());
  if (!c->connected()) Fail("cannot connect", c->connect_error());
  c->ClearReceived();
  std::string batch =
      EncodeCommand({"SELECT", "0"}) + EncodeCommand({"RESTORE", "k", "0", payload, "REPLACE"});
  for (const auto& probe : kProbes) batch += EncodeCommand(probe);
  batch += EncodeCommand({"PING"});
  const size_t want = 3 + kProbes.size();
  if (!c->Send(batch)) Fail("the server closed the connection", "");
  bool malformed = false;
  const bool all = c->ReadUntil(
      [&](const std::string& got) {
        return CountRespReplies(got, &malformed) >= want || malformed;
      },
      redge::fuzz::kLiveness);
  if (malformed) Fail("malformed reply stream", c->received());
  if (!all) {
    redge::fuzz::DumpThreadStacks();
    Fail("replies missing after 20 s", c->received());
  }
  const std::string& got = c->received();
  if (got.size() < 7 || got.compare(got.size() - 7, 7, "+PONG\r\n") != 0) {
    Fail("the last reply is not PONG", got.substr(got.size() > 200 ? got.size() - 200 : 0));
  }
  return 0;
}
