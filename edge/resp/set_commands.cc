// Set commands: SADD SREM SISMEMBER SMISMEMBER SMEMBERS SCARD SPOP SRANDMEMBER SMOVE SINTER
// SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN.
//
// store/sets.h implements the semantics; this file parses arguments in the order Redis
// 7.0's t_set.c does and writes 7.0's reply types: SMEMBERS, SINTER, SUNION, SDIFF and
// SPOP with a count reply RESP3 sets ('~'), SRANDMEMBER with a count an array.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "edge/resp/args.h"
#include "edge/resp/command.h"
#include "store/sets.h"

namespace redge::resp {
namespace {

namespace sets = store::sets;
using sets::SetOp;

constexpr int64_t kLongMax = std::numeric_limits<int64_t>::max();

std::vector<std::string_view> Views(const std::vector<std::string>& argv, size_t first) {
  return std::vector<std::string_view>(argv.begin() + static_cast<std::ptrdiff_t>(first),
                                       argv.end());
}

std::vector<std::string> Keys(const std::vector<std::string>& argv, size_t first, size_t n) {
  return std::vector<std::string>(argv.begin() + static_cast<std::ptrdiff_t>(first),
                                  argv.begin() + static_cast<std::ptrdiff_t>(first + n));
}

void ReplyMemberSet(CommandContext& ctx, const std::vector<std::string>& members) {
  ctx.reply.SetHeader(static_cast<int64_t>(members.size()));
  for (const auto& m : members) ctx.reply.Bulk(m);
}

void SAdd(CommandContext& ctx) {
  auto r = sets::Add(*ctx.txn, ctx.argv[1], Views(ctx.argv, 2));
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void SRem(CommandContext& ctx) {
  auto r = sets::Rem(*ctx.txn, ctx.argv[1], Views(ctx.argv, 2));
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void SIsMember(CommandContext& ctx) {
  auto r = sets::IsMember(*ctx.txn, ctx.argv[1], ctx.argv[2]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r ? 1 : 0);
}

void SMIsMember(CommandContext& ctx) {
  auto r = sets::MIsMember(*ctx.txn, ctx.argv[1], Views(ctx.argv, 2));
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.ArrayHeader(static_cast<int64_t>(r->size()));
  for (bool b : *r) ctx.reply.Integer(b ? 1 : 0);
}

void SCard(CommandContext& ctx) {
  auto r = sets::Card(*ctx.txn, ctx.argv[1]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void SMembers(CommandContext& ctx) {
  auto r = sets::Members(*ctx.txn, ctx.argv[1]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ReplyMemberSet(ctx, *r);
}

// SPOP key [count]: without a count a bulk (nil for an absent key); with one (parsed
// before the key is looked up) a set, empty for an absent key or count 0.
void SPop(CommandContext& ctx) {
  const auto& argv = ctx.argv;
  if (argv.size() > 3) return ReplySyntaxError(ctx);
  if (argv.size() == 2) {
    auto r = sets::Pop(*ctx.txn, argv[1]);
    if (!r.ok()) {
      if (r.status().IsNotFound()) return ctx.reply.Null();
      return ReplyStatusError(ctx, r.status());
    }
    ctx.reply.Bulk(*r);
    return;
  }
  ArgReader args(ctx, 2);
  int64_t count = 0;
  if (!args.Int64InRange(0, kLongMax, "value is out of range, must be positive", &count)) return;
  auto r = sets::PopCount(*ctx.txn, argv[1], static_cast<uint64_t>(count));
  if (!r.ok()) {
    if (r.status().IsNotFound()) return ctx.reply.SetHeader(0);
    return ReplyStatusError(ctx, r.status());
  }
  ReplyMemberSet(ctx, *r);
}

// SRANDMEMBER key [count]: a bulk (nil for an absent key) or, with a count in
// [-LONG_MAX, LONG_MAX] parsed before the key is looked up, an array.
void SRandMember(CommandContext& ctx) {
  const auto& argv = ctx.argv;
  if (argv.size() > 3) return ReplySyntaxError(ctx);
  if (argv.size() == 2) {
    auto r = sets::RandMember(*ctx.txn, argv[1]);
    ReplyBulkOrNull(ctx, r);
    return;
  }
  ArgReader args(ctx, 2);
  int64_t count = 0;
  if (!args.Int64InRange(-kLongMax, kLongMax, nullptr, &count)) return;
  auto r = sets::RandMembersWithCount(*ctx.txn, argv[1], count);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.ArrayHeader(static_cast<int64_t>(r->order.size()));
  for (uint32_t i : r->order) ctx.reply.Bulk(r->members[i]);
}

void SMove(CommandContext& ctx) {
  auto r = sets::Move(*ctx.txn, ctx.argv[1], ctx.argv[2], ctx.argv[3]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r ? 1 : 0);
}

void CombineGeneric(CommandContext& ctx, SetOp op) {
  auto r = sets::Combine(*ctx.txn, op, Keys(ctx.argv, 1, ctx.argv.size() - 1));
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ReplyMemberSet(ctx, *r);
}

void CombineStoreGeneric(CommandContext& ctx, SetOp op) {
  auto r = sets::CombineStore(*ctx.txn, op, ctx.argv[1], Keys(ctx.argv, 2, ctx.argv.size() - 2));
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void SInter(CommandContext& ctx) { CombineGeneric(ctx, SetOp::kInter); }
void SUnion(CommandContext& ctx) { CombineGeneric(ctx, SetOp::kUnion); }
void SDiff(CommandContext& ctx) { CombineGeneric(ctx, SetOp::kDiff); }
void SInterStore(CommandContext& ctx) { CombineStoreGeneric(ctx, SetOp::kInter); }
void SUnionStore(CommandContext& ctx) { CombineStoreGeneric(ctx, SetOp::kUnion); }
void SDiffStore(CommandContext& ctx) { CombineStoreGeneric(ctx, SetOp::kDiff); }

// SINTERCARD numkeys key [key ...] [LIMIT limit].
void SInterCard(CommandContext& ctx) {
  ArgReader args(ctx, 1);
  int64_t numkeys = 0;
  if (!args.Int64InRange(1, kLongMax, "numkeys should be greater than 0", &numkeys)) return;
  if (numkeys > static_cast<int64_t>(ctx.argv.size()) - 2) {
    ctx.reply.Error("ERR Number of keys can't be greater than number of args");
    return;
  }
  ArgReader opts(ctx, 2 + static_cast<size_t>(numkeys));
  int64_t limit = 0;
  while (opts.ok() && !opts.done()) {
    if (opts.remaining() >= 2 && opts.Match("LIMIT")) {
      opts.Int64InRange(0, kLongMax, "LIMIT can't be negative", &limit);
    } else {
      opts.SyntaxError();
    }
  }
  if (!opts.ok()) return;
  auto r = sets::InterCard(*ctx.txn, Keys(ctx.argv, 2, static_cast<size_t>(numkeys)),
                           static_cast<uint64_t>(limit));
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

// SSCAN key cursor [MATCH pattern] [COUNT count]: as HSCAN (cursor, key, then options).
void SScan(CommandContext& ctx) {
  ArgReader args(ctx, 2);
  uint64_t cursor = 0;
  if (!args.ScanCursor(&cursor)) return;
  auto meta = ctx.txn->GetTyped(ctx.argv[1], store::KeyType::kSet);
  std::string pattern;
  uint64_t count = 0;
  store::ElementScanPage page;
  if (meta.ok()) {
    if (!ReadElementScanOptions(args, &pattern, &count)) return;
    auto r = sets::Scan(*ctx.txn, ctx.argv[1], cursor, pattern, count);
    if (!r.ok()) return ReplyStatusError(ctx, r.status());
    page = std::move(*r);
  } else if (!meta.status().IsNotFound()) {
    return ReplyStatusError(ctx, meta.status());
  }
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(page.next_cursor));
  ctx.reply.ArrayHeader(static_cast<int64_t>(page.items.size()));
  for (const auto& item : page.items) ctx.reply.Bulk(item.first);
}

}  // namespace

void RegisterSetCommands() {
  constexpr uint32_t kR = kReadOnly | kTxn;
  constexpr uint32_t kW = kWrite | kTxn;
  RegisterCommands({
      {"sadd", -3, kW | kDenyOom | kFast, 1, 1, 1, &SAdd, "set", "Add one or more members to a set",
       "1.0.0"},
      {"srem", -3, kW | kFast, 1, 1, 1, &SRem, "set", "Remove one or more members from a set",
       "1.0.0"},
      {"sismember", 3, kR | kFast, 1, 1, 1, &SIsMember, "set",
       "Determine if a given value is a member of a set", "1.0.0"},
      {"smismember", -3, kR | kFast, 1, 1, 1, &SMIsMember, "set",
       "Returns the membership associated with the given elements for a set", "6.2.0"},
      {"smembers", 2, kR, 1, 1, 1, &SMembers, "set", "Get all the members in a set", "1.0.0"},
      {"scard", 2, kR | kFast, 1, 1, 1, &SCard, "set", "Get the number of members in a set",
       "1.0.0"},
      {"spop", -2, kW | kFast, 1, 1, 1, &SPop, "set",
       "Remove and return one or multiple random members from a set", "1.0.0"},
      {"srandmember", -2, kR, 1, 1, 1, &SRandMember, "set",
       "Get one or multiple random members from a set", "1.0.0"},
      {"smove", 4, kW | kFast, 1, 2, 1, &SMove, "set", "Move a member from one set to another",
       "1.0.0"},
      {"sinter", -2, kR, 1, -1, 1, &SInter, "set", "Intersect multiple sets", "1.0.0"},
      // Movable keys (numkeys): Redis reports 0 0 0 for the legacy key positions.
      {"sintercard", -3, kR | kMovable, 0, 0, 0, &SInterCard, "set",
       "Intersect multiple sets and return the cardinality of the result", "7.0.0"},
      {"sinterstore", -3, kW | kDenyOom, 1, -1, 1, &SInterStore, "set",
       "Intersect multiple sets and store the resulting set in a key", "1.0.0"},
      {"sunion", -2, kR, 1, -1, 1, &SUnion, "set", "Add multiple sets", "1.0.0"},
      {"sunionstore", -3, kW | kDenyOom, 1, -1, 1, &SUnionStore, "set",
       "Add multiple sets and store the resulting set in a key", "1.0.0"},
      {"sdiff", -2, kR, 1, -1, 1, &SDiff, "set", "Subtract multiple sets", "1.0.0"},
      {"sdiffstore", -3, kW | kDenyOom, 1, -1, 1, &SDiffStore, "set",
       "Subtract multiple sets and store the resulting set in a key", "1.0.0"},
      {"sscan", -3, kR, 1, 1, 1, &SScan, "set", "Incrementally iterate Set elements", "2.8.0"},
  });
}

}  // namespace redge::resp
