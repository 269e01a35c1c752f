// List commands: pushes, pops, LLEN, LRANGE, LINDEX, LSET, LREM, LTRIM, LINSERT, LPOS,
// LMOVE, RPOPLPUSH, LMPOP, and the blocking forms BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP.
//
// The store (store/lists.h) implements the semantics; this file parses arguments the way
// Redis 7.2 does (t_list.c: same error texts and precedence) and writes the replies.
//
// Blocking commands run without a store transaction. Outside MULTI they validate their
// arguments and park the client on the store's waiters (Connection::Block), which also
// serves them at once when data is there. Inside EXEC they cannot block: like Redis they
// act as the non-blocking form and give the timeout reply when there is nothing to pop.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edge/resp/command.h"
#include "edge/resp/connection.h"
#include "store/lists.h"
#include "store/store.h"
#include "store/strings.h"

namespace redge::resp {
namespace {

namespace lists = store::lists;
using store::ListEnd;
using store::Status;

constexpr int64_t kLongMax = std::numeric_limits<int64_t>::max();

// Redis's getRangeLongFromObjectOrReply: an integer within [min, max]. With `msg`, that
// message is the reply for both a non-integer and an out-of-range value.
bool ArgRange(CommandContext& ctx, std::string_view arg, int64_t min, int64_t max, const char* msg,
              int64_t* out) {
  int64_t v = 0;
  if (!store::strings::ParseInt64(arg, &v)) {
    ctx.reply.Error(msg ? std::string("ERR ") + msg
                        : std::string("ERR value is not an integer or out of range"));
    return false;
  }
  if (v < min || v > max) {
    ctx.reply.Error(msg ? std::string("ERR ") + msg
                        : "ERR value is out of range, value must between " + std::to_string(min) +
                              " and " + std::to_string(max));
    return false;
  }
  *out = v;
  return true;
}

// LEFT / RIGHT, case-insensitively; anything else is a syntax error.
bool ArgListEnd(CommandContext& ctx, std::string_view arg, ListEnd* out) {
  if (EqualsIgnoreCase(arg, "left")) {
    *out = ListEnd::kLeft;
  } else if (EqualsIgnoreCase(arg, "right")) {
    *out = ListEnd::kRight;
  } else {
    ReplySyntaxError(ctx);
    return false;
  }
  return true;
}

// For commands that look the key up before parsing an index (LINDEX, LSET): writes the
// reply a missing key or another type gets in Redis, and returns true if it did.
bool ReplyMissingOrWrongType(CommandContext& ctx, const std::string& key,
                             void (*on_missing)(CommandContext&)) {
  auto meta = ctx.txn->GetTyped(key, store::KeyType::kList);
  if (meta.ok()) return false;
  if (meta.status().IsNotFound()) {
    on_missing(ctx);
  } else {
    ReplyStatusError(ctx, meta.status());
  }
  return true;
}

// Served replies: [key, element] for BLPOP/BRPOP, [key, [elements]] for (B)LMPOP, the
// element for BLMOVE/BRPOPLPUSH.
void WriteKeyAndElement(ReplyWriter& w, const store::PopResult& r) {
  w.ArrayHeader(2);
  w.Bulk(r.key);
  w.Bulk(r.values.empty() ? std::string() : r.values.front());
}

void WriteKeyAndElements(ReplyWriter& w, const store::PopResult& r) {
  w.ArrayHeader(2);
  w.Bulk(r.key);
  w.BulkArray(r.values);
}

void WriteElement(ReplyWriter& w, const store::PopResult& r) {
  if (r.values.empty()) {
    w.Null();
  } else {
    w.Bulk(r.values.front());
  }
}

// --- Push and pop ------------------------------------------------------------------------

void PushGeneric(CommandContext& ctx, ListEnd end, bool only_if_exists) {
  std::vector<std::string> values(ctx.argv.begin() + 2, ctx.argv.end());
  auto r = lists::Push(*ctx.txn, ctx.argv[1], end, values, only_if_exists);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void LPush(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kLeft, false); }
void RPush(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kRight, false); }
void LPushX(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kLeft, true); }
void RPushX(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kRight, true); }

