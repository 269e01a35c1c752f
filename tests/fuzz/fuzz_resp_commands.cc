// libFuzzer target: RESP command execution. A whole redge (store in a temporary
// directory, jobs layer and its legacy-worker bridge, RESP listener) runs in this process;
// each input is a sequence of commands sent by three clients over real sockets: any
// command of the table below with arguments drawn from pools of keys, numbers, option
// words, members, channels and raw bytes. So MULTI/EXEC/WATCH blocks, blocking pops
// (with short timeouts) woken by other clients, pub/sub, CLIENT and CONFIG, and the bridge
// keys of a real job (its queue, response key and progress channel) all interleave.
//
// Checked: redge never crashes (ASan/UBSan), every reply stream is well-formed RESP, and
// after each input a fresh connection gets PONG (or NOAUTH, if the input set a password)
// within 20 s (no deadlock, no stuck loop).
//
// To fuzz commands added later, add them to kCommands (with where their timeout is, for
// blocking ones) and, if they need special arguments, a pool below (kScripts holds the
// Lua bodies EVAL and FUNCTION LOAD get).
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "edge/jobs/job_service.h"
#include "edge/resp/server.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using redge::fuzz::Client;
using redge::fuzz::CountRespReplies;
using redge::fuzz::Server;
using std::chrono::milliseconds;

// Where a blocking command's timeout argument is: none, the last argument, or the first.
enum Timeout { kNone, kLastArg, kFirstArg };

struct Shape {
  const char* name;
  Timeout timeout = kNone;
};

