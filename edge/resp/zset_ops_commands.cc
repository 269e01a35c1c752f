// Sorted-set commands, part 2: ZPOPMIN, ZPOPMAX, ZMPOP, the blocking BZPOPMIN, BZPOPMAX,
// BZMPOP, ZRANDMEMBER, ZSCAN, and ZUNION/ZINTER/ZDIFF with their STORE forms and
// ZINTERCARD. Part 1 is zset_commands.cc.
//
// Blocking pops run without a store transaction. Outside MULTI they validate their
// arguments and park the client on the store's waiters (Connection::Block with a serve
// function popping the sorted set), which serves them at once when a set is there and
// otherwise in the write that adds one: FIFO per key, woken, never polled. Inside EXEC
// they cannot block: like Redis they act as the non-blocking form and give the timeout
// reply (a nil array) when nothing is there.
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/numbers.h"
#include "edge/resp/args.h"
#include "edge/resp/command.h"
#include "edge/resp/connection.h"
#include "edge/resp/zset_replies.h"
#include "store/store.h"
#include "store/zsets.h"

namespace redge::resp {
namespace {

namespace zsets = store::zsets;
using store::Status;

constexpr int64_t kLongMax = std::numeric_limits<int64_t>::max();
// ZRANDMEMBER key -N builds its whole reply at once; beyond this many repetitions the
// reply would take gigabytes (Redis would try), so it is refused instead.
constexpr int64_t kMaxRandomRepeats = 10'000'000;

// --- Pops ---------------------------------------------------------------------------------

// [member, score, ...] flat, or [[member, score], ...] nested.
void WritePopped(ReplyWriter& w, const std::vector<zsets::Entry>& entries, bool nested) {
  const auto n = static_cast<int64_t>(entries.size());
  w.ArrayHeader(nested ? n : n * 2);
  for (const auto& e : entries) {
    if (nested) w.ArrayHeader(2);
    w.Bulk(e.member);
    w.Double(e.score);
  }
}

// ZPOPMIN/ZPOPMAX key [count]: flat without a count; with one, nested in RESP3.
void PopGeneric(CommandContext& ctx, bool max) {
  if (ctx.argv.size() > 3) return ReplySyntaxError(ctx);
  int64_t count = -1;  // no count given
  if (ctx.argv.size() == 3) {
    ArgReader args(ctx, 2);
    if (!args.Int64InRange(0, kLongMax, "value is out of range, must be positive", &count)) {
      return;
    }
  }
  auto r = zsets::Pop(*ctx.txn, ctx.argv[1], max, count == -1 ? 1 : count);
  if (!r.ok()) {
    if (!r.status().IsNotFound()) return ReplyStatusError(ctx, r.status());
    return ctx.reply.ArrayHeader(0);
  }
  WritePopped(ctx.reply, *r, ctx.reply.protocol() > 2 && count != -1);
}

void ZPopMin(CommandContext& ctx) { PopGeneric(ctx, false); }
void ZPopMax(CommandContext& ctx) { PopGeneric(ctx, true); }

// Served blocking pops carry [member, score bits, ...] in PopResult::values.
std::string ScoreBits(double score) {
  uint64_t bits = std::bit_cast<uint64_t>(score);
  return std::string(reinterpret_cast<const char*>(&bits), sizeof(bits));
}

std::vector<zsets::Entry> DecodePopped(const store::PopResult& r) {
  std::vector<zsets::Entry> out;
  for (size_t i = 0; i + 1 < r.values.size(); i += 2) {
    uint64_t bits = 0;
    if (r.values[i + 1].size() == sizeof(bits)) memcpy(&bits, r.values[i + 1].data(), sizeof(bits));
    out.push_back(zsets::Entry{r.values[i], std::bit_cast<double>(bits)});
  }
  return out;
}

// BZPOPMIN/BZPOPMAX: [key, member, score], flat in both protocols.
void WriteKeyMemberScore(ReplyWriter& w, const store::PopResult& r) {
  auto entries = DecodePopped(r);
  w.ArrayHeader(static_cast<int64_t>(entries.size()) * 2 + 1);
  w.Bulk(r.key);
  for (const auto& e : entries) {
    w.Bulk(e.member);
    w.Double(e.score);
  }
}

// ZMPOP/BZMPOP: [key, [[member, score], ...]].
void WriteKeyAndPairs(ReplyWriter& w, const store::PopResult& r) {
  w.ArrayHeader(2);
  w.Bulk(r.key);
  WritePopped(w, DecodePopped(r), /*nested=*/true);
}

store::PopResult ToPopResult(zsets::MPopResult&& popped) {
  store::PopResult r{std::move(popped.key), {}};
  for (auto& e : popped.entries) {
    r.values.push_back(std::move(e.member));
    r.values.push_back(ScoreBits(e.score));
  }
  return r;
}

// The serve function of a blocked pop. At request time (its first call per key) a key of
// another type is an error, as in Redis; once blocked, a key that is not a sorted set
// when it is signalled just keeps the client waiting (Redis serves sorted sets only).
store::ServeFn ZPopServe(bool max, int64_t count, size_t nkeys) {
  auto calls = std::make_shared<size_t>(0);
  return [max, count, nkeys, calls](
             store::Txn& txn,
             const std::string& key) -> std::optional<store::Result<store::PopResult>> {
    const bool at_request = (*calls)++ < nkeys;
    auto meta = txn.GetMeta(key);
    if (!meta.ok()) {
      if (meta.status().IsNotFound()) return std::nullopt;
      return store::Result<store::PopResult>(meta.status());
    }
    if (meta->type != store::KeyType::kZSet) {
      if (at_request) return store::Result<store::PopResult>(Status::WrongType());
      return std::nullopt;
    }
    auto popped = zsets::Pop(txn, key, max, count);
    if (!popped.ok()) {
      if (popped.status().IsNotFound()) return std::nullopt;
      return store::Result<store::PopResult>(popped.status());
    }
    return store::Result<store::PopResult>(ToPopResult(zsets::MPopResult{key, std::move(*popped)}));
  };
}

// Pops (count per key) from the first existing key, or blocks; `format` writes the
// served reply.
void BlockingPop(CommandContext& ctx, std::vector<std::string> keys, bool max, int64_t count,
                 int64_t timeout_ms, void (*format)(ReplyWriter&, const store::PopResult&)) {
  if (ctx.in_exec) {
    auto r = zsets::MPop(*ctx.txn, keys, max, count);
    if (r.ok()) return format(ctx.reply, ToPopResult(std::move(*r)));
    if (!r.status().IsNotFound()) return ReplyStatusError(ctx, r.status());
    return ctx.reply.NullArray();
  }
  store::BlockRequest request;
  request.db = ctx.conn.db();
  request.serve = ZPopServe(max, count, keys.size());
  request.keys = std::move(keys);
  ctx.conn.Block(std::move(request), timeout_ms, format, /*timeout_null_array=*/true);
}

// BZPOPMIN/BZPOPMAX key ... timeout: the timeout is checked first.
void BZPopGeneric(CommandContext& ctx, bool max) {
  int64_t timeout_ms = 0;
  if (!ArgTimeout(ctx, ctx.argv.back(), &timeout_ms)) return;
  std::vector<std::string> keys(ctx.argv.begin() + 1, ctx.argv.end() - 1);
  BlockingPop(ctx, std::move(keys), max, 1, timeout_ms, &WriteKeyMemberScore);
}

void BZPopMin(CommandContext& ctx) { BZPopGeneric(ctx, false); }
void BZPopMax(CommandContext& ctx) { BZPopGeneric(ctx, true); }

struct MPopArgs {
  std::vector<std::string> keys;
  bool max = false;
  int64_t count = 1;
};

// numkeys key ... MIN|MAX [COUNT count], numkeys at argv[numkeys_at] (zmpopGenericCommand).
bool ParseMPop(CommandContext& ctx, size_t numkeys_at, MPopArgs* out) {
  const auto& argv = ctx.argv;
  ArgReader args(ctx, numkeys_at);
  int64_t numkeys = 0;
  if (!args.Int64InRange(1, kLongMax, "numkeys should be greater than 0", &numkeys)) return false;
  if (static_cast<uint64_t>(numkeys) >= argv.size() - numkeys_at - 1) {
    ReplySyntaxError(ctx);
    return false;
  }
  const size_t where_at = numkeys_at + static_cast<size_t>(numkeys) + 1;
  if (EqualsIgnoreCase(argv[where_at], "min")) {
    out->max = false;
  } else if (EqualsIgnoreCase(argv[where_at], "max")) {
    out->max = true;
  } else {
    ReplySyntaxError(ctx);
    return false;
  }
  ArgReader opts(ctx, where_at + 1);
  bool has_count = false;
  while (!opts.done()) {
    if (!has_count && opts.remaining() >= 2 && opts.Match("count")) {
      if (!opts.Int64InRange(1, kLongMax, "count should be greater than 0", &out->count)) {
        return false;
      }
      has_count = true;
    } else {
      opts.SyntaxError();
      return false;
    }
  }
  out->keys.assign(argv.begin() + static_cast<std::ptrdiff_t>(numkeys_at + 1),
                   argv.begin() + static_cast<std::ptrdiff_t>(where_at));
  return true;
}

void ZMPop(CommandContext& ctx) {
  MPopArgs args;
  if (!ParseMPop(ctx, 1, &args)) return;
  auto r = zsets::MPop(*ctx.txn, args.keys, args.max, args.count);
  if (r.ok()) return WriteKeyAndPairs(ctx.reply, ToPopResult(std::move(*r)));
  if (!r.status().IsNotFound()) return ReplyStatusError(ctx, r.status());
  ctx.reply.NullArray();
}

// BZMPOP timeout numkeys key ... MIN|MAX [COUNT count]: the timeout is checked last.
void BZMPop(CommandContext& ctx) {
  MPopArgs args;
  if (!ParseMPop(ctx, 2, &args)) return;
  int64_t timeout_ms = 0;
  if (!ArgTimeout(ctx, ctx.argv[1], &timeout_ms)) return;
  BlockingPop(ctx, std::move(args.keys), args.max, args.count, timeout_ms, &WriteKeyAndPairs);
}

// --- ZRANDMEMBER / ZSCAN -------------------------------------------------------------------

// ZRANDMEMBER key [count [WITHSCORES]].
void ZRandMember(CommandContext& ctx) {
  const auto& argv = ctx.argv;
  if (argv.size() >= 3) {
    ArgReader args(ctx, 2);
    int64_t count = 0;
    if (!args.Int64InRange(-kLongMax, kLongMax, nullptr, &count)) return;
    bool withscores = false;
    if (argv.size() > 4 || (argv.size() == 4 && !EqualsIgnoreCase(argv[3], "withscores"))) {
      return ReplySyntaxError(ctx);
    }
    if (argv.size() == 4) {
      withscores = true;
      if (count < -kLongMax / 2 || count > kLongMax / 2) {
        return ctx.reply.Error("ERR value is out of range");
      }
    }
    if (count < -kMaxRandomRepeats) {
      return ctx.reply.Error("ERR value is out of range, at most " +
                             std::to_string(kMaxRandomRepeats) +
                             " members with repetitions (a negative count) per call");
    }
    auto r = zsets::RandomMembers(*ctx.txn, argv[1], count);
    if (!r.ok()) return ReplyStatusError(ctx, r.status());
    return WriteEntries(ctx.reply, *r, withscores);
  }
  auto r = zsets::RandomMember(*ctx.txn, argv[1]);
  if (r.ok()) return ctx.reply.Bulk(r->member);
  if (!r.status().IsNotFound()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Null();
}

// Redis's parseScanCursorOrReply: strtoul over the whole argument, no leading space.
bool ParseCursor(const std::string& s, uint64_t* out) {
  if (!s.empty() && isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = strtoull(s.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE) return false;
  *out = v;
  return true;
}

// ZSCAN key cursor [MATCH pattern] [COUNT count]: Redis checks the cursor, then the key
// (an absent key answers before the options are read), then the options.
void ZScan(CommandContext& ctx) {
  const auto& argv = ctx.argv;
  uint64_t cursor = 0;
  if (!ParseCursor(argv[2], &cursor)) return ctx.reply.Error("ERR invalid cursor");
  auto meta = ctx.txn->GetTyped(argv[1], store::KeyType::kZSet);
  if (!meta.ok()) {
    if (!meta.status().IsNotFound()) return ReplyStatusError(ctx, meta.status());
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk("0");
    return ctx.reply.ArrayHeader(0);
  }
  int64_t count = 10;
  std::string pattern;
  for (size_t i = 3; i < argv.size(); i += 2) {
    const bool has_value = i + 1 < argv.size();
    if (EqualsIgnoreCase(argv[i], "count") && has_value) {
      if (!ArgInt64(ctx, argv[i + 1], &count)) return;
      if (count < 1) return ReplySyntaxError(ctx);
    } else if (EqualsIgnoreCase(argv[i], "match") && has_value) {
      pattern = argv[i + 1];
    } else {
      return ReplySyntaxError(ctx);
    }
  }
  auto page = zsets::Scan(*ctx.txn, argv[1], cursor, pattern, count);
  if (!page.ok()) return ReplyStatusError(ctx, page.status());
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(page->cursor));
  ctx.reply.ArrayHeader(static_cast<int64_t>(page->items.size()) * 2);
  for (const auto& [member, score] : page->items) {
    ctx.reply.Bulk(member);
    ctx.reply.Bulk(score);
  }
}

// --- ZUNION / ZINTER / ZDIFF -----------------------------------------------------------

// Redis's zunionInterDiffGenericCommand: numkeys, then every input's type, then the
// options. `dst` is the destination of the STORE forms (nullptr otherwise).
void SetOpGeneric(CommandContext& ctx, const std::string* dst, size_t numkeys_at, zsets::SetOp op,
                  bool cardinality_only) {
  const auto& argv = ctx.argv;
  int64_t numkeys = 0;
  if (!ArgInt64(ctx, argv[numkeys_at], &numkeys)) return;
  if (numkeys < 1) {
    return ctx.reply.Error("ERR at least 1 input key is needed for '" + ToLower(argv[0]) +
                           "' command");
  }
  if (static_cast<uint64_t>(numkeys) > argv.size() - numkeys_at - 1) {
    return ReplySyntaxError(ctx);
  }
  const size_t first = numkeys_at + 1;
  const size_t n = static_cast<size_t>(numkeys);
  std::vector<std::string> keys(argv.begin() + static_cast<std::ptrdiff_t>(first),
                                argv.begin() + static_cast<std::ptrdiff_t>(first + n));
  Status checked = zsets::CheckSetOpInputs(*ctx.txn, keys);
  if (!checked.ok()) return ReplyStatusError(ctx, checked);

  std::vector<double> weights;
  zsets::Aggregate aggregate = zsets::Aggregate::kSum;
  bool withscores = false;
  int64_t limit = 0;
  const bool weighted = op != zsets::SetOp::kDiff && !cardinality_only;
  ArgReader args(ctx, first + n);
  while (!args.done()) {
    if (weighted && args.remaining() >= n + 1 && args.Match("weights")) {
      weights.resize(n);
      for (double& w : weights) {
        std::string_view arg;
        args.Next(&arg);
        if (!base::ParseDouble(arg, &w)) return ctx.reply.Error("ERR weight value is not a float");
      }
    } else if (weighted && args.remaining() >= 2 && args.Match("aggregate")) {
      if (args.Match("sum")) {
        aggregate = zsets::Aggregate::kSum;
      } else if (args.Match("min")) {
        aggregate = zsets::Aggregate::kMin;
      } else if (args.Match("max")) {
        aggregate = zsets::Aggregate::kMax;
      } else {
        return ReplySyntaxError(ctx);
      }
    } else if (dst == nullptr && !cardinality_only && args.Match("withscores")) {
      withscores = true;
    } else if (cardinality_only && args.remaining() >= 2 && args.Match("limit")) {
      if (!args.Int64InRange(0, kLongMax, "LIMIT can't be negative", &limit)) return;
    } else {
      return ReplySyntaxError(ctx);
    }
  }

  if (cardinality_only) {
    auto r = zsets::InterCard(*ctx.txn, keys, limit);
    if (!r.ok()) return ReplyStatusError(ctx, r.status());
    return ctx.reply.Integer(*r);
  }
  auto r = zsets::Combine(*ctx.txn, op, keys, weights, aggregate);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  if (dst != nullptr) {
    const char* event = op == zsets::SetOp::kUnion
                            ? "zunionstore"
                            : (op == zsets::SetOp::kInter ? "zinterstore" : "zdiffstore");
    auto stored = zsets::StoreEntries(*ctx.txn, *dst, *r, event);
    if (!stored.ok()) return ReplyStatusError(ctx, stored.status());
    return ctx.reply.Integer(*stored);
  }
  WriteEntries(ctx.reply, *r, withscores);
}

void ZUnion(CommandContext& ctx) { SetOpGeneric(ctx, nullptr, 1, zsets::SetOp::kUnion, false); }
void ZInter(CommandContext& ctx) { SetOpGeneric(ctx, nullptr, 1, zsets::SetOp::kInter, false); }
void ZDiff(CommandContext& ctx) { SetOpGeneric(ctx, nullptr, 1, zsets::SetOp::kDiff, false); }
void ZInterCard(CommandContext& ctx) { SetOpGeneric(ctx, nullptr, 1, zsets::SetOp::kInter, true); }
void ZUnionStore(CommandContext& ctx) {
  SetOpGeneric(ctx, &ctx.argv[1], 2, zsets::SetOp::kUnion, false);
}
void ZInterStore(CommandContext& ctx) {
  SetOpGeneric(ctx, &ctx.argv[1], 2, zsets::SetOp::kInter, false);
}
void ZDiffStore(CommandContext& ctx) {
  SetOpGeneric(ctx, &ctx.argv[1], 2, zsets::SetOp::kDiff, false);
}

}  // namespace

void RegisterZSetOpsCommands() {
  constexpr uint32_t kR = kReadOnly | kTxn;
  constexpr uint32_t kW = kWrite | kTxn;
  constexpr uint32_t kB = kWrite | kBlocking;  // no kTxn: see the file comment
  // Redis 7.0's COMMAND INFO; commands with movable keys report 0 0 0 (ZUNIONSTORE and
  // friends report their destination, 1 1 1).
  RegisterCommands({
      {"zpopmin", -2, kW | kFast, 1, 1, 1, &ZPopMin, "sorted-set",
       "Remove and return members with the lowest scores in a sorted set", "5.0.0"},
      {"zpopmax", -2, kW | kFast, 1, 1, 1, &ZPopMax, "sorted-set",
       "Remove and return members with the highest scores in a sorted set", "5.0.0"},
      {"zmpop", -4, kW, 0, 0, 0, &ZMPop, "sorted-set",
       "Remove and return members with scores in a sorted set", "7.0.0"},
      {"bzpopmin", -3, kB | kNoScript | kFast, 1, -2, 1, &BZPopMin, "sorted-set",
       "Remove and return the member with the lowest score from one or more sorted sets, or "
       "block until one is available",
       "5.0.0"},
      {"bzpopmax", -3, kB | kNoScript | kFast, 1, -2, 1, &BZPopMax, "sorted-set",
       "Remove and return the member with the highest score from one or more sorted sets, or "
       "block until one is available",
       "5.0.0"},
      {"bzmpop", -5, kB, 0, 0, 0, &BZMPop, "sorted-set",
       "Remove and return members with scores in a sorted set or block until one is available",
       "7.0.0"},
      {"zrandmember", -2, kR, 1, 1, 1, &ZRandMember, "sorted-set",
       "Get one or multiple random elements from a sorted set", "6.2.0"},
      {"zscan", -3, kR, 1, 1, 1, &ZScan, "sorted-set",
       "Incrementally iterate sorted sets elements and associated scores", "2.8.0"},
      {"zunion", -3, kR, 0, 0, 0, &ZUnion, "sorted-set", "Add multiple sorted sets", "6.2.0"},
      {"zinter", -3, kR, 0, 0, 0, &ZInter, "sorted-set", "Intersect multiple sorted sets", "6.2.0"},
      {"zdiff", -3, kR, 0, 0, 0, &ZDiff, "sorted-set", "Subtract multiple sorted sets", "6.2.0"},
      {"zintercard", -3, kR, 0, 0, 0, &ZInterCard, "sorted-set",
       "Intersect multiple sorted sets and return the cardinality of the result", "7.0.0"},
      {"zunionstore", -4, kW, 1, 1, 1, &ZUnionStore, "sorted-set",
       "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0"},
      {"zinterstore", -4, kW, 1, 1, 1, &ZInterStore, "sorted-set",
       "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0"},
      {"zdiffstore", -4, kW, 1, 1, 1, &ZDiffStore, "sorted-set",
       "Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0"},
  });
}

}  // namespace redge::resp
