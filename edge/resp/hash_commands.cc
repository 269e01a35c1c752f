// Hash commands: HSET HSETNX HMSET HGET HMGET HDEL HLEN HSTRLEN HEXISTS HKEYS HVALS HGETALL
// HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN.
//
// store/hashes.h implements the semantics; this file parses arguments in the order Redis
// 7.0's t_hash.c does (so the same bad input gets the same error first) and writes the
// replies with 7.0's types: HGETALL a map in RESP3, HRANDFIELD ... WITHVALUES nested
// [field, value] pairs in RESP3 and a flat array in RESP2, HSCAN a flat array in both.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/numbers.h"
#include "edge/resp/args.h"
#include "edge/resp/command.h"
#include "store/hashes.h"

namespace redge::resp {
namespace {

namespace hashes = store::hashes;

constexpr int64_t kLongMax = std::numeric_limits<int64_t>::max();

// argv[first..] as views (the handler's argv outlives the store call).
std::vector<std::string_view> Views(const std::vector<std::string>& argv, size_t first) {
  return std::vector<std::string_view>(argv.begin() + static_cast<std::ptrdiff_t>(first),
                                       argv.end());
}

// HSET/HMSET key field value [field value ...]: HSET replies the number of new fields,
// HMSET +OK.
void HSetGeneric(CommandContext& ctx, bool reply_ok) {
  const auto& argv = ctx.argv;
  if (argv.size() % 2 == 1) return ReplyArityError(ctx);
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  pairs.reserve((argv.size() - 2) / 2);
  for (size_t i = 2; i + 1 < argv.size(); i += 2) pairs.emplace_back(argv[i], argv[i + 1]);
  auto r = hashes::Set(*ctx.txn, argv[1], pairs);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  if (reply_ok) {
    ctx.reply.Simple("OK");
  } else {
    ctx.reply.Integer(*r);
  }
}

void HSet(CommandContext& ctx) { HSetGeneric(ctx, false); }
void HMSet(CommandContext& ctx) { HSetGeneric(ctx, true); }

void HSetNX(CommandContext& ctx) {
  auto r = hashes::SetNX(*ctx.txn, ctx.argv[1], ctx.argv[2], ctx.argv[3]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r ? 1 : 0);
}

void HGet(CommandContext& ctx) {
  ReplyBulkOrNull(ctx, hashes::Get(*ctx.txn, ctx.argv[1], ctx.argv[2]));
}

void HMGet(CommandContext& ctx) {
  auto r = hashes::MGet(*ctx.txn, ctx.argv[1], Views(ctx.argv, 2));
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.ArrayHeader(static_cast<int64_t>(r->size()));
  for (const auto& v : *r) {
    if (v) {
      ctx.reply.Bulk(*v);
    } else {
      ctx.reply.Null();
    }
  }
}

void HDel(CommandContext& ctx) {
  auto r = hashes::Del(*ctx.txn, ctx.argv[1], Views(ctx.argv, 2));
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void HLen(CommandContext& ctx) {
  auto r = hashes::Len(*ctx.txn, ctx.argv[1]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void HStrLen(CommandContext& ctx) {
  auto r = hashes::StrLen(*ctx.txn, ctx.argv[1], ctx.argv[2]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void HExists(CommandContext& ctx) {
  auto r = hashes::Exists(*ctx.txn, ctx.argv[1], ctx.argv[2]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r ? 1 : 0);
}

// HKEYS, HVALS: arrays; HGETALL: a map (RESP3) / flat array (RESP2).
enum class Part { kKeys, kValues, kBoth };
void HGetAllGeneric(CommandContext& ctx, Part part) {
  auto r = hashes::GetAll(*ctx.txn, ctx.argv[1]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  auto n = static_cast<int64_t>(r->size());
  if (part == Part::kBoth) {
    ctx.reply.MapHeader(n);
  } else {
    ctx.reply.ArrayHeader(n);
  }
  for (const auto& [field, value] : *r) {
    if (part != Part::kValues) ctx.reply.Bulk(field);
    if (part != Part::kKeys) ctx.reply.Bulk(value);
  }
}

void HKeys(CommandContext& ctx) { HGetAllGeneric(ctx, Part::kKeys); }
void HVals(CommandContext& ctx) { HGetAllGeneric(ctx, Part::kValues); }
void HGetAll(CommandContext& ctx) { HGetAllGeneric(ctx, Part::kBoth); }

// HINCRBY key field increment: the increment is parsed before the key is looked up.
void HIncrBy(CommandContext& ctx) {
  ArgReader args(ctx, 3);
  int64_t incr = 0;
  if (!args.Int64(&incr)) return;
  auto r = hashes::IncrBy(*ctx.txn, ctx.argv[1], ctx.argv[2], incr);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

// HINCRBYFLOAT key field increment: a long double (Redis's string2ld); a non-finite
// increment is refused before the key is looked up.
void HIncrByFloat(CommandContext& ctx) {
  long double incr = 0;
  if (!base::ParseLongDouble(ctx.argv[3], &incr)) {
    ctx.reply.Error("ERR value is not a valid float");
    return;
  }
  auto r = hashes::IncrByFloat(*ctx.txn, ctx.argv[1], ctx.argv[2], incr);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Bulk(*r);
}

// HRANDFIELD key [count [WITHVALUES]]: the count is validated (range, then the syntax of
// the rest, then WITHVALUES's overflow bound) before the key is looked up.
void HRandField(CommandContext& ctx) {
  const auto& argv = ctx.argv;
  if (argv.size() == 2) {
    auto r = hashes::RandomField(*ctx.txn, argv[1]);
    if (!r.ok()) {
      if (r.status().IsNotFound()) return ctx.reply.Null();
      return ReplyStatusError(ctx, r.status());
    }
    ctx.reply.Bulk(r->first);
    return;
  }
  ArgReader args(ctx, 2);
  int64_t count = 0;
  if (!args.Int64InRange(-kLongMax, kLongMax, nullptr, &count)) return;
  bool with_values = false;
  if (argv.size() > 4 || (argv.size() == 4 && !args.Match("WITHVALUES"))) {
    return ReplySyntaxError(ctx);
  }
  if (argv.size() == 4) {
    with_values = true;
    if (count < -kLongMax / 2 || count > kLongMax / 2) {
      ctx.reply.Error("ERR value is out of range");
      return;
    }
  }
  auto r = hashes::RandomFieldsWithCount(*ctx.txn, argv[1], count);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  auto n = static_cast<int64_t>(r->order.size());
  bool nested = with_values && ctx.reply.protocol() > 2;
  ctx.reply.ArrayHeader(with_values && !nested ? 2 * n : n);
  for (uint32_t i : r->order) {
    const auto& [field, value] = r->fields[i];
    if (nested) ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(field);
    if (with_values) ctx.reply.Bulk(value);
  }
}

// Writes a SCAN-family page: [cursor, [items...]] (flat pairs when `with_values`).
void ReplyScanPage(CommandContext& ctx, const store::ElementScanPage& page, bool with_values) {
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(page.next_cursor));
  auto n = static_cast<int64_t>(page.items.size());
  ctx.reply.ArrayHeader(with_values ? 2 * n : n);
  for (const auto& [name, value] : page.items) {
    ctx.reply.Bulk(name);
    if (with_values) ctx.reply.Bulk(value);
  }
}

// HSCAN key cursor [MATCH pattern] [COUNT count]: the cursor is parsed first, then the key
// is looked up (an absent key answers an empty page whatever the options), then the
// options.
void HScan(CommandContext& ctx) {
  ArgReader args(ctx, 2);
  uint64_t cursor = 0;
  if (!args.ScanCursor(&cursor)) return;
  auto meta = ctx.txn->GetTyped(ctx.argv[1], store::KeyType::kHash);
  if (!meta.ok()) {
    if (!meta.status().IsNotFound()) return ReplyStatusError(ctx, meta.status());
    return ReplyScanPage(ctx, store::ElementScanPage(), true);
  }
  std::string pattern;
  uint64_t count = 0;
  if (!ReadElementScanOptions(args, &pattern, &count)) return;
  auto page = hashes::Scan(*ctx.txn, ctx.argv[1], cursor, pattern, count);
  if (!page.ok()) return ReplyStatusError(ctx, page.status());
  ReplyScanPage(ctx, *page, true);
}

}  // namespace

void RegisterHashCommands() {
  constexpr uint32_t kR = kReadOnly | kTxn;
  constexpr uint32_t kW = kWrite | kTxn;
  RegisterCommands({
      {"hset", -4, kW | kDenyOom | kFast, 1, 1, 1, &HSet, "hash",
       "Set the string value of a hash field", "2.0.0"},
      {"hsetnx", 4, kW | kDenyOom | kFast, 1, 1, 1, &HSetNX, "hash",
       "Set the value of a hash field, only if the field does not exist", "2.0.0"},
      {"hmset", -4, kW | kDenyOom | kFast, 1, 1, 1, &HMSet, "hash",
       "Set multiple hash fields to multiple values", "2.0.0"},
      {"hget", 3, kR | kFast, 1, 1, 1, &HGet, "hash", "Get the value of a hash field", "2.0.0"},
      {"hmget", -3, kR | kFast, 1, 1, 1, &HMGet, "hash",
       "Get the values of all the given hash fields", "2.0.0"},
      {"hdel", -3, kW | kFast, 1, 1, 1, &HDel, "hash", "Delete one or more hash fields", "2.0.0"},
      {"hlen", 2, kR | kFast, 1, 1, 1, &HLen, "hash", "Get the number of fields in a hash",
       "2.0.0"},
      {"hstrlen", 3, kR | kFast, 1, 1, 1, &HStrLen, "hash",
       "Get the length of the value of a hash field", "3.2.0"},
      {"hexists", 3, kR | kFast, 1, 1, 1, &HExists, "hash", "Determine if a hash field exists",
       "2.0.0"},
      {"hkeys", 2, kR, 1, 1, 1, &HKeys, "hash", "Get all the fields in a hash", "2.0.0"},
      {"hvals", 2, kR, 1, 1, 1, &HVals, "hash", "Get all the values in a hash", "2.0.0"},
      {"hgetall", 2, kR, 1, 1, 1, &HGetAll, "hash", "Get all the fields and values in a hash",
       "2.0.0"},
      {"hincrby", 4, kW | kDenyOom | kFast, 1, 1, 1, &HIncrBy, "hash",
       "Increment the integer value of a hash field by the given number", "2.0.0"},
      {"hincrbyfloat", 4, kW | kDenyOom | kFast, 1, 1, 1, &HIncrByFloat, "hash",
       "Increment the float value of a hash field by the given amount", "2.6.0"},
      {"hrandfield", -2, kR, 1, 1, 1, &HRandField, "hash",
       "Get one or multiple random fields from a hash", "6.2.0"},
      {"hscan", -3, kR, 1, 1, 1, &HScan, "hash",
       "Incrementally iterate hash fields and associated values", "2.8.0"},
  });
}

}  // namespace redge::resp