const Shape kCommands[] = {
    // connection, server
    {"PING"},
    {"ECHO"},
    {"HELLO"},
    {"AUTH"},
    {"SELECT"},
    {"CLIENT"},
    {"QUIT"},
    {"RESET"},
    {"INFO"},
    {"DBSIZE"},
    {"FLUSHDB"},
    {"FLUSHALL"},
    {"COMMAND"},
    {"TIME"},
    {"CONFIG"},
    {"MONITOR"},
    {"ROLE"},
    {"READONLY"},
    {"READWRITE"},
    {"SLOWLOG"},
    {"MEMORY"},
    {"LATENCY"},
    {"LOLWUT"},
    {"SAVE"},
    {"BGSAVE"},
    {"BGREWRITEAOF"},
    {"LASTSAVE"},
    {"WAIT", kLastArg},
    // (not SHUTDOWN: it would stop the fuzzing process itself)
    // keys
    {"DEL"},
    {"UNLINK"},
    {"EXISTS"},
    {"EXPIRE"},
    {"PEXPIRE"},
    {"EXPIREAT"},
    {"PEXPIREAT"},
    {"EXPIRETIME"},
    {"PEXPIRETIME"},
    {"TTL"},
    {"PTTL"},
    {"PERSIST"},
    {"TYPE"},
    {"KEYS"},
    {"SCAN"},
    {"RENAME"},
    {"RENAMENX"},
    {"COPY"},
    {"MOVE"},
    {"SWAPDB"},
    {"TOUCH"},
    {"RANDOMKEY"},
    // strings
    {"GET"},
    {"SET"},
    {"SETEX"},
    {"PSETEX"},
    {"SETNX"},
    {"GETDEL"},
    {"GETEX"},
    {"GETSET"},
    {"MGET"},
    {"MSET"},
    {"MSETNX"},
    {"INCR"},
    {"INCRBY"},
    {"INCRBYFLOAT"},
    {"DECR"},
    {"DECRBY"},
    {"APPEND"},
    {"STRLEN"},
    {"GETRANGE"},
    {"SETRANGE"},
    {"SUBSTR"},
    // lists
    {"LPUSH"},
    {"RPUSH"},
    {"LPUSHX"},
    {"RPUSHX"},
    {"LPOP"},
    {"RPOP"},
    {"LLEN"},
    {"LRANGE"},
    {"LINDEX"},
    {"LSET"},
    {"LREM"},
    {"LTRIM"},
    {"LINSERT"},
    {"LPOS"},
    {"LMOVE"},
    {"RPOPLPUSH"},
    {"LMPOP"},
    {"BLPOP", kLastArg},
    {"BRPOP", kLastArg},
    {"BRPOPLPUSH", kLastArg},
    {"BLMOVE", kLastArg},
    {"BLMPOP", kFirstArg},
    // pub/sub
    {"SUBSCRIBE"},
    {"UNSUBSCRIBE"},
    {"PSUBSCRIBE"},
    {"PUNSUBSCRIBE"},
    {"PUBLISH"},
    {"PUBSUB"},
    // transactions
    {"MULTI"},
    {"EXEC"},
    {"DISCARD"},
    {"WATCH"},
    {"UNWATCH"},
    // hashes
    {"HSET"},
    {"HSETNX"},
    {"HGET"},
    {"HMGET"},
    {"HMSET"},
    {"HDEL"},
    {"HLEN"},
    {"HSTRLEN"},
    {"HEXISTS"},
    {"HKEYS"},
    {"HVALS"},
    {"HGETALL"},
    {"HINCRBY"},
    {"HINCRBYFLOAT"},
    {"HRANDFIELD"},
    {"HSCAN"},
    // sets
    {"SADD"},
    {"SREM"},
    {"SCARD"},
    {"SISMEMBER"},
    {"SMISMEMBER"},
    {"SMEMBERS"},
    {"SMOVE"},
    {"SPOP"},
    {"SRANDMEMBER"},
    {"SINTER"},
    {"SINTERCARD"},
    {"SINTERSTORE"},
    {"SUNION"},
    {"SUNIONSTORE"},
    {"SDIFF"},
    {"SDIFFSTORE"},
    {"SSCAN"},
    // sorted sets
    {"ZADD"},
    {"ZINCRBY"},
    {"ZREM"},
    {"ZCARD"},
    {"ZCOUNT"},
    {"ZLEXCOUNT"},
    {"ZSCORE"},
    {"ZMSCORE"},
    {"ZRANK"},
    {"ZREVRANK"},
    {"ZRANGE"},
    {"ZRANGESTORE"},
    {"ZRANGEBYSCORE"},
    {"ZREVRANGEBYSCORE"},
    {"ZRANGEBYLEX"},
    {"ZREVRANGEBYLEX"},
    {"ZREVRANGE"},
    {"ZREMRANGEBYRANK"},
    {"ZREMRANGEBYSCORE"},
    {"ZREMRANGEBYLEX"},
    {"ZPOPMIN"},
    {"ZPOPMAX"},
    {"ZMPOP"},
    {"ZRANDMEMBER"},
    {"ZUNION"},
    {"ZINTER"},
    {"ZDIFF"},
    {"ZUNIONSTORE"},
    {"ZINTERSTORE"},
    {"ZDIFFSTORE"},
    {"ZINTERCARD"},
    {"ZSCAN"},
    {"BZPOPMIN", kLastArg},
    {"BZPOPMAX", kLastArg},
    {"BZMPOP", kFirstArg},
    // streams. XREAD/XREADGROUP: the argument after BLOCK is a short timeout (Command).
    {"XADD"},
    {"XLEN"},
    {"XRANGE"},
    {"XREVRANGE"},
    {"XDEL"},
    {"XTRIM"},
    {"XREAD"},
    {"XGROUP"},
    {"XREADGROUP"},
    {"XACK"},
    {"XPENDING"},
    {"XCLAIM"},
    {"XAUTOCLAIM"},
    {"XINFO"},
    {"XSETID"},
    // scripting: script bodies come from kScripts.
    {"EVAL"},
    {"EVALSHA"},
    {"EVAL_RO"},
    {"EVALSHA_RO"},
    {"SCRIPT"},
    {"FUNCTION"},
    {"FCALL"},
    {"FCALL_RO"},
    // and one redge has never heard of
    {"NOSUCHCOMMAND"},
};

