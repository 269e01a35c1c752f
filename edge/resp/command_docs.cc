// Argument documentation for COMMAND DOCS, which redis-cli 7 turns into its inline hints
// ("SET key value [NX|XX] ..."). Each command's syntax is written once, in the compact form of
// Redis's manual, and parsed into Redis's argument tree on demand:
//   lower-case word        an argument of type string (or key, when named "key")
//   UPPER word             a pure token; UPPER followed by a lower word is a token with a value
//   [ ... ]                optional;  a|b  alternatives (oneof);  "..." after an item: multiple
#include "edge/resp/command_docs.h"

#include <cctype>
#include <map>
#include <string>
#include <vector>

namespace redge::resp {
namespace {

const std::map<std::string, std::string, std::less<>>& Syntax() {
  static const std::map<std::string, std::string, std::less<>> kSyntax = {
      // connection
      {"ping", "[message]"},
      {"echo", "message"},
      {"auth", "[username] password"},
      {"hello", "[protover [AUTH username password] [SETNAME clientname]]"},
      {"select", "index"},
      {"quit", ""},
      {"reset", ""},
      {"client", "subcommand [argument ...]"},
      // generic
      {"del", "key [key ...]"},
      {"unlink", "key [key ...]"},
      {"exists", "key [key ...]"},
      {"touch", "key [key ...]"},
      {"expire", "key seconds [NX|XX|GT|LT]"},
      {"pexpire", "key milliseconds [NX|XX|GT|LT]"},
      {"expireat", "key unix-time-seconds [NX|XX|GT|LT]"},
      {"pexpireat", "key unix-time-milliseconds [NX|XX|GT|LT]"},
      {"ttl", "key"},
      {"pttl", "key"},
      {"expiretime", "key"},
      {"pexpiretime", "key"},
      {"persist", "key"},
      {"type", "key"},
      {"keys", "pattern"},
      {"scan", "cursor [MATCH pattern] [COUNT count] [TYPE type]"},
      {"randomkey", ""},
      {"rename", "key newkey"},
      {"renamenx", "key newkey"},
      // strings
      {"get", "key"},
      {"set",
       "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|"
       "PXAT unix-time-milliseconds|KEEPTTL]"},
      {"setex", "key seconds value"},
      {"psetex", "key milliseconds value"},
      {"setnx", "key value"},
      {"getset", "key value"},
      {"getdel", "key"},
      {"getex",
       "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|"
       "PERSIST]"},
      {"mget", "key [key ...]"},
      {"mset", "key value [key value ...]"},
      {"msetnx", "key value [key value ...]"},
      {"incr", "key"},
      {"incrby", "key increment"},
      {"decr", "key"},
      {"decrby", "key decrement"},
      {"incrbyfloat", "key increment"},
      {"append", "key value"},
      {"strlen", "key"},
      {"getrange", "key start end"},
      {"substr", "key start end"},
      {"setrange", "key offset value"},
      // lists
      {"lpush", "key element [element ...]"},
      {"rpush", "key element [element ...]"},
      {"lpushx", "key element [element ...]"},
      {"rpushx", "key element [element ...]"},
      {"lpop", "key [count]"},
      {"rpop", "key [count]"},
      {"llen", "key"},
      {"lrange", "key start stop"},
      {"lindex", "key index"},
      {"lset", "key index element"},
      {"lrem", "key count element"},
      {"ltrim", "key start stop"},
      {"linsert", "key BEFORE|AFTER pivot element"},
      {"lpos", "key element [RANK rank] [COUNT num-matches] [MAXLEN len]"},
      {"lmove", "source destination LEFT|RIGHT LEFT|RIGHT"},
      {"rpoplpush", "source destination"},
      {"lmpop", "numkeys key [key ...] LEFT|RIGHT [COUNT count]"},
      {"blpop", "key [key ...] timeout"},
      {"brpop", "key [key ...] timeout"},
      {"blmove", "source destination LEFT|RIGHT LEFT|RIGHT timeout"},
      {"brpoplpush", "source destination timeout"},
      {"blmpop", "timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]"},
      // hashes
      {"hset", "key field value [field value ...]"},
      {"hsetnx", "key field value"},
      {"hmset", "key field value [field value ...]"},
      {"hget", "key field"},
      {"hmget", "key field [field ...]"},
      {"hdel", "key field [field ...]"},
      {"hlen", "key"},
      {"hstrlen", "key field"},
      {"hexists", "key field"},
      {"hkeys", "key"},
      {"hvals", "key"},
      {"hgetall", "key"},
      {"hincrby", "key field increment"},
      {"hincrbyfloat", "key field increment"},
      {"hrandfield", "key [count [WITHVALUES]]"},
      {"hscan", "key cursor [MATCH pattern] [COUNT count]"},
      // sets
      {"sadd", "key member [member ...]"},
      {"srem", "key member [member ...]"},
      {"sismember", "key member"},
      {"smismember", "key member [member ...]"},
      {"smembers", "key"},
      {"scard", "key"},
      {"spop", "key [count]"},
      {"srandmember", "key [count]"},
      {"smove", "source destination member"},
      {"sinter", "key [key ...]"},
      {"sintercard", "numkeys key [key ...] [LIMIT limit]"},
      {"sinterstore", "destination key [key ...]"},
      {"sunion", "key [key ...]"},
      {"sunionstore", "destination key [key ...]"},
      {"sdiff", "key [key ...]"},
      {"sdiffstore", "destination key [key ...]"},
      {"sscan", "key cursor [MATCH pattern] [COUNT count]"},
      // sorted sets
      {"zadd", "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]"},
      {"zincrby", "key increment member"},
      {"zcard", "key"},
      {"zcount", "key min max"},
      {"zlexcount", "key min max"},
      {"zscore", "key member"},
      {"zmscore", "key member [member ...]"},
      {"zrank", "key member"},
      {"zrevrank", "key member"},
      {"zrem", "key member [member ...]"},
      {"zremrangebyrank", "key start stop"},
      {"zremrangebyscore", "key min max"},
      {"zremrangebylex", "key min max"},
      {"zrange", "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]"},
      {"zrangestore", "dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]"},
      {"zrevrange", "key start stop [WITHSCORES]"},
      {"zrangebyscore", "key min max [WITHSCORES] [LIMIT offset count]"},
      {"zrevrangebyscore", "key max min [WITHSCORES] [LIMIT offset count]"},
      {"zrangebylex", "key min max [LIMIT offset count]"},
      {"zrevrangebylex", "key max min [LIMIT offset count]"},
      {"zpopmin", "key [count]"},
      {"zpopmax", "key [count]"},
      {"zmpop", "numkeys key [key ...] MIN|MAX [COUNT count]"},
      {"bzpopmin", "key [key ...] timeout"},
      {"bzpopmax", "key [key ...] timeout"},
      {"bzmpop", "timeout numkeys key [key ...] MIN|MAX [COUNT count]"},
      {"zrandmember", "key [count [WITHSCORES]]"},
      {"zscan", "key cursor [MATCH pattern] [COUNT count]"},
      {"zunion",
       "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] "
       "[WITHSCORES]"},
      {"zinter",
       "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] "
       "[WITHSCORES]"},
      {"zdiff", "numkeys key [key ...] [WITHSCORES]"},
      {"zintercard", "numkeys key [key ...] [LIMIT limit]"},
      {"zunionstore",
       "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] "
       "[AGGREGATE SUM|MIN|MAX]"},
      {"zinterstore",
       "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] "
       "[AGGREGATE SUM|MIN|MAX]"},
      {"zdiffstore", "destination numkeys key [key ...]"},
      // scripting
      {"eval", "script numkeys [key [key ...]] [arg [arg ...]]"},
      {"evalsha", "sha1 numkeys [key [key ...]] [arg [arg ...]]"},
      {"eval_ro", "script numkeys [key [key ...]] [arg [arg ...]]"},
      {"evalsha_ro", "sha1 numkeys [key [key ...]] [arg [arg ...]]"},
      {"fcall", "function numkeys [key [key ...]] [arg [arg ...]]"},
      {"fcall_ro", "function numkeys [key [key ...]] [arg [arg ...]]"},
      {"script", "subcommand [argument ...]"},
      {"function", "subcommand [argument ...]"},
      // pubsub
      {"subscribe", "channel [channel ...]"},
      {"psubscribe", "pattern [pattern ...]"},
      {"unsubscribe", "[channel [channel ...]]"},
      {"punsubscribe", "[pattern [pattern ...]]"},
      {"publish", "channel message"},
      {"pubsub", "subcommand [argument ...]"},
      // server
      {"info", "[section [section ...]]"},
      {"dbsize", ""},
      {"flushdb", "[ASYNC|SYNC]"},
      {"flushall", "[ASYNC|SYNC]"},
      {"time", ""},
      {"command", "[subcommand [argument ...]]"},
      {"config", "subcommand [argument ...]"},
      // transactions
      {"multi", ""},
      {"exec", ""},
      {"discard", ""},
      {"watch", "key [key ...]"},
      {"unwatch", ""},
      // streams
      {"xadd",
       "key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value "
       "[field value ...]"},
      {"xrange", "key start end [COUNT count]"},
      {"xrevrange", "key end start [COUNT count]"},
      {"xlen", "key"},
      {"xdel", "key id [id ...]"},
      {"xtrim", "key MAXLEN|MINID [=|~] threshold [LIMIT count]"},
      {"xsetid", "key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]"},
      {"xread", "[COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]"},
      {"xreadgroup",
       "GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] "
       "id [id ...]"},
      {"xgroup", "subcommand [argument ...]"},
      {"xack", "key group id [id ...]"},
      {"xpending", "key group [[IDLE min-idle-time] start end count [consumer]]"},
      {"xclaim",
       "key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds] "
       "[RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]"},
      {"xautoclaim", "key group consumer min-idle-time start [COUNT count] [JUSTID]"},
      {"xinfo", "subcommand [argument ...]"},
  };
  return kSyntax;
}

struct Arg {
  std::string name, type, token;
  bool optional = false, multiple = false;
  std::vector<Arg> children;  // for "block" and "oneof"
};

bool IsUpperWord(std::string_view w) {
  bool any = false;
  for (char c : w) {
    if (std::islower(static_cast<unsigned char>(c))) return false;
    if (std::isupper(static_cast<unsigned char>(c))) any = true;
  }
  return any;
}

// Splits `s` at `sep` where it is outside brackets.
std::vector<std::string_view> SplitTop(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '[') depth++;
    if (s[i] == ']') depth--;
    if (s[i] == sep && depth == 0) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

std::vector<Arg> ParseSequence(std::string_view s);

// One alternative or group body: a single argument when it is one item, else a block.
Arg ParseGroup(std::string_view body) {
  auto alternatives = SplitTop(body, '|');
  if (alternatives.size() > 1) {
    Arg oneof;
    oneof.type = "oneof";
    for (auto alt : alternatives) {
      Arg a = ParseGroup(alt);
      if (oneof.name.empty()) oneof.name = a.name;
      oneof.children.push_back(std::move(a));
    }
    return oneof;
  }
  std::vector<Arg> seq = ParseSequence(body);
  if (seq.size() == 1) return std::move(seq[0]);
  Arg block;
  block.type = "block";
  block.name = seq.empty() ? "arg" : seq[0].name;
  block.children = std::move(seq);
  return block;
}

std::vector<Arg> ParseSequence(std::string_view s) {
  std::vector<Arg> out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    if (s[i] == '[') {
      int depth = 0;
      size_t j = i;
      for (; j < s.size(); ++j) {
        if (s[j] == '[') depth++;
        if (s[j] == ']' && --depth == 0) break;
      }
      std::string_view body = s.substr(i + 1, j - i - 1);
      i = j + 1;
      // "[x ...]" directly after x marks x as multiple (Redis renders it back the same way).
      if (body.size() > 4 && body.substr(body.size() - 4) == " ..." && !out.empty() &&
          body.substr(0, body.size() - 4).find(' ') == std::string_view::npos &&
          out.back().name == body.substr(0, body.size() - 4)) {
        out.back().multiple = true;
        continue;
      }
      if (body.size() > 4 && body.substr(body.size() - 4) == " ...") {
        // "[key value [key value ...]]"-style repeats collapse to one multiple group.
        body = body.substr(0, body.size() - 4);
      }
      Arg a = ParseGroup(body);
      a.optional = true;
      out.push_back(std::move(a));
      continue;
    }
    size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    std::string_view word = s.substr(i, j - i);
    i = j;
    if (word.find('|') != std::string_view::npos) {
      out.push_back(ParseGroup(word));
      continue;
    }
    Arg a;
    if (IsUpperWord(word)) {
      a.token = std::string(word);
      a.name = ToLower(word);
      a.type = "pure-token";
      // A token followed by a lower-case word takes that word as its value.
      size_t k = i;
      while (k < s.size() && s[k] == ' ') ++k;
      size_t e = s.find(' ', k);
      if (e == std::string_view::npos) e = s.size();
      std::string_view next = s.substr(k, e - k);
      if (!next.empty() && next[0] != '[' && !IsUpperWord(next) &&
          next.find('|') == std::string_view::npos) {
        a.name = std::string(next);
        a.type = next == "key" ? "key" : "string";
        i = e;
      }
    } else {
      a.name = std::string(word);
      a.type = word == "key" ? "key" : "string";
    }
    out.push_back(std::move(a));
  }
  return out;
}

void WriteArg(ReplyWriter& w, const Arg& a) {
  int fields = 2 + (a.token.empty() ? 0 : 1) + ((a.optional || a.multiple) ? 1 : 0) +
               (a.children.empty() ? 0 : 1);
  w.MapHeader(fields);
  w.Bulk("name");
  w.Bulk(a.name);
  w.Bulk("type");
  w.Bulk(a.type);
  if (!a.token.empty()) {
    w.Bulk("token");
    w.Bulk(a.token);
  }
  if (a.optional || a.multiple) {
    w.Bulk("flags");
    w.SetHeader((a.optional ? 1 : 0) + (a.multiple ? 1 : 0));
    if (a.optional) w.Simple("optional");
    if (a.multiple) w.Simple("multiple");
  }
  if (!a.children.empty()) {
    w.Bulk("arguments");
    w.ArrayHeader(static_cast<int64_t>(a.children.size()));
    for (const auto& c : a.children) WriteArg(w, c);
  }
}

}  // namespace

bool HasArgumentDocs(std::string_view command) { return Syntax().find(command) != Syntax().end(); }

void WriteArgumentDocs(ReplyWriter& writer, std::string_view command) {
  auto it = Syntax().find(command);
  std::vector<Arg> args;
  if (it != Syntax().end()) args = ParseSequence(it->second);
  writer.ArrayHeader(static_cast<int64_t>(args.size()));
  for (const auto& a : args) WriteArg(writer, a);
}

}  // namespace redge::resp