// LPOP/RPOP key [count]: without count a bulk (nil if absent), with count an array (a nil
// array if absent, an empty one for count 0).
void PopGeneric(CommandContext& ctx, ListEnd end) {
  if (ctx.argv.size() > 3) return ReplyArityError(ctx);
  bool has_count = ctx.argv.size() == 3;
  int64_t count = 1;
  if (has_count &&
      !ArgRange(ctx, ctx.argv[2], 0, kLongMax, "value is out of range, must be positive", &count)) {
    return;
  }
  auto r = lists::Pop(*ctx.txn, ctx.argv[1], end, static_cast<size_t>(count));
  if (!r.ok()) {
    if (!r.status().IsNotFound()) return ReplyStatusError(ctx, r.status());
    if (has_count) {
      ctx.reply.NullArray();
    } else {
      ctx.reply.Null();
    }
    return;
  }
  if (has_count) {
    ctx.reply.BulkArray(*r);
  } else if (r->empty()) {
    ctx.reply.Null();
  } else {
    ctx.reply.Bulk(r->front());
  }
}

void LPop(CommandContext& ctx) { PopGeneric(ctx, ListEnd::kLeft); }
void RPop(CommandContext& ctx) { PopGeneric(ctx, ListEnd::kRight); }

// --- Reads -------------------------------------------------------------------------------