const char* const kKeys[] = {"k", "k2", "h", "s", "z", "l", "{t}a", "{t}b", "", "redge:queue:fq"};
const char* const kNumbers[] = {"0",
                                "1",
                                "-1",
                                "2",
                                "3",
                                "10",
                                "-5",
                                "100",
                                "1.5",
                                "-0.0",
                                "inf",
                                "-inf",
                                "+inf",
                                "nan",
                                "(1",
                                "(-inf",
                                "[a",
                                "(a",
                                "-",
                                "+",
                                "0x10",
                                " 1",
                                "1e3",
                                "4294967296",
                                "9223372036854775807",
                                "-9223372036854775808",
                                "18446744073709551616",
                                "1e400",
                                "00",
                                "1.7976931348623157e308"};
const char* const kWords[] = {"NX",
                              "XX",
                              "GT",
                              "LT",
                              "CH",
                              "INCR",
                              "EX",
                              "PX",
                              "EXAT",
                              "PXAT",
                              "KEEPTTL",
                              "GET",
                              "PERSIST",
                              "WITHSCORES",
                              "LIMIT",
                              "BYSCORE",
                              "BYLEX",
                              "REV",
                              "COUNT",
                              "MATCH",
                              "TYPE",
                              "LEFT",
                              "RIGHT",
                              "BEFORE",
                              "AFTER",
                              "RANK",
                              "MAXLEN",
                              "MIN",
                              "MAX",
                              "SUM",
                              "AGGREGATE",
                              "WEIGHTS",
                              "WITHVALUES",
                              "ID",
                              "LIST",
                              "KILL",
                              "SETNAME",
                              "GETNAME",
                              "INFO",
                              "REPLY",
                              "OFF",
                              "ON",
                              "SKIP",
                              "UNBLOCK",
                              "ERROR",
                              "TIMEOUT",
                              "SET",
                              "RESETSTAT",
                              "DOCS",
                              "CHANNELS",
                              "NUMSUB",
                              "NUMPAT",
                              "ASYNC",
                              "SYNC",
                              "REPLACE",
                              "DB",
                              "BLOCK",
                              "STREAMS",
                              "GROUP",
                              "MKSTREAM",
                              "*",
                              "$",
                              ">",
                              "LOAD",
                              "FLUSH",
                              "EXISTS",
                              "SETLIB",
                              "LIB-NAME",
                              "NO-EVICT",
                              "string",
                              "list",
                              "hash",
                              "zset",
                              "set",
                              "stream",
                              "USER",
                              "ADDR",
                              "LADDR",
                              "SKIPME",
                              "yes",
                              "no",
                              "GETKEYS",
                              "KEYSPACE",
                              "default",
                              "NOMKSTREAM",
                              "MINID",
                              "~",
                              "=",
                              "JUSTID",
                              "IDLE",
                              "RETRYCOUNT",
                              "FORCE",
                              "CONSUMERS",
                              "STREAM",
                              "GROUPS",
                              "CREATECONSUMER",
                              "DELCONSUMER",
                              "SETID",
                              "ENTRIESREAD",
                              "NOACK",
                              "FULL",
                              "DUMP",
                              "RESTORE",
                              "WITHCODE",
                              "LIBRARYNAME",
                              "0-0",
                              "0-1",
                              "1-0",
                              "9999999999999-0",
                              "DOCTOR",
                              "RESET",
                              "USAGE"};
const char* const kConfig[] = {"requirepass",
                               "notify-keyspace-events",
                               "KEA",
                               "Elx",
                               "",
                               "client-output-buffer-limit",
                               "pubsub 1024 512 1",
                               "normal 1mb 0 0",
                               "maxclients",
                               "maxmemory",
                               "*",
                               "timeout",
                               "lua-time-limit",
                               "proto-max-bulk-len",
                               "hz",
                               "save"};
const char* const kMembers[] = {"a", "b", "c", "", "m1", "\x00\xff", "1", "-1"};
const char* const kChannels[] = {"ch", "ch*", "redge:progress:*", "*",
                                 "[a", "c?",  "__keyspace@0__:k", "__keyevent@0__:set"};
