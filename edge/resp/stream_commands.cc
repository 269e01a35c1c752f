// The stream commands of Redis 7.0 that work on entries: XADD, XRANGE, XREVRANGE, XLEN,
// XDEL, XTRIM, XSETID and XINFO. XREAD/XREADGROUP are in stream_read_commands.cc, the
// consumer-group commands in stream_group_commands.cc; store/streams.h has the semantics.
//
// Arguments are parsed in Redis's order (t_stream.c), so the first error a client gets
// is the one Redis would give.
#include <string>
#include <vector>

#include "edge/resp/args.h"
#include "edge/resp/command.h"
#include "edge/resp/stream_util.h"
#include "store/stream_groups.h"
#include "store/streams.h"

namespace redge::resp {

void RegisterStreamReadCommands();
void RegisterStreamGroupCommands();

namespace {

namespace ss = store::streams;
using ss::StreamId;
using streams::WriteEntries;
using streams::WriteEntry;

// streamParseAddOrTrimArgsOrReply: XADD's and XTRIM's options, in Redis's order (an
// option word needs at least one argument after it; otherwise, for XADD, it is read as the
// id). For XADD, *id_pos is the position of the id argument (argv.size() when none).
bool ParseAddOrTrim(CommandContext& ctx, bool xadd, ss::AddOptions* add, size_t* id_pos) {
  ss::TrimOptions& trim = add->trim;
  trim.nodes = streams::NodeLimits();
  bool limit_given = false;
  ArgReader args(ctx, 2);
  while (args.ok() && !args.done()) {
    if (xadd && args.Peek() == "*") break;
    const bool has_value = args.remaining() >= 2;
    const bool maxlen = has_value && args.Match("MAXLEN");
    if (maxlen || (has_value && args.Match("MINID"))) {
      if (trim.strategy != ss::TrimStrategy::kNone) {
        return args.Fail(
            "ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
      }
      // "~" or "=" count as the operator only when a threshold follows them.
      trim.approx = false;
      if (args.remaining() >= 2) {
        if (args.Match("~")) {
          trim.approx = true;
        } else {
          args.Match("=");
        }
      }
      if (maxlen) {
        if (!args.Int64(&trim.maxlen)) break;
        if (trim.maxlen < 0) return args.Fail("ERR The MAXLEN argument must be >= 0.");
        trim.strategy = ss::TrimStrategy::kMaxLen;
      } else {
        if (!streams::NextId(args, 0, /*strict=*/true, &trim.minid)) break;
        trim.strategy = ss::TrimStrategy::kMinId;
      }
    } else if (has_value && args.Match("LIMIT")) {
      if (!args.Int64(&trim.limit)) break;
      if (trim.limit < 0) return args.Fail("ERR The LIMIT argument must be >= 0.");
      limit_given = true;
    } else if (xadd && args.Match("NOMKSTREAM")) {
      add->no_mkstream = true;
    } else if (xadd) {
      // Anything else is the id (a misspelled option reads as an invalid id, as in Redis).
      std::string_view arg;
      args.Next(&arg);
      auto id = ss::ParseId(arg, 0, /*strict=*/true, &add->seq_given);
      if (!id) return args.Fail(ss::InvalidIdError().message());
      add->id = *id;
      *id_pos = args.position() - 1;
      break;
    } else {
      args.SyntaxError();
    }
  }
  if (!args.ok()) return false;
  if (!add->id) *id_pos = args.position();
  if (trim.limit && trim.strategy == ss::TrimStrategy::kNone) {
    return args.Fail(
        "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
  }
  if (!xadd && trim.strategy == ss::TrimStrategy::kNone) {
    return args.Fail("ERR syntax error, XTRIM must be called with a trimming strategy");
  }
  if (limit_given) {
    if (!trim.approx) {
      return args.Fail("ERR syntax error, LIMIT cannot be used without the special ~ option");
    }
  } else {
    trim.limit = trim.approx ? ss::DefaultApproxLimit(trim.nodes) : 0;
  }
  return true;
}

// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value ...
void XAdd(CommandContext& ctx) {
  ss::AddOptions options;
  size_t id_pos = 0;
  if (!ParseAddOrTrim(ctx, /*xadd=*/true, &options, &id_pos)) return;
  const size_t field_pos = id_pos + 1;
  if (field_pos > ctx.argv.size() || ctx.argv.size() - field_pos < 2 ||
      (ctx.argv.size() - field_pos) % 2 == 1) {
    return ReplyArityError(ctx);
  }
  std::vector<std::string> fv(ctx.argv.begin() + static_cast<ptrdiff_t>(field_pos), ctx.argv.end());
  auto r = ss::Add(*ctx.txn, ctx.argv[1], options, fv);
  if (!r.ok()) {
    if (r.status().IsNotFound()) return ctx.reply.Null();
    return ReplyStatusError(ctx, r.status());
  }
  ctx.reply.Bulk(r->ToString());
}

// XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n].
void RangeGeneric(CommandContext& ctx, bool rev) {
  const std::string& start_arg = rev ? ctx.argv[3] : ctx.argv[2];
  const std::string& end_arg = rev ? ctx.argv[2] : ctx.argv[3];
  StreamId start, end;
  if (!streams::ArgRangeStart(ctx, start_arg, &start)) return;
  if (!streams::ArgRangeEnd(ctx, end_arg, &end)) return;
  int64_t count = -1;
  ArgReader args(ctx, 4);
  while (args.ok() && !args.done()) {
    if (args.remaining() >= 2 && args.Match("COUNT")) {
      if (args.Int64(&count) && count < 0) count = 0;
    } else {
      args.SyntaxError();
    }
  }
  if (!args.ok()) return;
  auto r = ss::Range(*ctx.txn, ctx.argv[1], start, end,
                     count == -1 ? 0 : static_cast<uint64_t>(count), rev);
  if (!r.ok()) {
    if (r.status().IsNotFound()) return ctx.reply.ArrayHeader(0);
    return ReplyStatusError(ctx, r.status());
  }
  if (count == 0) return ctx.reply.NullArray();
  WriteEntries(ctx.reply, *r);
}

void XRange(CommandContext& ctx) { RangeGeneric(ctx, false); }
void XRevRange(CommandContext& ctx) { RangeGeneric(ctx, true); }

void XLen(CommandContext& ctx) {
  auto r = ss::Len(*ctx.txn, ctx.argv[1]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

// XDEL key id...: the key is looked up before the ids are parsed (an absent key is 0).
void XDel(CommandContext& ctx) {
  auto exists = ctx.txn->GetTyped(ctx.argv[1], store::KeyType::kStream);
  if (!exists.ok()) {
    if (exists.status().IsNotFound()) return ctx.reply.Integer(0);
    return ReplyStatusError(ctx, exists.status());
  }
  std::vector<StreamId> ids;
  ArgReader args(ctx, 2);
  while (args.ok() && !args.done()) streams::NextId(args, 0, /*strict=*/true, &ids.emplace_back());
  if (!args.ok()) return;
  auto r = ss::Delete(*ctx.txn, ctx.argv[1], ids);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void XTrim(CommandContext& ctx) {
  ss::AddOptions options;
  size_t id_pos = 0;
  if (!ParseAddOrTrim(ctx, /*xadd=*/false, &options, &id_pos)) return;
  auto r = ss::Trim(*ctx.txn, ctx.argv[1], options.trim);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
void XSetId(CommandContext& ctx) {
  ArgReader args(ctx, 2);
  StreamId id;
  if (!streams::NextId(args, 0, /*strict=*/true, &id)) return;
  std::optional<int64_t> entries_added;
  std::optional<StreamId> max_deleted;
  while (args.ok() && !args.done()) {
    if (args.remaining() >= 2 && args.Match("ENTRIESADDED")) {
      int64_t v = 0;
      if (!args.Int64(&v)) break;
      if (v < 0) return ctx.reply.Error("ERR entries_added must be positive");
      entries_added = v;
    } else if (args.remaining() >= 2 && args.Match("MAXDELETEDID")) {
      StreamId v;
      if (!streams::NextId(args, 0, /*strict=*/true, &v)) break;
      if (id < v) {
        return ctx.reply.Error(
            "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
      }
      max_deleted = v;
    } else {
      args.SyntaxError();
    }
  }
  if (!args.ok()) return;
  store::Status s = ss::SetId(*ctx.txn, ctx.argv[1], id, entries_added, max_deleted);
  if (!s.ok()) return ReplyStatusError(ctx, s);
  ctx.reply.Simple("OK");
}

// --- XINFO ----------------------------------------------------------------------------

void WriteLag(ReplyWriter& w, const std::optional<int64_t>& v) {
  if (v) {
    w.Integer(*v);
  } else {
    w.Null();
  }
}

void XInfoStream(CommandContext& ctx, const ss::StreamInfo& info) {
  const auto& argv = ctx.argv;
  const size_t optc = argv.size() - 3;
  bool full = optc > 0;
  int64_t count = 10;
  if (full) {
    // [FULL [COUNT count]] and nothing else.
    ArgReader args(ctx, 3);
    if ((optc != 1 && optc != 3) || !args.Match("FULL") || (optc == 3 && !args.Match("COUNT"))) {
      return ReplySubcommandSyntaxError(ctx);
    }
    if (optc == 3 && !args.Int64(&count)) return;
    if (count < 0) count = 10;
  }
  auto nodes = ss::RadixTreeNodes(*ctx.txn, argv[2]);
  if (!nodes.ok()) return ReplyStatusError(ctx, nodes.status());
  ReplyWriter& w = ctx.reply;
  // Gather everything first: a failed read must not leave half a reply.
  std::vector<ss::Entry> first, last, entries;
  std::vector<ss::FullGroup> groups;
  if (!full) {
    auto f = ss::Range(*ctx.txn, argv[2], StreamId::Min(), StreamId::Max(), 1, false);
    auto l = ss::Range(*ctx.txn, argv[2], StreamId::Min(), StreamId::Max(), 1, true);
    if (!f.ok()) return ReplyStatusError(ctx, f.status());
    if (!l.ok()) return ReplyStatusError(ctx, l.status());
    first = std::move(*f);
    last = std::move(*l);
  } else {
    auto e = ss::Range(*ctx.txn, argv[2], StreamId::Min(), StreamId::Max(),
                       static_cast<uint64_t>(count), false);
    if (!e.ok()) return ReplyStatusError(ctx, e.status());
    entries = std::move(*e);
    auto g = ss::FullGroups(*ctx.txn, argv[2], static_cast<uint64_t>(count));
    if (!g.ok()) return ReplyStatusError(ctx, g.status());
    groups = std::move(*g);
  }
  w.MapHeader(full ? 9 : 10);
  w.Bulk("length");
  w.Integer(static_cast<int64_t>(info.length));
  w.Bulk("radix-tree-keys");
  w.Integer(static_cast<int64_t>(info.nodes));
  w.Bulk("radix-tree-nodes");
  w.Integer(*nodes);
  w.Bulk("last-generated-id");
  w.Bulk(info.last_id.ToString());
  w.Bulk("max-deleted-entry-id");
  w.Bulk(info.max_deleted_id.ToString());
  w.Bulk("entries-added");
  w.Integer(static_cast<int64_t>(info.entries_added));
  w.Bulk("recorded-first-entry-id");
  w.Bulk(info.first_id.ToString());
  if (!full) {
    w.Bulk("groups");
    w.Integer(static_cast<int64_t>(info.groups));
    w.Bulk("first-entry");
    if (first.empty()) {
      w.Null();
    } else {
      WriteEntry(w, first.front());
    }
    w.Bulk("last-entry");
    if (last.empty()) {
      w.Null();
    } else {
      WriteEntry(w, last.front());
    }
    return;
  }
  w.Bulk("entries");
  WriteEntries(w, entries);
  w.Bulk("groups");
  w.ArrayHeader(static_cast<int64_t>(groups.size()));
  for (const auto& g : groups) {
    w.MapHeader(7);
    w.Bulk("name");
    w.Bulk(g.info.name);
    w.Bulk("last-delivered-id");
    w.Bulk(g.info.last_delivered.ToString());
    w.Bulk("entries-read");
    WriteLag(w, g.info.entries_read);
    w.Bulk("lag");
    WriteLag(w, g.info.lag);
    w.Bulk("pel-count");
    w.Integer(static_cast<int64_t>(g.info.pending));
    w.Bulk("pending");
    w.ArrayHeader(static_cast<int64_t>(g.pending.size()));
    for (const auto& p : g.pending) {
      w.ArrayHeader(4);
      w.Bulk(p.id.ToString());
      w.Bulk(p.consumer);
      w.Integer(p.delivery_time);
      w.Integer(static_cast<int64_t>(p.deliveries));
    }
    w.Bulk("consumers");
    w.ArrayHeader(static_cast<int64_t>(g.consumers.size()));
    for (const auto& c : g.consumers) {
      w.MapHeader(4);
      w.Bulk("name");
      w.Bulk(c.name);
      w.Bulk("seen-time");
      w.Integer(c.seen_time);
      w.Bulk("pel-count");
      w.Integer(static_cast<int64_t>(c.pel_count));
      w.Bulk("pending");
      w.ArrayHeader(static_cast<int64_t>(c.pending.size()));
      for (const auto& p : c.pending) {
        w.ArrayHeader(3);
        w.Bulk(p.id.ToString());
        w.Integer(p.delivery_time);
        w.Integer(static_cast<int64_t>(p.deliveries));
      }
    }
  }
}

void XInfo(CommandContext& ctx) {
  std::string sub =
      CheckSubcommand(ctx, {{"consumers", 4}, {"groups", 3}, {"help", 2}, {"stream", -3}});
  if (sub.empty()) return;
  if (sub == "help") {
    return WriteHelp(
        ctx.reply, ctx.argv[0],
        {"CONSUMERS <key> <groupname>", "    Show consumers of <groupname>.", "GROUPS <key>",
         "    Show the stream consumer groups.", "STREAM <key> [FULL [COUNT <count>]",
         "    Show information about the stream."});
  }
  const std::string& key = ctx.argv[2];
  auto info = ss::Info(*ctx.txn, key);
  if (!info.ok()) {
    if (info.status().IsNotFound()) return ReplyStatusError(ctx, store::Status::NoSuchKey());
    return ReplyStatusError(ctx, info.status());
  }
  if (sub == "consumers") {
    auto r = ss::Consumers(*ctx.txn, key, ctx.argv[3]);
    if (!r.ok()) return ReplyStatusError(ctx, r.status());
    ctx.reply.ArrayHeader(static_cast<int64_t>(r->size()));
    for (const auto& c : *r) {
      ctx.reply.MapHeader(3);
      ctx.reply.Bulk("name");
      ctx.reply.Bulk(c.name);
      ctx.reply.Bulk("pending");
      ctx.reply.Integer(static_cast<int64_t>(c.pending));
      ctx.reply.Bulk("idle");
      ctx.reply.Integer(c.idle);
    }
  } else if (sub == "groups") {
    auto r = ss::Groups(*ctx.txn, key);
    if (!r.ok()) return ReplyStatusError(ctx, r.status());
    ctx.reply.ArrayHeader(static_cast<int64_t>(r->size()));
    for (const auto& g : *r) {
      ctx.reply.MapHeader(6);
      ctx.reply.Bulk("name");
      ctx.reply.Bulk(g.name);
      ctx.reply.Bulk("consumers");
      ctx.reply.Integer(static_cast<int64_t>(g.consumers));
      ctx.reply.Bulk("pending");
      ctx.reply.Integer(static_cast<int64_t>(g.pending));
      ctx.reply.Bulk("last-delivered-id");
      ctx.reply.Bulk(g.last_delivered.ToString());
      ctx.reply.Bulk("entries-read");
      WriteLag(ctx.reply, g.entries_read);
      ctx.reply.Bulk("lag");
      WriteLag(ctx.reply, g.lag);
    }
  } else {
    XInfoStream(ctx, *info);
  }
}

}  // namespace

void RegisterStreamCommands() {
  constexpr uint32_t kR = kReadOnly | kTxn;
  constexpr uint32_t kW = kWrite | kTxn;
  RegisterCommands({
      {"xadd", -5, kW | kFast, 1, 1, 1, &XAdd, "stream", "Appends a new entry to a stream",
       "5.0.0"},
      {"xrange", -4, kR, 1, 1, 1, &XRange, "stream",
       "Return a range of elements in a stream, with IDs matching the specified IDs interval",
       "5.0.0"},
      {"xrevrange", -4, kR, 1, 1, 1, &XRevRange, "stream",
       "Return a range of elements in a stream, with IDs matching the specified IDs interval, "
       "in reverse order (from greater to smaller IDs) compared to XRANGE",
       "5.0.0"},
      {"xlen", 2, kR | kFast, 1, 1, 1, &XLen, "stream", "Return the number of entries in a stream",
       "5.0.0"},
      {"xdel", -3, kW | kFast, 1, 1, 1, &XDel, "stream",
       "Removes the specified entries from the stream. Returns the number of items actually "
       "deleted, that may be different from the number of IDs passed in case certain IDs do "
       "not exist.",
       "5.0.0"},
      {"xtrim", -4, kW, 1, 1, 1, &XTrim, "stream",
       "Trims the stream to (approximately if '~' is passed) a certain size", "5.0.0"},
      {"xsetid", -3, kW | kFast, 1, 1, 1, &XSetId, "stream",
       "An internal command for replicating stream values", "5.0.0"},
      {"xinfo", -2, kR, 0, 0, 0, &XInfo, "stream", "A container for stream introspection commands",
       "5.0.0"},
  });
  RegisterStreamReadCommands();
  RegisterStreamGroupCommands();
}

}  // namespace redge::resp
