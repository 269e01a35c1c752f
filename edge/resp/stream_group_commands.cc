// Consumer-group commands of Redis 7.0: XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER,
// DELCONSUMER, HELP), XACK, XPENDING, XCLAIM and XAUTOCLAIM. store/stream_groups.h has
// the semantics; this file parses arguments in t_stream.c's order and writes replies.
#include <climits>
#include <string>
#include <vector>

#include "edge/resp/args.h"
#include "edge/resp/command.h"
#include "edge/resp/stream_util.h"
#include "store/stream_groups.h"
#include "store/streams.h"

namespace redge::resp {
namespace {

namespace ss = store::streams;
using ss::StreamId;

// getLongLongFromObjectOrReply with Redis's message for the argument.
bool NextInt(ArgReader& args, const char* message, int64_t* out) {
  return args.Int64InRange(INT64_MIN, INT64_MAX, message, out);
}

void ReplyResult(CommandContext& ctx, const store::Result<int64_t>& r) {
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

// XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP ...
void XGroup(CommandContext& ctx) {
  std::string sub = CheckSubcommand(ctx, {{"create", -5},
                                          {"createconsumer", 5},
                                          {"delconsumer", 5},
                                          {"destroy", 4},
                                          {"help", 2},
                                          {"setid", -5}});
  if (sub.empty()) return;
  if (sub == "help") {
    return WriteHelp(
        ctx.reply, ctx.argv[0],
        {"CREATE <key> <groupname> <id|$> [option]",
         "    Create a new consumer group. Options are:", "    * MKSTREAM",
         "      Create the empty stream if it does not exist.", "    * ENTRIESREAD entries_read",
         "      Set the group's entries_read counter (internal use).",
         "CREATECONSUMER <key> <groupname> <consumer>",
         "    Create a new consumer in the specified group.",
         "DELCONSUMER <key> <groupname> <consumer>", "    Remove the specified consumer.",
         "DESTROY <key> <groupname>", "    Remove the specified group.",
         "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
         "    Set the current group ID and entries_read counter."});
  }
  const auto& argv = ctx.argv;
  bool mkstream = false;
  int64_t entries_read = -1;
  ArgReader args(ctx, 5);
  while (args.ok() && !args.done()) {
    if (sub == "create" && args.Match("MKSTREAM")) {
      mkstream = true;
    } else if ((sub == "create" || sub == "setid") && args.remaining() >= 2 &&
               args.Match("ENTRIESREAD")) {
      if (args.Int64(&entries_read) && entries_read < 0 && entries_read != -1) {
        args.Fail("ERR value for ENTRIESREAD must be positive or -1");
      }
    } else {
      args.Fail(SubcommandSyntaxError(ctx));
    }
  }
  if (!args.ok()) return;
  const std::string& key = argv[2];
  const std::string& group = argv[3];
  if ((sub == "create" && argv.size() > 8) ||
      (sub == "setid" && argv.size() != 5 && argv.size() != 7)) {
    // Redis looks the key and group up before it notices the argument count.
    auto meta = ctx.txn->GetTyped(key, store::KeyType::kStream);
    if (!meta.ok() && !meta.status().IsNotFound()) return ReplyStatusError(ctx, meta.status());
    if (!meta.ok() && !mkstream) {
      // The same error CREATE/SETID give for an absent key.
      return ReplyStatusError(ctx, ss::SetGroupId(*ctx.txn, key, group, "$", -1));
    }
    if (sub == "setid") {
      auto exists = ss::GroupExists(*ctx.txn, key, group);
      if (!exists.ok()) return ReplyStatusError(ctx, exists.status());
      if (!*exists) return ReplyStatusError(ctx, ss::SetGroupId(*ctx.txn, key, group, "$", -1));
    }
    return ReplySubcommandSyntaxError(ctx);
  }
  if (sub == "create") {
    store::Status s = ss::CreateGroup(*ctx.txn, key, group, argv[4], mkstream, entries_read);
    if (!s.ok()) return ReplyStatusError(ctx, s);
    ctx.reply.Simple("OK");
  } else if (sub == "setid") {
    store::Status s = ss::SetGroupId(*ctx.txn, key, group, argv[4], entries_read);
    if (!s.ok()) return ReplyStatusError(ctx, s);
    ctx.reply.Simple("OK");
  } else if (sub == "destroy") {
    ReplyResult(ctx, ss::DestroyGroup(*ctx.txn, key, group));
  } else if (sub == "createconsumer") {
    ReplyResult(ctx, ss::CreateConsumer(*ctx.txn, key, group, argv[4]));
  } else {
    ReplyResult(ctx, ss::DeleteConsumer(*ctx.txn, key, group, argv[4]));
  }
}

// XACK key group id...: an absent key or group acknowledges nothing, before the ids are
// even parsed.
void XAck(CommandContext& ctx) {
  auto exists = ss::GroupExists(*ctx.txn, ctx.argv[1], ctx.argv[2]);
  if (!exists.ok()) return ReplyStatusError(ctx, exists.status());
  if (!*exists) return ctx.reply.Integer(0);
  std::vector<StreamId> ids;
  ArgReader args(ctx, 3);
  while (args.ok() && !args.done()) streams::NextId(args, 0, /*strict=*/true, &ids.emplace_back());
  if (!args.ok()) return;
  ReplyResult(ctx, ss::Ack(*ctx.txn, ctx.argv[1], ctx.argv[2], ids));
}

// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
void XPending(CommandContext& ctx) {
  const auto& argv = ctx.argv;
  const size_t argc = argv.size();
  if (argc != 3 && (argc < 6 || argc > 9)) return ReplySyntaxError(ctx);
  int64_t min_idle = 0, count = 0;
  StreamId start, end;
  std::optional<std::string> consumer;
  if (argc >= 6) {
    ArgReader args(ctx, 3);
    if (args.Match("IDLE")) {
      if (!args.Int64(&min_idle)) return;
      if (argc < 8) return ReplySyntaxError(ctx);
    }
    // Redis reads the count before the range: its error comes first.
    const size_t startidx = args.position();
    ArgReader count_arg(ctx, startidx + 2);
    if (!count_arg.Int64(&count)) return;
    if (count < 0) count = 0;
    if (!streams::ArgRangeStart(ctx, argv[startidx], &start)) return;
    if (!streams::ArgRangeEnd(ctx, argv[startidx + 1], &end)) return;
    // Arguments after the consumer are ignored, as by Redis.
    if (startidx + 3 < argc) consumer = argv[startidx + 3];
  }
  if (argc == 3) {
    auto r = ss::Pending(*ctx.txn, argv[1], argv[2]);
    if (!r.ok()) return ReplyStatusError(ctx, r.status());
    ctx.reply.ArrayHeader(4);
    ctx.reply.Integer(static_cast<int64_t>(r->count));
    if (r->count == 0) {
      ctx.reply.Null();
      ctx.reply.Null();
      ctx.reply.NullArray();
      return;
    }
    ctx.reply.Bulk(r->first.ToString());
    ctx.reply.Bulk(r->last.ToString());
    ctx.reply.ArrayHeader(static_cast<int64_t>(r->consumers.size()));
    for (const auto& [name, n] : r->consumers) {
      ctx.reply.ArrayHeader(2);
      ctx.reply.Bulk(name);
      ctx.reply.Bulk(std::to_string(n));
    }
    return;
  }
  auto r = ss::PendingRange(*ctx.txn, argv[1], argv[2], start, end, static_cast<uint64_t>(count),
                            min_idle, consumer);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.ArrayHeader(static_cast<int64_t>(r->size()));
  for (const auto& p : *r) {
    ctx.reply.ArrayHeader(4);
    ctx.reply.Bulk(p.id.ToString());
    ctx.reply.Bulk(p.consumer);
    ctx.reply.Integer(p.idle);
    ctx.reply.Integer(static_cast<int64_t>(p.deliveries));
  }
}

void WriteClaimed(ReplyWriter& w, const std::vector<ss::Entry>& entries, bool justid) {
  w.ArrayHeader(static_cast<int64_t>(entries.size()));
  for (const auto& e : entries) {
    if (justid) {
      w.Bulk(e.id.ToString());
    } else {
      streams::WriteEntry(w, e);
    }
  }
}

// XCLAIM key group consumer min-idle-time id... [IDLE ms] [TIME unix-ms] [RETRYCOUNT n]
//        [FORCE] [JUSTID] [LASTID id]
void XClaim(CommandContext& ctx) {
  const auto& argv = ctx.argv;
  store::Status s = ss::CheckGroup(*ctx.txn, argv[1], argv[2]);
  if (!s.ok()) return ReplyStatusError(ctx, s);
  ss::ClaimOptions o;
  ArgReader args(ctx, 4);
  if (!NextInt(args, "Invalid min-idle-time argument for XCLAIM", &o.min_idle)) return;
  if (o.min_idle < 0) o.min_idle = 0;
  // Ids until the first argument that is not one; the rest are options.
  while (!args.done()) {
    auto id = ss::ParseId(args.Peek(), 0, /*strict=*/true);
    if (!id) break;
    o.ids.push_back(*id);
    std::string_view consumed;
    args.Next(&consumed);
  }
  while (args.ok() && !args.done()) {
    const bool has_value = args.remaining() >= 2;
    if (args.Match("FORCE")) {
      o.force = true;
    } else if (args.Match("JUSTID")) {
      o.justid = true;
    } else if (has_value && args.Match("IDLE")) {
      NextInt(args, "Invalid IDLE option argument for XCLAIM", &o.delivery_value);
      o.delivery = ss::ClaimOptions::Delivery::kIdle;
    } else if (has_value && args.Match("TIME")) {
      NextInt(args, "Invalid TIME option argument for XCLAIM", &o.delivery_value);
      o.delivery = ss::ClaimOptions::Delivery::kTime;
    } else if (has_value && args.Match("RETRYCOUNT")) {
      NextInt(args, "Invalid RETRYCOUNT option argument for XCLAIM", &o.retry_count);
    } else if (has_value && args.Match("LASTID")) {
      streams::NextId(args, 0, /*strict=*/true, &o.last_id);
    } else {
      args.Fail("ERR Unrecognized XCLAIM option '" + std::string(args.Peek()) + "'");
    }
  }
  if (!args.ok()) return;
  auto r = ss::Claim(*ctx.txn, argv[1], argv[2], argv[3], o);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  WriteClaimed(ctx.reply, *r, o.justid);
}

// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
void XAutoClaim(CommandContext& ctx) {
  const auto& argv = ctx.argv;
  int64_t min_idle = 0;
  ArgReader idle_arg(ctx, 4);
  if (!NextInt(idle_arg, "Invalid min-idle-time argument for XAUTOCLAIM", &min_idle)) return;
  if (min_idle < 0) min_idle = 0;
  StreamId start;
  if (!streams::ArgRangeStart(ctx, argv[5], &start)) return;
  int64_t count = 100;
  bool justid = false;
  ArgReader args(ctx, 6);
  while (args.ok() && !args.done()) {
    if (args.remaining() >= 2 && args.Match("COUNT")) {
      // LONG_MAX / max(sizeof(streamID), attempts factor 10)
      args.Int64InRange(1, LONG_MAX / 16, "COUNT must be > 0", &count);
    } else if (args.Match("JUSTID")) {
      justid = true;
    } else {
      args.SyntaxError();
    }
  }
  if (!args.ok()) return;
  auto r = ss::AutoClaim(*ctx.txn, argv[1], argv[2], argv[3], min_idle, start, count, justid);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.ArrayHeader(3);
  ctx.reply.Bulk(r->next.ToString());
  WriteClaimed(ctx.reply, r->claimed, justid);
  ctx.reply.ArrayHeader(static_cast<int64_t>(r->deleted.size()));
  for (const auto& id : r->deleted) ctx.reply.Bulk(id.ToString());
}

}  // namespace

void RegisterStreamGroupCommands() {
  constexpr uint32_t kW = kWrite | kTxn;
  RegisterCommands({
      {"xgroup", -2, kW, 0, 0, 0, &XGroup, "stream", "A container for consumer groups commands",
       "5.0.0"},
      {"xack", -4, kW | kFast, 1, 1, 1, &XAck, "stream",
       "Marks a pending message as correctly processed, effectively removing it from the "
       "pending entries list of the consumer group. Return value of the command is the number "
       "of messages successfully acknowledged, that is, the IDs we were actually able to "
       "resolve in the PEL.",
       "5.0.0"},
      {"xpending", -3, kReadOnly | kTxn, 1, 1, 1, &XPending, "stream",
       "Return information and entries from a stream consumer group pending entries list, "
       "that are messages fetched but never acknowledged.",
       "5.0.0"},
      {"xclaim", -6, kW | kFast, 1, 1, 1, &XClaim, "stream",
       "Changes (or acquires) ownership of a message in a consumer group, as if the message "
       "was delivered to the specified consumer.",
       "5.0.0"},
      {"xautoclaim", -6, kW | kFast, 1, 1, 1, &XAutoClaim, "stream",
       "Changes (or acquires) ownership of messages in a consumer group, as if the messages "
       "were delivered to the specified consumer.",
       "6.2.0"},
  });
}

}  // namespace redge::resp