// Lua bodies for EVAL and FUNCTION LOAD; each terminates.
const char* const kScripts[] = {
    "return 1",
    "return redis.call('get', KEYS[1])",
    "return redis.call('set', KEYS[1], ARGV[1])",
    "redis.call('lpush', KEYS[1], 'x'); return redis.call('lrange', KEYS[1], 0, -1)",
    "return redis.pcall('incr', KEYS[1])",
    "return {1, 2, {3, 'x'}, redis.status_reply('OK')}",
    "return redis.error_reply('ERR boom')",
    "return cjson.encode({a = 1})",
    "#!lua name=lib\nredis.register_function('f', function(keys, args) return 1 end)",
};
const char* const kBlockTimeouts[] = {"0.001", "0.01", "0.02", "0.05", "-1", "abc", "0", "nan"};
const char* const kBlockMs[] = {"1", "10", "20", "-1", "x", "0"};

template <size_t N>
std::string Pick(FuzzedDataProvider& in, const char* const (&pool)[N]) {
  return pool[in.ConsumeIntegralInRange<size_t>(0, N - 1)];
}

// The names of the job the input's bridge keys belong to.
struct JobKeys {
  std::string id;
};

std::string Arg(FuzzedDataProvider& in, const JobKeys& job) {
  switch (in.ConsumeIntegralInRange(0, 9)) {
    case 0:
    case 1:
      return Pick(in, kKeys);
    case 2:
      return Pick(in, kNumbers);
    case 3:
    case 4:
      return Pick(in, kWords);
    case 5:
      return Pick(in, kMembers);
    case 6:
      return Pick(in, kChannels);
    case 7:
      switch (in.ConsumeIntegralInRange(0, 5)) {
        case 0:
          return "redge:response:" + job.id;
        case 1:
          return "redge:progress:" + job.id;
        case 2:
          return "redge:job:" + job.id;
        case 3:
          return "redge:events:" + job.id;
        case 4:
          return R"({"complete": true, "content": "done", "isError": false})";
        default:
          return Pick(in, kConfig);
      }
    case 8:
      return Pick(in, kScripts);
    default:
      return in.ConsumeRandomLengthString(48);
  }
}

std::vector<std::string> Command(FuzzedDataProvider& in, const JobKeys& job) {
  const Shape& shape = kCommands[in.ConsumeIntegralInRange<size_t>(0, std::size(kCommands) - 1)];
  std::vector<std::string> argv{shape.name};
  const int n = in.ConsumeIntegralInRange(0, 7);
  for (int i = 0; i < n && in.remaining_bytes() > 0; ++i) {
    const bool block_arg = argv.back() == "BLOCK" || argv.back() == "block";
    argv.push_back(block_arg ? Pick(in, kBlockMs) : Arg(in, job));
  }
  // A blocking command waits a few milliseconds at most (or forever, rarely: "0"), so an
  // input costs milliseconds and blocked clients are woken, timed out and disconnected.
  if (shape.timeout == kLastArg && argv.size() >= 2) argv.back() = Pick(in, kBlockTimeouts);
  if (shape.timeout == kFirstArg && argv.size() >= 2) argv[1] = Pick(in, kBlockTimeouts);
  return argv;
}

std::string Encode(const std::vector<std::string>& argv, bool inline_form) {
  if (inline_form) {
    std::string line;
    for (const auto& a : argv) {
      if (!line.empty()) line += ' ';
      line += a;
    }
    return line + "\r\n";
  }
  return redge::fuzz::EncodeCommand(argv);
}

// REDGE_FUZZ_TRACE=1 prints each command of an input (to read a finding or a seed).
bool Trace() {
  static const bool on = std::getenv("REDGE_FUZZ_TRACE") != nullptr;
  return on;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_resp_commands: invariant broken: %s\n", what);
    std::abort();
  }
}

bool AllReplies(const std::string& bytes, size_t want) {
  bool malformed = false;
  size_t n = CountRespReplies(bytes, &malformed);
  Check(!malformed, "a reply stream that is not RESP");
  return n >= want;
}

// A control connection that puts the server back into its starting state before each
// input: the settings with effects restored, every database empty, one queued job.
class Control {
 public:
  explicit Control(Server& server) : server_(server) {}

  JobKeys Reset() {
    RestoreEntry();
    Run({"CONFIG", "SET", "requirepass", "", "notify-keyspace-events", ""});
    Run({"FLUSHALL"});
    Run({"SCRIPT", "FLUSH"});
    Run({"FUNCTION", "FLUSH"});
    redge::jobs::Job job;
    bool created = false;
    redge::jobs::JobService::EnqueueRequest r{"fq", nlohmann::json{{"n", 1}}, "", "", ""};
    Check(server_.jobs().Enqueue(r, &job, &created).ok(), "enqueue");
    return JobKeys{job.id};
  }

