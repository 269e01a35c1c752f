// String commands: GET, SET and its variants, GETDEL, GETEX, MGET, MSET, the INCR family,
// APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE.
//
// The store (store/strings.h) implements the semantics; this file parses arguments the way
// Redis 7.2 does (same accepted forms, same error texts, same error precedence) and turns
// results into RESP replies.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edge/resp/command.h"
#include "edge/resp/server.h"
#include "store/strings.h"

namespace redge::resp {
namespace {

namespace strings = store::strings;
using store::Result;
using store::Status;

// Keyspace hits/misses for INFO stats, counted where Redis looks a key up for reading.
void CountLookup(CommandContext& ctx, bool hit) {
  if (hit) {
    ctx.server.stats().keyspace_hits++;
  } else {
    ctx.server.stats().keyspace_misses++;
  }
}

// Replies a GET-like result: the value, nil for a missing key, or the error.
void ReplyValue(CommandContext& ctx, const Result<std::string>& r) {
  // WRONGTYPE: Redis found the key, which counts as a hit.
  if (r.ok() || r.status().code() == Status::Code::kWrongType) {
    CountLookup(ctx, true);
  } else if (r.status().IsNotFound()) {
    CountLookup(ctx, false);
  }
  ReplyBulkOrNull(ctx, r);
}

// --- SET / GETEX option parsing -------------------------------------------------------

enum class ExpireKind { kNone, kEx, kPx, kExAt, kPxAt };

struct StringArgs {
  bool nx = false;
  bool xx = false;
  bool get = false;
  bool keep_ttl = false;
  bool persist = false;
  ExpireKind expire = ExpireKind::kNone;
  std::string_view expire_arg;
};

// Parses SET's (set_command) or GETEX's options from argv[first] on, accepting exactly what
// Redis's parseExtendedStringArgumentsOrReply accepts: options are case-insensitive, may be
// repeated, and conflicting ones (NX with XX, two different expire forms, KEEPTTL or
// PERSIST with an expire) are "ERR syntax error". Writes the error and returns false.
bool ParseStringArgs(CommandContext& ctx, size_t first, bool set_command, StringArgs* out) {
  const auto& argv = ctx.argv;
  for (size_t j = first; j < argv.size(); ++j) {
    const std::string& opt = argv[j];
    bool has_next = j + 1 < argv.size();
    // An expire form is accepted when no other expire form, KEEPTTL or PERSIST was seen.
    auto expire_ok = [&](ExpireKind kind) {
      return !out->keep_ttl && !out->persist &&
             (out->expire == ExpireKind::kNone || out->expire == kind) && has_next;
    };
    auto take_expire = [&](ExpireKind kind) {
      out->expire = kind;
      out->expire_arg = argv[++j];
    };
    if (set_command && EqualsIgnoreCase(opt, "nx") && !out->xx) {
      out->nx = true;
    } else if (set_command && EqualsIgnoreCase(opt, "xx") && !out->nx) {
      out->xx = true;
    } else if (set_command && EqualsIgnoreCase(opt, "get")) {
      out->get = true;
    } else if (set_command && EqualsIgnoreCase(opt, "keepttl") && !out->persist &&
               out->expire == ExpireKind::kNone) {
      out->keep_ttl = true;
    } else if (!set_command && EqualsIgnoreCase(opt, "persist") &&
               out->expire == ExpireKind::kNone && !out->keep_ttl) {
      out->persist = true;
    } else if (EqualsIgnoreCase(opt, "ex") && expire_ok(ExpireKind::kEx)) {
      take_expire(ExpireKind::kEx);
    } else if (EqualsIgnoreCase(opt, "px") && expire_ok(ExpireKind::kPx)) {
      take_expire(ExpireKind::kPx);
    } else if (EqualsIgnoreCase(opt, "exat") && expire_ok(ExpireKind::kExAt)) {
      take_expire(ExpireKind::kExAt);
    } else if (EqualsIgnoreCase(opt, "pxat") && expire_ok(ExpireKind::kPxAt)) {
      take_expire(ExpireKind::kPxAt);
    } else {
      ReplySyntaxError(ctx);
      return false;
    }
  }
  return true;
}

// The absolute deadline for an expire argument: "ERR value is not an integer or out of
// range" if it does not parse, "ERR invalid expire time in '<command>' command" if it is
// not positive or overflows (Redis's getExpireMillisecondsOrReply).
Result<int64_t> Deadline(const store::Txn& txn, ExpireKind kind, std::string_view arg,
                         std::string_view command) {
  int64_t amount = 0;
  if (!strings::ParseInt64(arg, &amount)) return Status::NotInteger();
  switch (kind) {
    case ExpireKind::kEx:
      return strings::DeadlineFromRelative(txn, amount, 1000, command);
    case ExpireKind::kPx:
      return strings::DeadlineFromRelative(txn, amount, 1, command);
    case ExpireKind::kExAt:
      return strings::DeadlineFromAbsolute(amount, 1000, command);
    case ExpireKind::kPxAt:
      return strings::DeadlineFromAbsolute(amount, 1, command);
    case ExpireKind::kNone:
      break;
  }
  return Status::Syntax();
}

// --- GET family --------------------------------------------------------------------------

void Get(CommandContext& ctx) { ReplyValue(ctx, strings::Get(*ctx.txn, ctx.argv[1])); }

void GetDel(CommandContext& ctx) { ReplyValue(ctx, strings::GetDel(*ctx.txn, ctx.argv[1])); }

void GetEx(CommandContext& ctx) {
  StringArgs args;
  if (!ParseStringArgs(ctx, 2, /*set_command=*/false, &args)) return;
  strings::GetExOptions options;
  options.persist = args.persist;
  if (args.expire != ExpireKind::kNone) {
    auto deadline = Deadline(*ctx.txn, args.expire, args.expire_arg, "getex");
    if (!deadline.ok()) {
      // Redis looks the key up before it validates the time: nil or WRONGTYPE win.
      auto value = strings::Get(*ctx.txn, ctx.argv[1]);
      if (value.ok()) {
        CountLookup(ctx, true);
        ReplyStatusError(ctx, deadline.status());
      } else {
        ReplyValue(ctx, value);
      }
      return;
    }
    options.expire_at_ms = *deadline;
  }
  ReplyValue(ctx, strings::GetEx(*ctx.txn, ctx.argv[1], options));
}

void MGet(CommandContext& ctx) {
  std::vector<std::string> keys(ctx.argv.begin() + 1, ctx.argv.end());
  auto values = strings::MGet(*ctx.txn, keys);
  ctx.reply.ArrayHeader(static_cast<int64_t>(values.size()));
  for (const auto& v : values) {
    // A non-string reads as nil here; it is counted as a miss.
    CountLookup(ctx, v.has_value());
    if (v) {
      ctx.reply.Bulk(*v);
    } else {
      ctx.reply.Null();
    }
  }
}

// --- SET family --------------------------------------------------------------------------

void Set(CommandContext& ctx) {
  StringArgs args;
  if (!ParseStringArgs(ctx, 3, /*set_command=*/true, &args)) return;
  strings::SetOptions options;
  if (args.expire != ExpireKind::kNone) {
    auto deadline = Deadline(*ctx.txn, args.expire, args.expire_arg, "set");
    if (!deadline.ok()) return ReplyStatusError(ctx, deadline.status());
    options.expire_at_ms = *deadline;
  }
  if (args.nx) options.condition = strings::SetOptions::Condition::kNX;
  if (args.xx) options.condition = strings::SetOptions::Condition::kXX;
  options.keep_ttl = args.keep_ttl;
  options.get = args.get;
  auto r = strings::Set(*ctx.txn, ctx.argv[1], ctx.argv[2], options);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  if (args.get) {
    // With GET the reply is the old value whether or not NX/XX let the write happen.
    CountLookup(ctx, r->old_value.has_value());
    if (r->old_value) {
      ctx.reply.Bulk(*r->old_value);
    } else {
      ctx.reply.Null();
    }
    return;
  }
  if (r->written) {
    ctx.reply.Simple("OK");
  } else {
    ctx.reply.Null();
  }
}

// SETEX / PSETEX key amount value.
void SetWithTtl(CommandContext& ctx, ExpireKind kind, std::string_view command) {
  auto deadline = Deadline(*ctx.txn, kind, ctx.argv[2], command);
  if (!deadline.ok()) return ReplyStatusError(ctx, deadline.status());
  strings::SetOptions options;
  options.expire_at_ms = *deadline;
  auto r = strings::Set(*ctx.txn, ctx.argv[1], ctx.argv[3], options);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Simple("OK");
}

void SetEx(CommandContext& ctx) { SetWithTtl(ctx, ExpireKind::kEx, "setex"); }

void PSetEx(CommandContext& ctx) { SetWithTtl(ctx, ExpireKind::kPx, "psetex"); }

void SetNx(CommandContext& ctx) {
  strings::SetOptions options;
  options.condition = strings::SetOptions::Condition::kNX;
  auto r = strings::Set(*ctx.txn, ctx.argv[1], ctx.argv[2], options);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(r->written ? 1 : 0);
}

// GETSET: SET ... GET without options (the TTL is cleared).
void GetSet(CommandContext& ctx) {
  strings::SetOptions options;
  options.get = true;
  auto r = strings::Set(*ctx.txn, ctx.argv[1], ctx.argv[2], options);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  CountLookup(ctx, r->old_value.has_value());
  if (r->old_value) {
    ctx.reply.Bulk(*r->old_value);
  } else {
    ctx.reply.Null();
  }
}

// Collects MSET/MSETNX pairs; an odd pair count is an arity error, as in Redis.
bool CollectPairs(CommandContext& ctx, std::vector<std::pair<std::string, std::string>>* pairs) {
  if (ctx.argv.size() % 2 == 0) {
    ReplyArityError(ctx);
    return false;
  }
  pairs->reserve(ctx.argv.size() / 2);
  for (size_t i = 1; i + 1 < ctx.argv.size(); i += 2) {
    pairs->emplace_back(ctx.argv[i], ctx.argv[i + 1]);
  }
  return true;
}

void MSet(CommandContext& ctx) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!CollectPairs(ctx, &pairs)) return;
  strings::MSet(*ctx.txn, pairs);
  ctx.reply.Simple("OK");
}

