// XREAD and XREADGROUP (t_stream.c's xreadCommand, blocked.c's
// serveClientsBlockedOnStreamKey), including BLOCK.
//
// Neither command runs as an ordinary store command: both may block. Each call becomes a
// StreamRead, whose first step is Redis's synchronous attempt (resolve "$" and ">",
// check types and groups, serve every stream that has something) inside one store
// operation. Without BLOCK, or inside MULTI/EXEC where nothing may block, that attempt
// is the whole command (nothing to serve: a nil array). With BLOCK, the attempt runs as
// the first serve of a store::BlockRequest, so "$" is resolved in the same atomic step
// that parks the reader: an XADD either comes before (and is served by the attempt) or
// after (and wakes the reader). Later serves run inside the write that signalled the key,
// FIFO per key; they follow Redis's rules for a woken stream reader:
//  - XREAD: served when the stream's last id passed the reader's id;
//  - XREADGROUP: served when the last id passed the group's last delivered id; a group
//    that disappeared gives "-NOGROUP the consumer group this client was blocked on no
//    longer exists", a key deleted or replaced "-UNBLOCKED the stream key no longer exists".
// Redis wakes stream readers only on XADD (and deletions); writes that only trim, delete
// entries or move ids do not. The store signals every stream metadata write, so a serve
// that finds the stream's origin and entries-added counter unchanged treats the signal as
// one Redis would not have sent.
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "edge/resp/args.h"
#include "edge/resp/command.h"
#include "edge/resp/connection.h"
#include "edge/resp/server.h"
#include "edge/resp/stream_util.h"
#include "store/store.h"
#include "store/stream_groups.h"
#include "store/streams.h"