  // redge still answers a new connection at once, once the settings that shut new
  // connections out are restored: PONG (NOAUTH is accepted too, for a password set some
  // other way than requirepass).
  void CheckAlive() {
    RestoreEntry();
    Client c(server_.resp_port());
    if (!c.connected()) std::fprintf(stderr, "connect: %s\n", c.connect_error().c_str());
    Check(c.connected(), "cannot connect");
    c.Send("PING\r\n");
    auto kPong = [](const std::string& r) {
      return r.find("+PONG\r\n") == 0 || r.find("-NOAUTH Authentication required.\r\n") == 0;
    };
    bool answered = c.ReadUntil(kPong, redge::fuzz::kLiveness);
    // A paused host (a VM stopped for seconds: both fuzzers failed in the same second with
    // every redge thread idle) can pass the deadline while the answer is on its way: look
    // once more before calling it a stall.
    if (!answered) answered = c.ReadUntil(kPong, milliseconds(2000));
    if (!answered) redge::fuzz::DumpThreadStacks();  // what each loop and the writer do
    Check(answered, "no PONG (or NOAUTH) within 20 s after the input");
  }

 private:
  // Settings an input can use to shut every connection out, reset directly (not over a
  // connection, which they would refuse): requirepass (in case a client set one and
  // killed the control connection) and maxclients (CONFIG SET maxclients 1).
  void RestoreEntry() {
    server_.resp().set_requirepass("");
    Check(server_.resp().config().Set({{"maxclients", "10000"}}).empty(), "reset maxclients");
  }

  void Run(const std::vector<std::string>& argv) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!client_ || !client_->connected())
        client_ = std::make_unique<Client>(server_.resp_port());
      client_->ClearReceived();
      if (client_->Send(Encode(argv, false)) &&
          client_->ReadUntil([](const std::string& r) { return AllReplies(r, 1); },
                             redge::fuzz::kLiveness)) {
        return;
      }
      client_.reset();  // killed by CLIENT KILL: reconnect once
    }
    redge::fuzz::DumpThreadStacks();
    Check(false, "the control connection gets no reply");
  }

  Server& server_;
  std::unique_ptr<Client> client_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  redge::fuzz::ServerOptions options;
  options.http = false;
  static Server& server = Server::Get(options);
  static Control control(server);
  const JobKeys job = control.Reset();

  FuzzedDataProvider in(data, size);
  constexpr int kClients = 3;
  std::unique_ptr<Client> clients[kClients];
  size_t sent[kClients] = {0, 0, 0};
  for (int i = 0; i < 48 && in.remaining_bytes() > 0; ++i) {
    const int c = in.ConsumeIntegralInRange(0, kClients - 1);
    const bool inline_form = in.ConsumeIntegralInRange(0, 15) == 0;
    std::vector<std::string> argv = Command(in, job);
    if (Trace()) {
      std::fprintf(stderr, "client %d%s:", c, inline_form ? " (inline)" : "");
      for (const auto& a : argv) std::fprintf(stderr, " [%s]", a.c_str());
      std::fprintf(stderr, "\n");
    }
    if (!clients[c]) clients[c] = std::make_unique<Client>(server.resp_port());
    if (!clients[c]->Send(Encode(argv, inline_form))) continue;  // QUIT, CLIENT KILL...
    ++sent[c];
    // Wait briefly for the reply, so commands of different clients run in input order
    // (a blocked client simply does not answer yet).
    clients[c]->ReadUntil([&](const std::string& r) { return AllReplies(r, sent[c]); },
                          milliseconds(15));
  }
  for (int c = 0; c < kClients; ++c) {
    if (!clients[c]) continue;
    clients[c]->ReadUntil([&](const std::string& r) { return AllReplies(r, sent[c]); },
                          milliseconds(20));
    clients[c]->Close();
  }
  control.CheckAlive();
  return 0;
}
