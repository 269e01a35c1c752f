// Bit operations on strings with Redis 7.0's semantics (bitops.c): SETBIT, GETBIT,
// BITCOUNT, BITPOS, BITOP, BITFIELD / BITFIELD_RO. Bit 0 is the most significant bit of
// the first byte; strings grow with zero bytes when a write reaches past their end, and a
// missing key reads as an endless run of zero bits.
//
// Strings written here are "raw" for OBJECT ENCODING (store/object.h), as Redis edits them
// in place. Events: "setbit" for SETBIT and BITFIELD writes, "set" for BITOP's result,
// "del" when BITOP's result is empty and the destination existed.
//
// Thread-safety: the Txn functions run inside Store::Exec / Store::Run; the others are
// pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"
#include "store/txn.h"

namespace redge::store::bits {

// SETBIT: the previous bit. `offset` was checked by the caller (< 2^32 bytes' worth).
Result<int> SetBit(Txn& txn, std::string_view key, uint64_t offset, int on);

// The string at `key` for the read commands: NotFound, WrongType or the value.
Result<std::string> ReadString(Txn& txn, std::string_view key);

// GETBIT over a value.
int GetBit(std::string_view value, uint64_t offset);

// BITCOUNT's range (Redis's arithmetic: negative indexes from the end, clamped). `bit`
// counts the range in bits instead of bytes.
struct Range {
  int64_t start = 0;
  int64_t end = -1;
  bool bit = false;
};
// Set bits of `value` in `range` (nullopt: the whole string).
int64_t Count(std::string_view value, const std::optional<Range>& range);

// BITPOS: the first `bit` (0 or 1) in `range` (nullopt: the whole string; `end_given`
// false: the end was not given, so a search for 0 may answer the first bit past the
// string). -1 when there is none.
int64_t Pos(std::string_view value, int bit, const std::optional<Range>& range, bool end_given);

enum class Op { kAnd, kOr, kXor, kNot };
// BITOP op dst keys...: the length of the result (0 deletes `dst`). Missing keys are
// empty strings; WrongType if one is not a string.
Result<int64_t> BitOp(Txn& txn, Op op, std::string_view dst, const std::vector<std::string>& keys);

// BITFIELD operations, already parsed.
enum class Overflow { kWrap, kSat, kFail };
struct FieldOp {
  enum class Kind { kGet, kSet, kIncrBy } kind = Kind::kGet;
  bool sign = false;  // i<bits> (true) or u<bits>
  int bits = 0;       // 1..64 signed, 1..63 unsigned
  uint64_t offset = 0;
  int64_t value = 0;  // SET value or INCRBY increment
  Overflow overflow = Overflow::kWrap;
};
// One reply per op: the value, or nullopt (nil) for a write refused by OVERFLOW FAIL.
// Only GETs: a read (missing key reads zeros). Otherwise the string is created or grown
// to the farthest bit written, as Redis does even if every write then fails.
Result<std::vector<std::optional<int64_t>>> BitField(Txn& txn, std::string_view key,
                                                     const std::vector<FieldOp>& ops);

}  // namespace redge::store::bits