namespace redge::resp {
namespace {

namespace ss = store::streams;
using ss::StreamId;

constexpr int64_t kBlockedDefaultCount = 1000;    // XREAD_BLOCKED_DEFAULT_COUNT
constexpr int64_t kForeverMs = int64_t{1} << 40;  // about 35 years

struct ReadArgs {
  bool group_mode = false;
  std::string group, consumer;
  bool noack = false;
  int64_t count = 0;
  int64_t timeout_ms = -1;  // -1: no BLOCK
  std::vector<std::string> keys, ids;
};

// The option loop of xreadCommand.
bool ParseRead(CommandContext& ctx, bool xreadgroup, ReadArgs* a) {
  a->group_mode = xreadgroup;
  bool has_streams = false, has_group = false;
  ArgReader args(ctx, 1);
  while (args.ok() && !args.done()) {
    const bool has_value = args.remaining() >= 2;
    if (has_value && args.Match("BLOCK")) {
      int64_t t = 0;
      if (!args.Int64InRange(INT64_MIN, INT64_MAX, "timeout is not an integer or out of range",
                             &t)) {
        break;
      }
      if (t < 0) return args.Fail("ERR timeout is negative");
      // Redis blocks until now + t; beyond a few decades that is forever (and would
      // overflow the loop's timer arithmetic).
      a->timeout_ms = t > kForeverMs ? 0 : t;
    } else if (has_value && args.Match("COUNT")) {
      if (args.Int64(&a->count) && a->count < 0) a->count = 0;
    } else if (has_value && args.Match("STREAMS")) {
      const size_t n = args.remaining();
      if (n % 2 != 0) {
        return args.Fail(
            "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be "
            "specified.");
      }
      const auto first = ctx.argv.begin() + static_cast<ptrdiff_t>(args.position());
      a->keys.assign(first, first + static_cast<ptrdiff_t>(n / 2));
      a->ids.assign(first + static_cast<ptrdiff_t>(n / 2), ctx.argv.end());
      has_streams = true;
      break;
    } else if (args.remaining() >= 3 && args.Match("GROUP")) {
      if (!xreadgroup) {
        return args.Fail(
            "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
      }
      args.Next(&a->group);
      args.Next(&a->consumer);
      has_group = true;
    } else if (args.Match("NOACK")) {
      if (!xreadgroup) {
        return args.Fail(
            "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
      }
      a->noack = true;
    } else {
      args.SyntaxError();
    }
  }
  if (!args.ok()) return false;
  if (!has_streams) return args.SyntaxError();
  if (xreadgroup && !has_group) return args.Fail("ERR Missing GROUP option for XREADGROUP");
  return true;
}

// One XREAD/XREADGROUP call: its synchronous attempt and, once blocked, its serves.
// Runs only inside store operations (serialized), never concurrently with itself.
class StreamRead {
 public:
  StreamRead(ReadArgs args, int protocol) : a_(std::move(args)), proto_(protocol) {
    states_.resize(a_.keys.size());
    for (size_t i = 0; i < a_.keys.size(); ++i) first_index_.emplace(a_.keys[i], i);
  }

  bool blocking() const { return a_.timeout_ms >= 0; }
  int64_t timeout_ms() const { return a_.timeout_ms; }
  const std::vector<std::string>& keys() const { return a_.keys; }

  // Redis's synchronous attempt. Writes the reply (entries, or an error) and returns true,
  // or returns false having written nothing (nothing to serve).
  bool Sync(store::Txn& txn, ReplyWriter& w) {
    const size_t n = a_.keys.size();
    std::vector<std::optional<ss::StreamInfo>> infos(n);
    for (size_t i = 0; i < n; ++i) {
      const std::string& key = a_.keys[i];
      auto info = ss::Info(txn, key);
      if (info.ok()) {
        infos[i] = *info;
      } else if (!info.status().IsNotFound()) {
        w.Error(info.status().message());
        return true;
      }
      KeyState& ks = states_[i];
      if (a_.group_mode) {
        bool exists = false;
        if (infos[i]) {
          auto g = ss::GroupExists(txn, key, a_.group);
          if (!g.ok()) {
            w.Error(g.status().message());
            return true;
          }
          exists = *g;
        }
        if (!exists) {
          w.Error(ss::ReadGroupNoGroupError(key, a_.group).message());
          return true;
        }
      }
      const std::string& arg = a_.ids[i];
      if (arg == "$") {
        if (a_.group_mode) {
          w.Error(
              "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the "
              "history of this consumer by specifying a proper ID, or use the > ID to get new "
              "messages. The $ ID would just return an empty result set.");
          return true;
        }
        ks.gt = infos[i] ? infos[i]->last_id : StreamId{};
      } else if (arg == ">") {
        if (!a_.group_mode) {
          w.Error(
              "ERR The > ID can be specified only when calling XREADGROUP using the GROUP "
              "<group> <consumer> option.");
          return true;
        }
        ks.is_new = true;
      } else {
        auto id = ss::ParseId(arg, 0, /*strict=*/true);
        if (!id) {
          w.Error(ss::InvalidIdError().message());
          return true;
        }
        ks.gt = *id;
        // Redis marks ">" with the greatest id: an explicit greatest id reads as ">".
        if (a_.group_mode && *id == StreamId::Max()) ks.is_new = true;
      }
      ks.exists = infos[i].has_value();
      if (ks.exists) {
        ks.origin = infos[i]->origin;
        ks.entries_added = infos[i]->entries_added;
      }
    }
    std::string body;
    ReplyWriter bw(&body, proto_);
    int64_t served = 0;
    const uint64_t count = static_cast<uint64_t>(a_.count);
    for (size_t i = 0; i < n; ++i) {
      if (!infos[i]) continue;
      const std::string& key = a_.keys[i];
      const KeyState& ks = states_[i];
      std::vector<ss::Entry> entries;
      if (a_.group_mode && ks.is_new) {
        auto r = ss::ReadGroupNew(txn, key, a_.group, a_.consumer, count, a_.noack, false);
        if (!r.ok()) {
          w.Error(r.status().message());
          return true;
        }
        if (!*r) continue;
        entries = std::move(**r);
      } else if (a_.group_mode) {
        StreamId start = ks.gt;
        start.Incr();  // as Redis: the greatest id wraps to 0-0
        auto r = ss::ReadGroupHistory(txn, key, a_.group, a_.consumer, start, count);
        if (!r.ok()) {
          w.Error(r.status().message());
          return true;
        }
        entries = std::move(*r);
      } else {
        if (infos[i]->length == 0 || infos[i]->last_valid_id <= ks.gt) continue;
        StreamId start = ks.gt;
        start.Incr();
        auto r = ss::Range(txn, key, start, StreamId::Max(), count, false);
        if (!r.ok()) {
          w.Error(r.status().message());
          return true;
        }
        entries = std::move(*r);
      }
      served++;
      if (proto_ == 2) bw.ArrayHeader(2);
      bw.Bulk(key);
      streams::WriteEntries(bw, entries);
    }
    if (served == 0) return false;
    if (proto_ == 2) {
      w.ArrayHeader(served);
    } else {
      w.MapHeader(served);
    }
    w.Raw(body);
    return true;
  }

  // A blocked reader's serve for `key` (see the file comment).
  std::optional<store::Result<store::PopResult>> Serve(store::Txn& txn, const std::string& key) {
    auto it = first_index_.find(key);
    if (it == first_index_.end()) return std::nullopt;
    KeyState& ks = states_[it->second];
    auto info = ss::Info(txn, key);
    if (!info.ok()) {
      const store::Status& s = info.status();
      if (!s.IsNotFound() && s.code() != store::Status::Code::kWrongType) {
        return store::Result<store::PopResult>(s);
      }
      if (a_.group_mode) {
        return store::Result<store::PopResult>(
            store::Status::RedisError("UNBLOCKED the stream key no longer exists"));
      }
      ks.exists = false;
      return std::nullopt;
    }
    if (a_.group_mode) {
      auto g = ss::GroupExists(txn, key, a_.group);
      if (!g.ok()) return store::Result<store::PopResult>(g.status());
      if (!*g) {
        return store::Result<store::PopResult>(store::Status::RedisError(
            "NOGROUP the consumer group this client was blocked on no longer exists"));
      }
    }
    const bool signalled =
        !ks.exists || info->origin != ks.origin || info->entries_added != ks.entries_added;
    ks.exists = true;
    ks.origin = info->origin;
    ks.entries_added = info->entries_added;
    if (!signalled) return std::nullopt;
    const uint64_t count = static_cast<uint64_t>(a_.count ? a_.count : kBlockedDefaultCount);
    std::vector<ss::Entry> entries;
    if (a_.group_mode) {
      auto r = ss::ReadGroupNew(txn, key, a_.group, a_.consumer, count, a_.noack, true);
      if (!r.ok()) return store::Result<store::PopResult>(r.status());
      if (!*r) return std::nullopt;
      entries = std::move(**r);
    } else {
      if (info->last_id <= ks.gt) return std::nullopt;
      StreamId start = ks.gt;
      start.Incr();
      auto r = ss::Range(txn, key, start, StreamId::Max(), count, false);
      if (!r.ok()) return store::Result<store::PopResult>(r.status());
      entries = std::move(*r);
    }
    std::string out;
    ReplyWriter w(&out, proto_);
    if (proto_ == 2) {
      w.ArrayHeader(1);
      w.ArrayHeader(2);
    } else {
      w.MapHeader(1);
    }
    w.Bulk(key);
    streams::WriteEntries(w, entries);
    return store::Result<store::PopResult>(store::PopResult{key, {std::move(out)}});
  }

 private:
  struct KeyState {
    StreamId gt;          // XREAD: entries after this id
    bool is_new = false;  // XREADGROUP ">"
    // What the reader last saw of the stream: a serve that finds the same origin and
    // entries-added counter was not caused by an XADD.
    bool exists = false;
    uint64_t origin = 0;
    uint64_t entries_added = 0;
  };

  ReadArgs a_;
  int proto_;
  std::vector<KeyState> states_;
  std::unordered_map<std::string, size_t> first_index_;  // a key named twice: its first id
};

void WriteServed(ReplyWriter& w, const store::PopResult& r) {
  if (!r.values.empty()) w.Raw(r.values.front());
}

void ReadGeneric(CommandContext& ctx, bool xreadgroup) {
  ReadArgs args;
  if (!ParseRead(ctx, xreadgroup, &args)) return;
  const int proto = ctx.reply.protocol();
  auto read = std::make_shared<StreamRead>(std::move(args), proto);
  if (ctx.in_script && read->blocking()) {
    return ctx.reply.Error(std::string("ERR ") + (xreadgroup ? "xreadgroup" : "xread") +
                           " command is not allowed with BLOCK option from scripts");
  }
  if (ctx.txn != nullptr) {
    // Inside MULTI/EXEC (or a script's transaction): never blocks; nothing to serve is a
    // nil array, as Redis answers a client that may not block.
    if (!read->Sync(*ctx.txn, ctx.reply)) ctx.reply.NullArray();
    return;
  }
  if (!read->blocking()) {
    auto done = ctx.conn.Suspend();
    auto out = std::make_shared<std::string>();
    ctx.server.store().ExecAsync(
        ctx.conn.db(),
        [read, out, proto, client = ctx.conn.ClientLabel()](store::Txn& txn) {
          txn.set_client(client);
          ReplyWriter w(out.get(), proto);
          if (!read->Sync(txn, w)) w.NullArray();
        },
        [out, proto, done](store::Status s) {
          if (!s.ok()) {
            out->clear();
            ReplyWriter w(out.get(), proto);
            w.Error(s.message());
          }
          done(std::move(*out));
        });
    return;
  }
  store::BlockRequest request;
  request.db = ctx.conn.db();
  request.keys = read->keys();
  auto started = std::make_shared<bool>(false);
  request.serve = [read, started, proto](
                      store::Txn& txn,
                      const std::string& key) -> std::optional<store::Result<store::PopResult>> {
    if (!*started) {
      // The request's first serve: Redis's synchronous attempt, in the same step that
      // parks the reader.
      *started = true;
      std::string out;
      ReplyWriter w(&out, proto);
      if (!read->Sync(txn, w)) return std::nullopt;
      return store::Result<store::PopResult>(store::PopResult{key, {std::move(out)}});
    }
    return read->Serve(txn, key);
  };
  ctx.conn.Block(std::move(request), read->timeout_ms(), &WriteServed,
                 /*timeout_null_array=*/true);
}

void XRead(CommandContext& ctx) { ReadGeneric(ctx, false); }
void XReadGroup(CommandContext& ctx) { ReadGeneric(ctx, true); }

}  // namespace

void RegisterStreamReadCommands() {
  // No kTxn: these may block (see the file comment); inside EXEC they get a transaction.
  RegisterCommands({
      {"xread", -4, kReadOnly | kBlocking, 0, 0, 0, &XRead, "stream",
       "Return never seen elements in multiple streams, with IDs greater than the ones "
       "reported by the caller for each stream. Can block.",
       "5.0.0"},
      {"xreadgroup", -7, kWrite | kBlocking, 0, 0, 0, &XReadGroup, "stream",
       "Return new entries from a stream using a consumer group, or access the history of the "
       "pending entries for a given consumer. Can block.",
       "5.0.0"},
  });
}

}  // namespace redge::resp