void MSetNx(CommandContext& ctx) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!CollectPairs(ctx, &pairs)) return;
  ctx.reply.Integer(strings::MSetNX(*ctx.txn, pairs) ? 1 : 0);
}

// --- Counters ----------------------------------------------------------------------------

void ReplyIncr(CommandContext& ctx, int64_t delta) {
  auto r = strings::IncrBy(*ctx.txn, ctx.argv[1], delta);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void Incr(CommandContext& ctx) { ReplyIncr(ctx, 1); }

void Decr(CommandContext& ctx) { ReplyIncr(ctx, -1); }

void IncrBy(CommandContext& ctx) {
  int64_t delta = 0;
  if (!ArgInt64(ctx, ctx.argv[2], &delta)) return;
  ReplyIncr(ctx, delta);
}

void DecrBy(CommandContext& ctx) {
  int64_t delta = 0;
  if (!ArgInt64(ctx, ctx.argv[2], &delta)) return;
  // -LLONG_MIN does not exist.
  if (delta == std::numeric_limits<int64_t>::min()) {
    ctx.reply.Error("ERR decrement would overflow");
    return;
  }
  ReplyIncr(ctx, -delta);
}

void IncrByFloat(CommandContext& ctx) {
  auto r = strings::IncrByFloat(*ctx.txn, ctx.argv[1], ctx.argv[2]);
  if (!r.ok()) {
    // The store validates the increment first; Redis checks the key's type first.
    if (r.status().code() == Status::Code::kInvalidArgument) {
      auto typed = ctx.txn->GetTyped(ctx.argv[1], store::KeyType::kString);
      if (!typed.ok() && !typed.status().IsNotFound()) {
        return ReplyStatusError(ctx, typed.status());
      }
    }
    return ReplyStatusError(ctx, r.status());
  }
  ctx.reply.Bulk(*r);
}

// --- Byte-level operations ---------------------------------------------------------------

void Append(CommandContext& ctx) {
  auto r = strings::Append(*ctx.txn, ctx.argv[1], ctx.argv[2]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void StrLen(CommandContext& ctx) {
  auto r = strings::StrLen(*ctx.txn, ctx.argv[1]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

// GETRANGE / SUBSTR key start end: indexes are parsed before the key is looked up.
void GetRange(CommandContext& ctx) {
  int64_t start = 0, end = 0;
  if (!ArgInt64(ctx, ctx.argv[2], &start) || !ArgInt64(ctx, ctx.argv[3], &end)) return;
  auto r = strings::GetRange(*ctx.txn, ctx.argv[1], start, end);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Bulk(*r);
}

void SetRange(CommandContext& ctx) {
  int64_t offset = 0;
  if (!ArgInt64(ctx, ctx.argv[2], &offset)) return;
  auto r = strings::SetRange(*ctx.txn, ctx.argv[1], offset, ctx.argv[3]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

}  // namespace

void RegisterStringCommands() {
  constexpr uint32_t kR = kReadOnly | kTxn;
  constexpr uint32_t kW = kWrite | kTxn;
  RegisterCommands({
      {"get", 2, kR | kFast, 1, 1, 1, &Get, "string", "Returns the string value of a key.",
       "1.0.0"},
      {"set", -3, kW, 1, 1, 1, &Set, "string",
       "Sets the string value of a key, ignoring its type. The key is created if it doesn't "
       "exist.",
       "1.0.0"},
      {"setex", 4, kW, 1, 1, 1, &SetEx, "string",
       "Sets the string value and expiration time of a key. Creates the key if it doesn't "
       "exist.",
       "2.0.0"},
      {"psetex", 4, kW, 1, 1, 1, &PSetEx, "string",
       "Sets both string value and expiration time in milliseconds of a key. The key is "
       "created if it doesn't exist.",
       "2.6.0"},
      {"setnx", 3, kW | kFast, 1, 1, 1, &SetNx, "string",
       "Set the string value of a key only when the key doesn't exist.", "1.0.0"},
      {"getset", 3, kW | kFast, 1, 1, 1, &GetSet, "string",
       "Returns the previous string value of a key after setting it to a new value.", "1.0.0"},
      {"getdel", 2, kW | kFast, 1, 1, 1, &GetDel, "string",
       "Returns the string value of a key after deleting the key.", "6.2.0"},
      {"getex", -2, kW | kFast, 1, 1, 1, &GetEx, "string",
       "Returns the string value of a key after setting its expiration time.", "6.2.0"},
      {"mget", -2, kR | kFast, 1, -1, 1, &MGet, "string",
       "Atomically returns the string values of one or more keys.", "1.0.0"},
      {"mset", -3, kW, 1, -1, 2, &MSet, "string",
       "Atomically creates or modifies the string values of one or more keys.", "1.0.1"},
      {"msetnx", -3, kW, 1, -1, 2, &MSetNx, "string",
       "Atomically modifies the string values of one or more keys only when all keys don't "
       "exist.",
       "1.0.1"},
      {"incr", 2, kW | kFast, 1, 1, 1, &Incr, "string",
       "Increments the integer value of a key by one. Uses 0 as initial value if the key "
       "doesn't exist.",
       "1.0.0"},
      {"incrby", 3, kW | kFast, 1, 1, 1, &IncrBy, "string",
       "Increments the integer value of a key by a number. Uses 0 as initial value if the key "
       "doesn't exist.",
       "1.0.0"},
      {"decr", 2, kW | kFast, 1, 1, 1, &Decr, "string",
       "Decrements the integer value of a key by one. Uses 0 as initial value if the key "
       "doesn't exist.",
       "1.0.0"},
      {"decrby", 3, kW | kFast, 1, 1, 1, &DecrBy, "string",
       "Decrements a number from the integer value of a key. Uses 0 as initial value if the "
       "key doesn't exist.",
       "1.0.0"},
      {"incrbyfloat", 3, kW | kFast, 1, 1, 1, &IncrByFloat, "string",
       "Increment the floating point value of a key by a number. Uses 0 as initial value if "
       "the key doesn't exist.",
       "2.6.0"},
      {"append", 3, kW | kFast, 1, 1, 1, &Append, "string",
       "Appends a string to the value of a key. Creates the key if it doesn't exist.", "2.0.0"},
      {"strlen", 2, kR | kFast, 1, 1, 1, &StrLen, "string", "Returns the length of a string value.",
       "2.2.0"},
      {"getrange", 4, kR, 1, 1, 1, &GetRange, "string",
       "Returns a substring of the string stored at a key.", "2.4.0"},
      {"substr", 4, kR, 1, 1, 1, &GetRange, "string", "Returns a substring from a string value.",
       "1.0.0"},
      {"setrange", 4, kW, 1, 1, 1, &SetRange, "string",
       "Overwrites a part of a string value with another by an offset. Creates the key if it "
       "doesn't exist.",
       "2.2.0"},
  });
}

}  // namespace redge::resp
