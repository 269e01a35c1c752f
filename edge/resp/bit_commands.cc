// Bit commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO) and LCS:
// arguments parsed in Redis 7.0's order (bitops.c, t_string.c: some commands look the key
// up before they read their other arguments, so a missing key answers 0 whatever follows),
// same error texts. The semantics are store/bits.h and store/strings.h.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "edge/resp/args.h"
#include "edge/resp/command.h"
#include "edge/resp/server.h"
#include "store/bits.h"
#include "store/strings.h"

namespace redge::resp {
namespace {

namespace bits = store::bits;
constexpr std::string_view kBadOffset = "ERR bit offset is not an integer or out of range";

// Redis's getBitOffsetFromArgument: an integer >= 0 whose byte is below proto-max-bulk-len;
// with `bits` > 0 a "#N" form means N * bits (BITFIELD).
bool BitOffset(CommandContext& ctx, std::string_view arg, int bits, uint64_t* out) {
  bool hash = bits > 0 && !arg.empty() && arg[0] == '#';
  int64_t v;
  if (!store::strings::ParseInt64(arg.substr(hash ? 1 : 0), &v)) {
    ctx.reply.Error(kBadOffset);
    return false;
  }
  if (hash) v = static_cast<int64_t>(static_cast<uint64_t>(v) * static_cast<uint64_t>(bits));
  if (v < 0 || (v >> 3) >= ctx.server.config().IntValue("proto-max-bulk-len")) {
    ctx.reply.Error(kBadOffset);
    return false;
  }
  *out = static_cast<uint64_t>(v);
  return true;
}

void SetBit(CommandContext& ctx) {
  uint64_t offset;
  if (!BitOffset(ctx, ctx.argv[2], 0, &offset)) return;
  int64_t on;
  if (!store::strings::ParseInt64(ctx.argv[3], &on) || (on & ~int64_t{1}) != 0) {
    return ctx.reply.Error("ERR bit is not an integer or out of range");
  }
  auto r = bits::SetBit(*ctx.txn, ctx.argv[1], offset, static_cast<int>(on));
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

void GetBit(CommandContext& ctx) {
  uint64_t offset;
  if (!BitOffset(ctx, ctx.argv[2], 0, &offset)) return;
  auto v = bits::ReadString(*ctx.txn, ctx.argv[1]);
  if (!v.ok()) {
    if (v.status().IsNotFound()) return ctx.reply.Integer(0);
    return ReplyStatusError(ctx, v.status());
  }
  ctx.reply.Integer(bits::GetBit(*v, offset));
}

// BITCOUNT key [start end [BYTE|BIT]]: the key first (missing: 0, whatever the arguments).
void BitCount(CommandContext& ctx) {
  auto v = bits::ReadString(*ctx.txn, ctx.argv[1]);
  if (!v.ok()) {
    if (v.status().IsNotFound()) return ctx.reply.Integer(0);
    return ReplyStatusError(ctx, v.status());
  }
  const size_t argc = ctx.argv.size();
  std::optional<bits::Range> range;
  if (argc == 4 || argc == 5) {
    bits::Range r;
    ArgReader args(ctx, 2);
    if (!args.Int64(&r.start) || !args.Int64(&r.end)) return;
    if (r.start < 0 && r.end < 0 && r.start > r.end) return ctx.reply.Integer(0);
    if (argc == 5) {
      if (args.Match("BIT")) {
        r.bit = true;
      } else if (!args.Match("BYTE")) {
        return ReplySyntaxError(ctx);
      }
    }
    range = r;
  } else if (argc != 2) {
    return ReplySyntaxError(ctx);
  }
  ctx.reply.Integer(bits::Count(*v, range));
}

// BITPOS key bit [start [end [BYTE|BIT]]].
void BitPos(CommandContext& ctx) {
  int64_t bit;
  if (!ArgInt64(ctx, ctx.argv[2], &bit)) return;
  if (bit != 0 && bit != 1) return ctx.reply.Error("ERR The bit argument must be 1 or 0.");
  auto v = bits::ReadString(*ctx.txn, ctx.argv[1]);
  if (!v.ok()) {
    if (v.status().IsNotFound()) return ctx.reply.Integer(bit ? -1 : 0);
    return ReplyStatusError(ctx, v.status());
  }
  const size_t argc = ctx.argv.size();
  std::optional<bits::Range> range;
  bool end_given = false;
  if (argc >= 4 && argc <= 6) {
    bits::Range r;
    if (!ArgInt64(ctx, ctx.argv[3], &r.start)) return;
    if (argc == 6) {
      if (EqualsIgnoreCase(ctx.argv[5], "BIT")) {
        r.bit = true;
      } else if (!EqualsIgnoreCase(ctx.argv[5], "BYTE")) {
        return ReplySyntaxError(ctx);
      }
    }
    if (argc >= 5) {
      if (!ArgInt64(ctx, ctx.argv[4], &r.end)) return;
      end_given = true;
    }
    range = r;
  } else if (argc != 3) {
    return ReplySyntaxError(ctx);
  }
  ctx.reply.Integer(bits::Pos(*v, static_cast<int>(bit), range, end_given));
}

void BitOp(CommandContext& ctx) {
  const std::string op = ToLower(ctx.argv[1]);
  bits::Op kind;
  if (op == "and") {
    kind = bits::Op::kAnd;
  } else if (op == "or") {
    kind = bits::Op::kOr;
  } else if (op == "xor") {
    kind = bits::Op::kXor;
  } else if (op == "not") {
    kind = bits::Op::kNot;
  } else {
    return ReplySyntaxError(ctx);
  }
  if (kind == bits::Op::kNot && ctx.argv.size() != 4) {
    return ctx.reply.Error("ERR BITOP NOT must be called with a single source key.");
  }
  std::vector<std::string> keys(ctx.argv.begin() + 3, ctx.argv.end());
  auto r = bits::BitOp(*ctx.txn, kind, ctx.argv[2], keys);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r);
}

// Redis's getBitfieldTypeFromArgument: i1..i64 or u1..u63.
bool FieldType(CommandContext& ctx, std::string_view arg, bits::FieldOp* op) {
  int64_t n = 0;
  const bool ok = !arg.empty() && (arg[0] == 'i' || arg[0] == 'u') &&
                  store::strings::ParseInt64(arg.substr(1), &n) && n >= 1 &&
                  n <= (arg[0] == 'i' ? 64 : 63);
  if (!ok) {
    ctx.reply.Error(
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported "
        "but i64 is.");
    return false;
  }
  op->sign = arg[0] == 'i';
  op->bits = static_cast<int>(n);
  return true;
}

void BitFieldGeneric(CommandContext& ctx, bool readonly_command) {
  std::vector<bits::FieldOp> ops;
  bits::Overflow overflow = bits::Overflow::kWrap;
  bool writes = false;
  const auto& argv = ctx.argv;
  for (size_t j = 2; j < argv.size(); ++j) {
    const size_t rem = argv.size() - j - 1;
    bits::FieldOp op;
    if (EqualsIgnoreCase(argv[j], "get") && rem >= 2) {
      op.kind = bits::FieldOp::Kind::kGet;
    } else if (EqualsIgnoreCase(argv[j], "set") && rem >= 3) {
      op.kind = bits::FieldOp::Kind::kSet;
    } else if (EqualsIgnoreCase(argv[j], "incrby") && rem >= 3) {
      op.kind = bits::FieldOp::Kind::kIncrBy;
    } else if (EqualsIgnoreCase(argv[j], "overflow") && rem >= 1) {
      const std::string& type = argv[++j];
      if (EqualsIgnoreCase(type, "wrap")) {
        overflow = bits::Overflow::kWrap;
      } else if (EqualsIgnoreCase(type, "sat")) {
        overflow = bits::Overflow::kSat;
      } else if (EqualsIgnoreCase(type, "fail")) {
        overflow = bits::Overflow::kFail;
      } else {
        return ctx.reply.Error("ERR Invalid OVERFLOW type specified");
      }
      continue;
    } else {
      return ReplySyntaxError(ctx);
    }
    if (!FieldType(ctx, argv[j + 1], &op)) return;
    if (!BitOffset(ctx, argv[j + 2], op.bits, &op.offset)) return;
    if (op.kind != bits::FieldOp::Kind::kGet) {
      writes = true;
      if (!ArgInt64(ctx, argv[j + 3], &op.value)) return;
    }
    op.overflow = overflow;
    ops.push_back(op);
    j += op.kind == bits::FieldOp::Kind::kGet ? 2 : 3;
  }
  if (writes && readonly_command) {
    return ctx.reply.Error("ERR BITFIELD_RO only supports the GET subcommand");
  }
  auto r = bits::BitField(*ctx.txn, argv[1], ops);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.ArrayHeader(static_cast<int64_t>(r->size()));
  for (const auto& v : *r) {
    if (v) {
      ctx.reply.Integer(*v);
    } else {
      ctx.reply.Null();
    }
  }
}

void BitField(CommandContext& ctx) { BitFieldGeneric(ctx, false); }
void BitFieldRo(CommandContext& ctx) { BitFieldGeneric(ctx, true); }

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the keys are read first.
void Lcs(CommandContext& ctx) {
  auto inputs = store::strings::LcsInputs(*ctx.txn, ctx.argv[1], ctx.argv[2]);
  if (!inputs.ok()) return ReplyStatusError(ctx, inputs.status());
  bool len = false, idx = false, withmatchlen = false;
  int64_t minmatchlen = 0;
  ArgReader args(ctx, 3);
  while (args.ok() && !args.done()) {
    if (args.Match("IDX")) {
      idx = true;
    } else if (args.Match("LEN")) {
      len = true;
    } else if (args.Match("WITHMATCHLEN")) {
      withmatchlen = true;
    } else if (args.remaining() >= 2 && args.Match("MINMATCHLEN")) {
      if (args.Int64(&minmatchlen) && minmatchlen < 0) minmatchlen = 0;
    } else {
      args.SyntaxError();
    }
  }
  if (!args.ok()) return;
  if (len && idx) {
    return ctx.reply.Error("ERR If you want both the length and indexes, please just use IDX.");
  }
  const auto max_bytes = static_cast<uint64_t>(ctx.server.config().IntValue("proto-max-bulk-len"));
  auto r =
      store::strings::Lcs(inputs->first, inputs->second, !len && !idx, idx, minmatchlen, max_bytes);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  if (len) return ctx.reply.Integer(r->length);
  if (!idx) return ctx.reply.Bulk(r->lcs);
  ctx.reply.MapHeader(2);
  ctx.reply.Bulk("matches");
  ctx.reply.ArrayHeader(static_cast<int64_t>(r->matches.size()));
  for (const auto& m : r->matches) {
    ctx.reply.ArrayHeader(withmatchlen ? 3 : 2);
    ctx.reply.ArrayHeader(2);
    ctx.reply.Integer(m.a_start);
    ctx.reply.Integer(m.a_end);
    ctx.reply.ArrayHeader(2);
    ctx.reply.Integer(m.b_start);
    ctx.reply.Integer(m.b_end);
    if (withmatchlen) ctx.reply.Integer(m.len);
  }
  ctx.reply.Bulk("len");
  ctx.reply.Integer(r->length);
}

}  // namespace

void RegisterBitCommands() {
  constexpr uint32_t kR = kReadOnly | kTxn;
  constexpr uint32_t kW = kWrite | kTxn;
  RegisterCommands({
      {"setbit", 4, kW | kDenyOom, 1, 1, 1, &SetBit, "bitmap",
       "Sets or clears the bit at offset of the string value. Creates the key if it doesn't "
       "exist.",
       "2.2.0"},
      {"getbit", 3, kR | kFast, 1, 1, 1, &GetBit, "bitmap", "Returns a bit value by offset.",
       "2.2.0"},
      {"bitcount", -2, kR, 1, 1, 1, &BitCount, "bitmap",
       "Counts the number of set bits (population counting) in a string.", "2.6.0"},
      {"bitpos", -3, kR, 1, 1, 1, &BitPos, "bitmap",
       "Finds the first set (1) or clear (0) bit in a string.", "2.8.7"},
      {"bitop", -4, kW | kDenyOom, 2, -1, 1, &BitOp, "bitmap",
       "Performs bitwise operations on multiple strings, and stores the result.", "2.6.0"},
      {"bitfield", -2, kW | kDenyOom, 1, 1, 1, &BitField, "bitmap",
       "Performs arbitrary bitfield integer operations on strings.", "3.2.0"},
      {"bitfield_ro", -2, kR | kFast, 1, 1, 1, &BitFieldRo, "bitmap",
       "Performs arbitrary read-only bitfield integer operations on strings.", "6.0.0"},
      {"lcs", -3, kR, 1, 2, 1, &Lcs, "string", "Finds the longest common substring.", "7.0.0"},
  });
}

}  // namespace redge::resp