void LLen(CommandContext& ctx) {
  auto r = lists::Len(*ctx.txn, ctx.argv[1]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void LRange(CommandContext& ctx) {
  int64_t start = 0, stop = 0;
  if (!ArgInt64(ctx, ctx.argv[2], &start) || !ArgInt64(ctx, ctx.argv[3], &stop)) return;
  auto r = lists::Range(*ctx.txn, ctx.argv[1], start, stop);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.BulkArray(*r);
}

void LIndex(CommandContext& ctx) {
  int64_t index = 0;
  if (!store::strings::ParseInt64(ctx.argv[2], &index)) {
    // Redis parses the index only once it has found a list there.
    if (ReplyMissingOrWrongType(ctx, ctx.argv[1], [](CommandContext& c) { c.reply.Null(); })) {
      return;
    }
    ArgInt64(ctx, ctx.argv[2], &index);  // writes the integer error
    return;
  }
  auto r = lists::Index(*ctx.txn, ctx.argv[1], index);
  ReplyBulkOrNull(ctx, r);
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]: options are validated in
// order as they are parsed, before the key is looked up.
void LPos(CommandContext& ctx) {
  const auto& argv = ctx.argv;
  lists::PosOptions options;
  for (size_t j = 3; j < argv.size(); ++j) {
    bool has_value = j + 1 < argv.size();
    if (EqualsIgnoreCase(argv[j], "rank") && has_value) {
      if (!ArgRange(ctx, argv[++j], -kLongMax, kLongMax, nullptr, &options.rank)) return;
      if (options.rank == 0) {
        ctx.reply.Error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            "or use negative to start from the end of the list");
        return;
      }
    } else if (EqualsIgnoreCase(argv[j], "count") && has_value) {
      int64_t count = 0;
      if (!ArgRange(ctx, argv[++j], 0, kLongMax, "COUNT can't be negative", &count)) return;
      options.count = count;
    } else if (EqualsIgnoreCase(argv[j], "maxlen") && has_value) {
      if (!ArgRange(ctx, argv[++j], 0, kLongMax, "MAXLEN can't be negative", &options.maxlen)) {
        return;
      }
    } else {
      return ReplySyntaxError(ctx);
    }
  }
  auto r = lists::Pos(*ctx.txn, argv[1], argv[2], options);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  if (options.count) {
    ctx.reply.ArrayHeader(static_cast<int64_t>(r->size()));
    for (int64_t index : *r) ctx.reply.Integer(index);
  } else if (r->empty()) {
    ctx.reply.Null();
  } else {
    ctx.reply.Integer(r->front());
  }
}

// --- In-place changes --------------------------------------------------------------------

void LSet(CommandContext& ctx) {
  int64_t index = 0;
  if (!store::strings::ParseInt64(ctx.argv[2], &index)) {
    // As LINDEX: the key is checked before the index.
    if (ReplyMissingOrWrongType(ctx, ctx.argv[1], [](CommandContext& c) {
          ReplyStatusError(c, Status::NoSuchKey());
        })) {
      return;
    }
    ArgInt64(ctx, ctx.argv[2], &index);
    return;
  }
  Status s = lists::SetIndex(*ctx.txn, ctx.argv[1], index, ctx.argv[3]);
  if (!s.ok()) return ReplyStatusError(ctx, s);
  ctx.reply.Simple("OK");
}

void LRem(CommandContext& ctx) {
  int64_t count = 0;
  if (!ArgRange(ctx, ctx.argv[2], -kLongMax, kLongMax, nullptr, &count)) return;
  auto r = lists::Rem(*ctx.txn, ctx.argv[1], count, ctx.argv[3]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void LTrim(CommandContext& ctx) {
  int64_t start = 0, stop = 0;
  if (!ArgInt64(ctx, ctx.argv[2], &start) || !ArgInt64(ctx, ctx.argv[3], &stop)) return;
  Status s = lists::Trim(*ctx.txn, ctx.argv[1], start, stop);
  if (!s.ok()) return ReplyStatusError(ctx, s);
  ctx.reply.Simple("OK");
}

void LInsert(CommandContext& ctx) {
  bool before = false;
  if (EqualsIgnoreCase(ctx.argv[2], "before")) {
    before = true;
  } else if (!EqualsIgnoreCase(ctx.argv[2], "after")) {
    return ReplySyntaxError(ctx);
  }
  auto r = lists::Insert(*ctx.txn, ctx.argv[1], before, ctx.argv[3], ctx.argv[4]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

// --- Moves -------------------------------------------------------------------------------

// LMOVE/RPOPLPUSH (and BLMOVE/BRPOPLPUSH inside EXEC): the element, or nil if the source
// is absent.
void MoveAndReply(CommandContext& ctx, ListEnd from, ListEnd to) {
  auto r = lists::Move(*ctx.txn, ctx.argv[1], ctx.argv[2], from, to);
  ReplyBulkOrNull(ctx, r);
}

void LMove(CommandContext& ctx) {
  ListEnd from, to;
  if (!ArgListEnd(ctx, ctx.argv[3], &from) || !ArgListEnd(ctx, ctx.argv[4], &to)) return;
  MoveAndReply(ctx, from, to);
}

void RPopLPush(CommandContext& ctx) { MoveAndReply(ctx, ListEnd::kRight, ListEnd::kLeft); }

// --- Multi-key pops ----------------------------------------------------------------------

struct MPopArgs {
  std::vector<std::string> keys;
  ListEnd end = ListEnd::kLeft;
  int64_t count = 1;
};

// numkeys key... LEFT|RIGHT [COUNT count], numkeys at argv[numkeys_at] (Redis's
// lmpopGenericCommand, including its error texts).
bool ParseMPop(CommandContext& ctx, size_t numkeys_at, MPopArgs* out) {
  const auto& argv = ctx.argv;
  int64_t numkeys = 0;
  if (!ArgRange(ctx, argv[numkeys_at], 1, kLongMax, "numkeys should be greater than 0", &numkeys)) {
    return false;
  }
  // The direction must follow the keys.
  if (numkeys >= static_cast<int64_t>(argv.size() - numkeys_at - 1)) {
    ReplySyntaxError(ctx);
    return false;
  }
  size_t where_at = numkeys_at + static_cast<size_t>(numkeys) + 1;
  if (!ArgListEnd(ctx, argv[where_at], &out->end)) return false;
  bool has_count = false;
  for (size_t j = where_at + 1; j < argv.size(); ++j) {
    if (!has_count && EqualsIgnoreCase(argv[j], "count") && j + 1 < argv.size()) {
      if (!ArgRange(ctx, argv[++j], 1, kLongMax, "count should be greater than 0", &out->count)) {
        return false;
      }
      has_count = true;
    } else {
      ReplySyntaxError(ctx);
      return false;
    }
  }
  out->keys.assign(argv.begin() + static_cast<std::ptrdiff_t>(numkeys_at + 1),
                   argv.begin() + static_cast<std::ptrdiff_t>(where_at));
  return true;
}

// Pops from the first non-empty list of `args` in ctx.txn: [key, [elements]], or a nil
// array when every list is empty.
void MPopAndReply(CommandContext& ctx, const MPopArgs& args) {
  auto r = lists::MPop(*ctx.txn, args.keys, args.end, static_cast<size_t>(args.count));
  if (r.ok()) {
    WriteKeyAndElements(ctx.reply, store::PopResult{r->key, std::move(r->values)});
  } else if (r.status().IsNotFound()) {
    ctx.reply.NullArray();
  } else {
    ReplyStatusError(ctx, r.status());
  }
}

void LMPop(CommandContext& ctx) {
  MPopArgs args;
  if (!ParseMPop(ctx, 1, &args)) return;
  MPopAndReply(ctx, args);
}

// --- Blocking forms ----------------------------------------------------------------------

// BLPOP/BRPOP key... timeout.
void BlockingPop(CommandContext& ctx, ListEnd end) {
  int64_t timeout_ms = 0;
  if (!ArgTimeout(ctx, ctx.argv.back(), &timeout_ms)) return;
  std::vector<std::string> keys(ctx.argv.begin() + 1, ctx.argv.end() - 1);
  if (ctx.in_exec) {
    for (const auto& key : keys) {
      auto r = lists::Pop(*ctx.txn, key, end, 1);
      if (!r.ok()) {
        if (r.status().IsNotFound()) continue;
        return ReplyStatusError(ctx, r.status());
      }
      if (r->empty()) continue;
      WriteKeyAndElement(ctx.reply, store::PopResult{key, std::move(*r)});
      return;
    }
    ctx.reply.NullArray();
    return;
  }
  store::PopRequest request;
  request.db = ctx.conn.db();
  request.keys = std::move(keys);
  request.from = end;
  ctx.conn.Block(std::move(request), timeout_ms, &WriteKeyAndElement,
                 /*timeout_null_array=*/true);
}

void BLPop(CommandContext& ctx) { BlockingPop(ctx, ListEnd::kLeft); }
void BRPop(CommandContext& ctx) { BlockingPop(ctx, ListEnd::kRight); }

// BLMOVE/BRPOPLPUSH source destination ... timeout: the moved element.
void BlockingMove(CommandContext& ctx, ListEnd from, ListEnd to, std::string_view timeout) {
  int64_t timeout_ms = 0;
  if (!ArgTimeout(ctx, timeout, &timeout_ms)) return;
  if (ctx.in_exec) return MoveAndReply(ctx, from, to);
  store::PopRequest request;
  request.db = ctx.conn.db();
  request.keys = {ctx.argv[1]};
  request.from = from;
  request.destination = ctx.argv[2];
  request.to = to;
  // On timeout Redis answers every blocked list command with a nil array, BLMOVE included
  // (replyToBlockedClientTimedOut); only the non-blocking path inside EXEC gives a nil bulk.
  ctx.conn.Block(std::move(request), timeout_ms, &WriteElement, /*timeout_null_array=*/true);
}

void BLMove(CommandContext& ctx) {
  ListEnd from, to;
  if (!ArgListEnd(ctx, ctx.argv[3], &from) || !ArgListEnd(ctx, ctx.argv[4], &to)) return;
  BlockingMove(ctx, from, to, ctx.argv[5]);
}

void BRPopLPush(CommandContext& ctx) {
  BlockingMove(ctx, ListEnd::kRight, ListEnd::kLeft, ctx.argv[3]);
}

// BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT count]: Redis checks the timeout last.
void BLMPop(CommandContext& ctx) {
  MPopArgs args;
  if (!ParseMPop(ctx, 2, &args)) return;
  int64_t timeout_ms = 0;
  if (!ArgTimeout(ctx, ctx.argv[1], &timeout_ms)) return;
  if (ctx.in_exec) return MPopAndReply(ctx, args);
  store::PopRequest request;
  request.db = ctx.conn.db();
  request.keys = std::move(args.keys);
  request.from = args.end;
  request.count = static_cast<size_t>(args.count);
  ctx.conn.Block(std::move(request), timeout_ms, &WriteKeyAndElements,
                 /*timeout_null_array=*/true);
}

}  // namespace

void RegisterListCommands() {
  constexpr uint32_t kR = kReadOnly | kTxn;
  constexpr uint32_t kW = kWrite | kTxn;
  constexpr uint32_t kB = kWrite | kBlocking;  // no kTxn: see the file comment
  RegisterCommands({
      {"lpush", -3, kW | kFast, 1, 1, 1, &LPush, "list",
       "Prepends one or more elements to a list. Creates the key if it doesn't exist.", "1.0.0"},
      {"rpush", -3, kW | kFast, 1, 1, 1, &RPush, "list",
       "Appends one or more elements to a list. Creates the key if it doesn't exist.", "1.0.0"},
      {"lpushx", -3, kW | kFast, 1, 1, 1, &LPushX, "list",
       "Prepends one or more elements to a list only when the list exists.", "2.2.0"},
      {"rpushx", -3, kW | kFast, 1, 1, 1, &RPushX, "list",
       "Appends an element to a list only when the list exists.", "2.2.0"},
      {"lpop", -2, kW | kFast, 1, 1, 1, &LPop, "list",
       "Returns the first elements in a list after removing it. Deletes the list if the last "
       "element was popped.",
       "1.0.0"},
      {"rpop", -2, kW | kFast, 1, 1, 1, &RPop, "list",
       "Returns and removes the last elements of a list. Deletes the list if the last element "
       "was popped.",
       "1.0.0"},
      {"llen", 2, kR | kFast, 1, 1, 1, &LLen, "list", "Returns the length of a list.", "1.0.0"},
      {"lrange", 4, kR, 1, 1, 1, &LRange, "list", "Returns a range of elements from a list.",
       "1.0.0"},
      {"lindex", 3, kR, 1, 1, 1, &LIndex, "list", "Returns an element from a list by its index.",
       "1.0.0"},
      {"lset", 4, kW, 1, 1, 1, &LSet, "list",
       "Sets the value of an element in a list by its index.", "1.0.0"},
      {"lrem", 4, kW, 1, 1, 1, &LRem, "list",
       "Removes elements from a list. Deletes the list if the last element was removed.", "1.0.0"},
      {"ltrim", 4, kW, 1, 1, 1, &LTrim, "list",
       "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
       "1.0.0"},
      {"linsert", 5, kW, 1, 1, 1, &LInsert, "list",
       "Inserts an element before or after another element in a list.", "2.2.0"},
      {"lpos", -3, kR, 1, 1, 1, &LPos, "list", "Returns the index of matching elements in a list.",
       "6.0.6"},
      {"lmove", 5, kW, 1, 2, 1, &LMove, "list",
       "Returns an element after popping it from one list and pushing it to another. Deletes "
       "the list if the last element was moved.",
       "6.2.0"},
      {"rpoplpush", 3, kW, 1, 2, 1, &RPopLPush, "list",
       "Returns the last element of a list after removing and pushing it to another list. "
       "Deletes the list if the last element was popped.",
       "1.2.0"},
      // Movable keys: Redis reports 0 0 0 for the legacy key positions.
      {"lmpop", -4, kW, 0, 0, 0, &LMPop, "list",
       "Returns multiple elements from a list after removing them. Deletes the list if the "
       "last element was popped.",
       "7.0.0"},
      {"blpop", -3, kB, 1, -2, 1, &BLPop, "list",
       "Removes and returns the first element in a list. Blocks until an element is available "
       "otherwise. Deletes the list if the last element was popped.",
       "2.0.0"},
      {"brpop", -3, kB, 1, -2, 1, &BRPop, "list",
       "Removes and returns the last element in a list. Blocks until an element is available "
       "otherwise. Deletes the list if the last element was popped.",
       "2.0.0"},
      {"blmove", 6, kB, 1, 2, 1, &BLMove, "list",
       "Pops an element from a list, pushes it to another list and returns it. Blocks until "
       "an element is available otherwise. Deletes the list if the last element was moved.",
       "6.2.0"},
      {"brpoplpush", 4, kB, 1, 2, 1, &BRPopLPush, "list",
       "Pops an element from a list, pushes it to another list and returns it. Block until an "
       "element is available otherwise. Deletes the list if the last element was popped.",
       "2.2.0"},
      {"blmpop", -5, kB, 0, 0, 0, &BLMPop, "list",
       "Pops the first element from one of multiple lists. Blocks until an element is "
       "available otherwise. Deletes the list if the last element was popped.",
       "7.0.0"},
  });
}

}  // namespace redge::resp
