// Sorted-set commands, part 1: ZADD, ZINCRBY, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK,
// ZREM, ZCOUNT, ZLEXCOUNT, ZREMRANGEBYRANK/SCORE/LEX, and the ZRANGE family (ZRANGE,
// ZRANGESTORE, ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX).
// Part 2 (pops, blocking pops, ZRANDMEMBER, ZSCAN, ZUNION/ZINTER/ZDIFF) is
// zset_ops_commands.cc.
//
// store/zsets.h has the semantics; this file parses arguments in the order Redis 7.0's
// t_zset.c does (so the same bad input gets the same error first) and writes Redis's reply
// shapes for RESP2 and RESP3.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/numbers.h"
#include "edge/resp/args.h"
#include "edge/resp/command.h"
#include "edge/resp/zset_replies.h"
#include "store/zsets.h"

namespace redge::resp {
namespace {

namespace zsets = store::zsets;

constexpr const char* kNotFloatRange = "ERR min or max is not a float";
constexpr const char* kNotLexRange = "ERR min or max not valid string range item";

// --- ZADD / ZINCRBY --------------------------------------------------------------------

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ..., and ZINCRBY (INCR implied). Redis
// reads options until the first other word, then checks the pair count, the option
// combinations, every score, and only then the key.
void AddGeneric(CommandContext& ctx, bool incr) {
  ArgReader args(ctx, 2);
  zsets::AddFlags flags;
  flags.incr = incr;
  bool ch = false;
  while (!args.done()) {
    if (args.Match("nx")) {
      flags.nx = true;
    } else if (args.Match("xx")) {
      flags.xx = true;
    } else if (args.Match("ch")) {
      ch = true;
    } else if (args.Match("incr")) {
      flags.incr = true;
    } else if (args.Match("gt")) {
      flags.gt = true;
    } else if (args.Match("lt")) {
      flags.lt = true;
    } else {
      break;
    }
  }
  const size_t elements = args.remaining();
  if (elements == 0 || elements % 2 != 0) return ReplySyntaxError(ctx);
  if (flags.nx && flags.xx) {
    return ctx.reply.Error("ERR XX and NX options at the same time are not compatible");
  }
  if ((flags.gt && flags.nx) || (flags.lt && flags.nx) || (flags.gt && flags.lt)) {
    return ctx.reply.Error("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  if (flags.incr && elements > 2) {
    return ctx.reply.Error("ERR INCR option supports a single increment-element pair");
  }
  std::vector<std::pair<double, std::string_view>> pairs(elements / 2);
  for (auto& [score, member] : pairs) {
    if (!args.Double(&score) || !args.Next(&member)) return;
  }
  auto r = zsets::Add(*ctx.txn, ctx.argv[1], flags, pairs);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  if (flags.incr) {
    if (r->processed) {
      ctx.reply.Double(r->score);
    } else {
      ctx.reply.Null();
    }
  } else {
    ctx.reply.Integer(ch ? r->added + r->updated : r->added);
  }
}

void ZAdd(CommandContext& ctx) { AddGeneric(ctx, false); }
void ZIncrBy(CommandContext& ctx) { AddGeneric(ctx, true); }

// --- Point reads ---------------------------------------------------------------------------

void ZCard(CommandContext& ctx) {
  auto r = zsets::Card(*ctx.txn, ctx.argv[1]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void ZScore(CommandContext& ctx) {
  auto r = zsets::Score(*ctx.txn, ctx.argv[1], ctx.argv[2]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  if (r->has_value()) {
    ctx.reply.Double(**r);
  } else {
    ctx.reply.Null();
  }
}

void ZMScore(CommandContext& ctx) {
  std::vector<std::string_view> members(ctx.argv.begin() + 2, ctx.argv.end());
  auto r = zsets::MScore(*ctx.txn, ctx.argv[1], members);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.ArrayHeader(static_cast<int64_t>(r->size()));
  for (const auto& score : *r) {
    if (score) {
      ctx.reply.Double(*score);
    } else {
      ctx.reply.Null();
    }
  }
}

void RankGeneric(CommandContext& ctx, bool reverse) {
  auto r = zsets::Rank(*ctx.txn, ctx.argv[1], ctx.argv[2], reverse);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  if (r->has_value()) {
    ctx.reply.Integer(**r);
  } else {
    ctx.reply.Null();
  }
}

void ZRank(CommandContext& ctx) { RankGeneric(ctx, false); }
void ZRevRank(CommandContext& ctx) { RankGeneric(ctx, true); }

// --- Counts and removal ---------------------------------------------------------------

void ZCount(CommandContext& ctx) {
  zsets::ScoreRange range;
  if (!zsets::ParseScoreRange(ctx.argv[2], ctx.argv[3], &range)) {
    return ctx.reply.Error(kNotFloatRange);
  }
  auto r = zsets::Count(*ctx.txn, ctx.argv[1], range);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void ZLexCount(CommandContext& ctx) {
  zsets::LexRange range;
  if (!zsets::ParseLexRange(ctx.argv[2], ctx.argv[3], &range)) {
    return ctx.reply.Error(kNotLexRange);
  }
  auto r = zsets::LexCount(*ctx.txn, ctx.argv[1], range);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void ZRem(CommandContext& ctx) {
  std::vector<std::string_view> members(ctx.argv.begin() + 2, ctx.argv.end());
  auto r = zsets::Rem(*ctx.txn, ctx.argv[1], members);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void ReplyCount(CommandContext& ctx, const store::Result<int64_t>& r) {
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void ZRemRangeByRank(CommandContext& ctx) {
  ArgReader args(ctx, 2);
  int64_t start = 0, stop = 0;
  if (!args.Int64(&start) || !args.Int64(&stop)) return;
  ReplyCount(ctx, zsets::RemRangeByRank(*ctx.txn, ctx.argv[1], start, stop));
}

void ZRemRangeByScore(CommandContext& ctx) {
  zsets::ScoreRange range;
  if (!zsets::ParseScoreRange(ctx.argv[2], ctx.argv[3], &range)) {
    return ctx.reply.Error(kNotFloatRange);
  }
  ReplyCount(ctx, zsets::RemRangeByScore(*ctx.txn, ctx.argv[1], range));
}

void ZRemRangeByLex(CommandContext& ctx) {
  zsets::LexRange range;
  if (!zsets::ParseLexRange(ctx.argv[2], ctx.argv[3], &range)) {
    return ctx.reply.Error(kNotLexRange);
  }
  ReplyCount(ctx, zsets::RemRangeByLex(*ctx.txn, ctx.argv[1], range));
}

// --- The ZRANGE family -----------------------------------------------------------------

enum class RangeType { kAuto, kRank, kScore, kLex };
enum class Direction { kAuto, kForward, kReverse };

// Redis's zrangeGenericCommand: `key_at` is the source key; ZRANGESTORE passes `store`
// (the destination is argv[1]). The older commands fix the type and/or direction, which
// then may not be given as options.
void RangeGeneric(CommandContext& ctx, size_t key_at, bool store, RangeType type,
                  Direction direction) {
  const auto& argv = ctx.argv;
  size_t min_at = key_at + 1, max_at = key_at + 2;
  bool withscores = false;
  zsets::Limit limit;
  for (size_t j = key_at + 3; j < argv.size(); ++j) {
    const size_t left = argv.size() - j - 1;
    if (!store && EqualsIgnoreCase(argv[j], "withscores")) {
      withscores = true;
    } else if (EqualsIgnoreCase(argv[j], "limit") && left >= 2) {
      if (!ArgInt64(ctx, argv[j + 1], &limit.offset) || !ArgInt64(ctx, argv[j + 2], &limit.count)) {
        return;
      }
      j += 2;
    } else if (direction == Direction::kAuto && EqualsIgnoreCase(argv[j], "rev")) {
      direction = Direction::kReverse;
    } else if (type == RangeType::kAuto && EqualsIgnoreCase(argv[j], "bylex")) {
      type = RangeType::kLex;
    } else if (type == RangeType::kAuto && EqualsIgnoreCase(argv[j], "byscore")) {
      type = RangeType::kScore;
    } else {
      return ReplySyntaxError(ctx);
    }
  }
  if (type == RangeType::kAuto) type = RangeType::kRank;
  const bool reverse = direction == Direction::kReverse;
  // Redis tells an explicit "LIMIT x -1" from no LIMIT only by the count.
  if (limit.count != -1 && type == RangeType::kRank) {
    return ctx.reply.Error(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  if (withscores && type == RangeType::kLex) {
    return ctx.reply.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  }
  // Reversed score and lex ranges are written max first.
  if (reverse && type != RangeType::kRank) std::swap(min_at, max_at);

  int64_t start = 0, stop = 0;
  zsets::ScoreRange score_range;
  zsets::LexRange lex_range;
  switch (type) {
    case RangeType::kScore:
      if (!zsets::ParseScoreRange(argv[min_at], argv[max_at], &score_range)) {
        return ctx.reply.Error(kNotFloatRange);
      }
      break;
    case RangeType::kLex:
      if (!zsets::ParseLexRange(argv[min_at], argv[max_at], &lex_range)) {
        return ctx.reply.Error(kNotLexRange);
      }
      break;
    default:
      if (!ArgInt64(ctx, argv[min_at], &start) || !ArgInt64(ctx, argv[max_at], &stop)) return;
      break;
  }

  const std::string& key = argv[key_at];
  store::Result<std::vector<zsets::Entry>> r = std::vector<zsets::Entry>();
  switch (type) {
    case RangeType::kScore:
      r = zsets::RangeByScore(*ctx.txn, key, score_range, reverse, limit);
      break;
    case RangeType::kLex:
      r = zsets::RangeByLex(*ctx.txn, key, lex_range, reverse, limit);
      break;
    default:
      r = zsets::RangeByRank(*ctx.txn, key, start, stop, reverse);
      break;
  }
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  if (store) {
    // An absent source stores nothing, which deletes the destination.
    return ReplyCount(ctx, zsets::StoreEntries(*ctx.txn, argv[1], *r, "zrangestore"));
  }
  WriteEntries(ctx.reply, *r, withscores);
}

void ZRange(CommandContext& ctx) {
  RangeGeneric(ctx, 1, false, RangeType::kAuto, Direction::kAuto);
}
void ZRangeStore(CommandContext& ctx) {
  RangeGeneric(ctx, 2, true, RangeType::kAuto, Direction::kAuto);
}
void ZRevRange(CommandContext& ctx) {
  RangeGeneric(ctx, 1, false, RangeType::kRank, Direction::kReverse);
}
void ZRangeByScore(CommandContext& ctx) {
  RangeGeneric(ctx, 1, false, RangeType::kScore, Direction::kForward);
}
void ZRevRangeByScore(CommandContext& ctx) {
  RangeGeneric(ctx, 1, false, RangeType::kScore, Direction::kReverse);
}
void ZRangeByLex(CommandContext& ctx) {
  RangeGeneric(ctx, 1, false, RangeType::kLex, Direction::kForward);
}
void ZRevRangeByLex(CommandContext& ctx) {
  RangeGeneric(ctx, 1, false, RangeType::kLex, Direction::kReverse);
}

}  // namespace

void RegisterZSetCommands() {
  constexpr uint32_t kR = kReadOnly | kTxn;
  constexpr uint32_t kW = kWrite | kTxn;
  // Arity, flags and key positions as Redis 7.0's COMMAND INFO (its "denyoom" flag has no
  // counterpart here).
  RegisterCommands({
      {"zadd", -4, kW | kFast, 1, 1, 1, &ZAdd, "sorted-set",
       "Add one or more members to a sorted set, or update its score if it already exists",
       "1.2.0"},
      {"zincrby", 4, kW | kFast, 1, 1, 1, &ZIncrBy, "sorted-set",
       "Increment the score of a member in a sorted set", "1.2.0"},
      {"zcard", 2, kR | kFast, 1, 1, 1, &ZCard, "sorted-set",
       "Get the number of members in a sorted set", "1.2.0"},
      {"zcount", 4, kR | kFast, 1, 1, 1, &ZCount, "sorted-set",
       "Count the members in a sorted set with scores within the given values", "2.0.0"},
      {"zlexcount", 4, kR | kFast, 1, 1, 1, &ZLexCount, "sorted-set",
       "Count the number of members in a sorted set between a given lexicographical range",
       "2.8.9"},
      {"zscore", 3, kR | kFast, 1, 1, 1, &ZScore, "sorted-set",
       "Get the score associated with the given member in a sorted set", "1.2.0"},
      {"zmscore", -3, kR | kFast, 1, 1, 1, &ZMScore, "sorted-set",
       "Get the score associated with the given members in a sorted set", "6.2.0"},
      {"zrank", 3, kR | kFast, 1, 1, 1, &ZRank, "sorted-set",
       "Determine the index of a member in a sorted set", "2.0.0"},
      {"zrevrank", 3, kR | kFast, 1, 1, 1, &ZRevRank, "sorted-set",
       "Determine the index of a member in a sorted set, with scores ordered from high to low",
       "2.0.0"},
      {"zrem", -3, kW | kFast, 1, 1, 1, &ZRem, "sorted-set",
       "Remove one or more members from a sorted set", "1.2.0"},
      {"zremrangebyrank", 4, kW, 1, 1, 1, &ZRemRangeByRank, "sorted-set",
       "Remove all members in a sorted set within the given indexes", "2.0.0"},
      {"zremrangebyscore", 4, kW, 1, 1, 1, &ZRemRangeByScore, "sorted-set",
       "Remove all members in a sorted set within the given scores", "1.2.0"},
      {"zremrangebylex", 4, kW, 1, 1, 1, &ZRemRangeByLex, "sorted-set",
       "Remove all members in a sorted set between the given lexicographical range", "2.8.9"},
      {"zrange", -4, kR, 1, 1, 1, &ZRange, "sorted-set",
       "Return a range of members in a sorted set", "1.2.0"},
      {"zrangestore", -5, kW, 1, 2, 1, &ZRangeStore, "sorted-set",
       "Store a range of members from sorted set into another key", "6.2.0"},
      {"zrevrange", -4, kR, 1, 1, 1, &ZRevRange, "sorted-set",
       "Return a range of members in a sorted set, by index, with scores ordered from high to "
       "low",
       "1.2.0"},
      {"zrangebyscore", -4, kR, 1, 1, 1, &ZRangeByScore, "sorted-set",
       "Return a range of members in a sorted set, by score", "1.0.5"},
      {"zrevrangebyscore", -4, kR, 1, 1, 1, &ZRevRangeByScore, "sorted-set",
       "Return a range of members in a sorted set, by score, with scores ordered from high to "
       "low",
       "2.2.0"},
      {"zrangebylex", -4, kR, 1, 1, 1, &ZRangeByLex, "sorted-set",
       "Return a range of members in a sorted set, by lexicographical range", "2.8.9"},
      {"zrevrangebylex", -4, kR, 1, 1, 1, &ZRevRangeByLex, "sorted-set",
       "Return a range of members in a sorted set, by lexicographical range, ordered from "
       "higher to lower strings.",
       "2.8.9"},
  });
  RegisterZSetOpsCommands();
}

}  // namespace redge::resp
