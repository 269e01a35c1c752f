#include "store/bits.h"

#include <algorithm>
#include <bit>
#include <limits>

#include "store/object.h"

namespace redge::store::bits {
namespace {

// Writes `value` as a string edited in place (raw for OBJECT ENCODING).
void WriteRaw(Txn& txn, std::string_view key, std::string value, int64_t expire_at_ms,
              const char* event) {
  Meta meta;
  meta.type = KeyType::kString;
  meta.expire_at_ms = expire_at_ms;
  meta.value = std::move(value);
  object::SetStringHint(&meta, object::StringHint::kRaw);
  txn.PutMeta(key, meta);
  if (event == nullptr) return;
  if (txn.HasObserver(key)) {
    std::vector<std::string> values{meta.value};
    txn.Notify(key, event, &values);
  } else {
    txn.Notify(key, event);
  }
}

uint8_t ByteAt(std::string_view s, uint64_t i) {
  return i < s.size() ? static_cast<uint8_t>(s[i]) : 0;
}

// Redis's getUnsignedBitfield / setUnsignedBitfield over `p` (big-endian bit order).
uint64_t GetUnsigned(std::string_view p, uint64_t offset, int bits) {
  uint64_t value = 0;
  for (int j = 0; j < bits; ++j, ++offset) {
    const uint64_t bitval = (ByteAt(p, offset >> 3) >> (7 - (offset & 7))) & 1;
    value = (value << 1) | bitval;
  }
  return value;
}

int64_t GetSigned(std::string_view p, uint64_t offset, int bits) {
  uint64_t u = GetUnsigned(p, offset, bits);
  if (bits < 64 && (u & (uint64_t{1} << (bits - 1)))) u |= ~uint64_t{0} << bits;
  return static_cast<int64_t>(u);
}

void SetUnsigned(std::string* p, uint64_t offset, int bits, uint64_t value) {
  for (int j = 0; j < bits; ++j, ++offset) {
    const uint64_t bitval = (value >> (bits - 1 - j)) & 1;
    auto& byte = reinterpret_cast<uint8_t&>((*p)[offset >> 3]);
    const int bit = 7 - static_cast<int>(offset & 7);
    byte = static_cast<uint8_t>((byte & ~(1u << bit)) | (bitval << bit));
  }
}

// Redis's checkUnsignedBitfieldOverflow: 0 fits, 1 overflow, -1 underflow; *limit is the
// value to store for WRAP and SAT.
int CheckUnsigned(uint64_t value, int64_t incr, int bits, Overflow ow, uint64_t* limit) {
  const uint64_t max = bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
  const auto maxincr = static_cast<int64_t>(max - value);
  const auto minincr = static_cast<int64_t>(-value);
  auto wrap = [&] {
    const uint64_t mask = ~uint64_t{0} << bits;
    *limit = (value + static_cast<uint64_t>(incr)) & ~mask;
  };
  if (value > max || (incr > 0 && incr > maxincr)) {
    if (ow == Overflow::kWrap) {
      wrap();
    } else if (ow == Overflow::kSat) {
      *limit = max;
    }
    return 1;
  }
  if (incr < 0 && incr < minincr) {
    if (ow == Overflow::kWrap) {
      wrap();
      return 1;  // Redis reports a wrapped underflow as 1 too
    }
    if (ow == Overflow::kSat) *limit = 0;
    return -1;
  }
  return 0;
}

// Redis's checkSignedBitfieldOverflow.
int CheckSigned(int64_t value, int64_t incr, int bits, Overflow ow, int64_t* limit) {
  const int64_t max = bits == 64 ? INT64_MAX : (int64_t{1} << (bits - 1)) - 1;
  const int64_t min = -max - 1;
  const auto maxincr =
      static_cast<int64_t>(static_cast<uint64_t>(max) - static_cast<uint64_t>(value));
  const auto minincr =
      static_cast<int64_t>(static_cast<uint64_t>(min) - static_cast<uint64_t>(value));
  auto wrap = [&] {
    const uint64_t msb = uint64_t{1} << (bits - 1);
    uint64_t c = static_cast<uint64_t>(value) + static_cast<uint64_t>(incr);
    if (bits < 64) {
      const uint64_t mask = ~uint64_t{0} << bits;
      c = (c & msb) ? (c | mask) : (c & ~mask);
    }
    *limit = static_cast<int64_t>(c);
  };
  if (value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr)) {
    if (ow == Overflow::kWrap) {
      wrap();
    } else if (ow == Overflow::kSat) {
      *limit = max;
    }
    return 1;
  }
  if (value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr)) {
    if (ow == Overflow::kWrap) {
      wrap();
      return 1;
    }
    if (ow == Overflow::kSat) *limit = min;
    return -1;
  }
  return 0;
}

// Redis's range normalisation for BITCOUNT/BITPOS; false for an empty range. On success
// [*first_bit, *last_bit] is the range in bits.
bool Normalize(int64_t len_bytes, int64_t start, int64_t end, bool bit, uint64_t* first_bit,
               uint64_t* last_bit) {
  const int64_t totlen = bit ? len_bytes * 8 : len_bytes;
  if (start < 0) start += totlen;
  if (end < 0) end += totlen;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= totlen) end = totlen - 1;
  if (start > end) return false;
  *first_bit = bit ? static_cast<uint64_t>(start) : static_cast<uint64_t>(start) * 8;
  *last_bit = bit ? static_cast<uint64_t>(end) : static_cast<uint64_t>(end) * 8 + 7;
  return true;
}

// The bits of byte `i` inside [first, last] (bit 7 = the byte's first bit).
uint8_t RangeMask(uint64_t i, uint64_t first, uint64_t last) {
  uint8_t mask = 0xff;
  if (i == first >> 3) mask &= static_cast<uint8_t>(0xff >> (first & 7));
  if (i == last >> 3) mask &= static_cast<uint8_t>(0xff << (7 - (last & 7)));
  return mask;
}

}  // namespace

Result<std::string> ReadString(Txn& txn, std::string_view key) {
  auto meta = txn.GetTyped(key, KeyType::kString);
  if (!meta.ok()) return meta.status();
  return std::move(meta->value);
}

Result<int> SetBit(Txn& txn, std::string_view key, uint64_t offset, int on) {
  auto meta = txn.GetTyped(key, KeyType::kString);
  if (!meta.ok() && !meta.status().IsNotFound()) return meta.status();
  const bool created = !meta.ok();
  std::string value = created ? std::string() : std::move(meta->value);
  const int64_t deadline = created ? 0 : meta->expire_at_ms;
  const uint64_t byte = offset >> 3;
  bool grown = false;
  if (value.size() < byte + 1) {
    value.resize(byte + 1, '\0');
    grown = true;
  }
  const int shift = 7 - static_cast<int>(offset & 7);
  auto& b = reinterpret_cast<uint8_t&>(value[byte]);
  const int old = (b >> shift) & 1;
  if (created || grown || old != on) {
    b = static_cast<uint8_t>((b & ~(1u << shift)) | (static_cast<unsigned>(on) << shift));
    WriteRaw(txn, key, std::move(value), deadline, "setbit");
  }
  return old;
}

int GetBit(std::string_view value, uint64_t offset) {
  return (ByteAt(value, offset >> 3) >> (7 - (offset & 7))) & 1;
}

int64_t Count(std::string_view value, const std::optional<Range>& range) {
  if (value.empty()) return 0;
  uint64_t first = 0, last = value.size() * 8 - 1;
  if (range) {
    if (range->start < 0 && range->end < 0 && range->start > range->end) return 0;
    if (!Normalize(static_cast<int64_t>(value.size()), range->start, range->end, range->bit, &first,
                   &last)) {
      return 0;
    }
  }
  int64_t n = 0;
  for (uint64_t i = first >> 3; i <= last >> 3; ++i) {
    n += std::popcount(static_cast<uint8_t>(ByteAt(value, i) & RangeMask(i, first, last)));
  }
  return n;
}

int64_t Pos(std::string_view value, int bit, const std::optional<Range>& range, bool end_given) {
  const auto len = static_cast<int64_t>(value.size());
  int64_t start = 0, end = len - 1;
  bool in_bits = false;
  if (range) {
    in_bits = range->bit;
    start = range->start;
    end = end_given ? range->end : (in_bits ? len * 8 + 7 : len - 1);
  }
  uint64_t first, last;
  if (!Normalize(len, start, end, in_bits, &first, &last)) return -1;
  const uint8_t skip = bit ? 0x00 : 0xff;
  for (uint64_t i = first >> 3; i <= last >> 3; ++i) {
    const uint8_t mask = RangeMask(i, first, last);
    // Bits outside the range read as the value not searched for.
    const uint8_t b = bit ? (ByteAt(value, i) & mask) : (ByteAt(value, i) | ~mask);
    if (b == skip) continue;
    const uint8_t found = bit ? b : static_cast<uint8_t>(~b);
    return static_cast<int64_t>(i * 8) + std::countl_zero(found);
  }
  if (bit == 1 || end_given) return -1;
  // Searching for 0 without an end: the string reads as padded with zeros on the right.
  return static_cast<int64_t>(last + 1);
}

Result<int64_t> BitOp(Txn& txn, Op op, std::string_view dst, const std::vector<std::string>& keys) {
  std::vector<std::string> src;
  src.reserve(keys.size());
  size_t maxlen = 0;
  for (const auto& key : keys) {
    auto v = ReadString(txn, key);
    if (!v.ok() && !v.status().IsNotFound()) return v.status();
    src.push_back(v.ok() ? std::move(*v) : std::string());
    maxlen = std::max(maxlen, src.back().size());
  }
  if (maxlen == 0) {
    if (txn.GetMeta(dst).ok()) {
      txn.DeleteKey(dst);
      txn.Notify(dst, "del");
    }
    return int64_t{0};
  }
  std::string res(maxlen, '\0');
  for (size_t j = 0; j < maxlen; ++j) {
    uint8_t out = ByteAt(src[0], j);
    if (op == Op::kNot) out = static_cast<uint8_t>(~out);
    for (size_t i = 1; i < src.size(); ++i) {
      const uint8_t b = ByteAt(src[i], j);
      if (op == Op::kAnd) {
        out &= b;
      } else if (op == Op::kOr) {
        out |= b;
      } else if (op == Op::kXor) {
        out ^= b;
      }
    }
    res[j] = static_cast<char>(out);
  }
  WriteRaw(txn, dst, std::move(res), 0, "set");  // a new value: any TTL goes
  return static_cast<int64_t>(maxlen);
}

Result<std::vector<std::optional<int64_t>>> BitField(Txn& txn, std::string_view key,
                                                     const std::vector<FieldOp>& ops) {
  bool readonly = true;
  uint64_t highest = 0;
  for (const auto& op : ops) {
    if (op.kind == FieldOp::Kind::kGet) continue;
    readonly = false;
    highest = std::max<uint64_t>(highest, op.offset + static_cast<uint64_t>(op.bits) - 1);
  }
  auto meta = txn.GetTyped(key, KeyType::kString);
  if (!meta.ok() && !meta.status().IsNotFound()) return meta.status();
  std::string value = meta.ok() ? std::move(meta->value) : std::string();
  bool dirty = false;
  if (!readonly) {
    // Redis creates or grows the string before running the operations.
    if (!meta.ok() || value.size() < (highest >> 3) + 1) {
      value.resize(std::max<size_t>(value.size(), (highest >> 3) + 1), '\0');
      dirty = true;
    }
  }
  std::vector<std::optional<int64_t>> out;
  out.reserve(ops.size());
  int64_t changes = 0;
  for (const auto& op : ops) {
    if (op.kind == FieldOp::Kind::kGet) {
      out.push_back(op.sign ? GetSigned(value, op.offset, op.bits)
                            : static_cast<int64_t>(GetUnsigned(value, op.offset, op.bits)));
      continue;
    }
    const bool incr = op.kind == FieldOp::Kind::kIncrBy;
    if (op.sign) {
      const int64_t oldval = GetSigned(value, op.offset, op.bits);
      int64_t newval, wrapped = 0, retval;
      int overflow;
      if (incr) {
        overflow = CheckSigned(oldval, op.value, op.bits, op.overflow, &wrapped);
        newval = overflow ? wrapped
                          : static_cast<int64_t>(static_cast<uint64_t>(oldval) +
                                                 static_cast<uint64_t>(op.value));
        retval = newval;
      } else {
        newval = op.value;
        overflow = CheckSigned(newval, 0, op.bits, op.overflow, &wrapped);
        if (overflow) newval = wrapped;
        retval = oldval;
      }
      if (overflow && op.overflow == Overflow::kFail) {
        out.emplace_back(std::nullopt);
        continue;
      }
      out.emplace_back(retval);
      SetUnsigned(&value, op.offset, op.bits, static_cast<uint64_t>(newval));
      if (dirty || oldval != newval) changes++;
    } else {
      const uint64_t oldval = GetUnsigned(value, op.offset, op.bits);
      uint64_t newval, wrapped = 0, retval;
      int overflow;
      if (incr) {
        newval = oldval + static_cast<uint64_t>(op.value);
        overflow = CheckUnsigned(oldval, op.value, op.bits, op.overflow, &wrapped);
        if (overflow) newval = wrapped;
        retval = newval;
      } else {
        newval = static_cast<uint64_t>(op.value);
        overflow = CheckUnsigned(newval, 0, op.bits, op.overflow, &wrapped);
        if (overflow) newval = wrapped;
        retval = oldval;
      }
      if (overflow && op.overflow == Overflow::kFail) {
        out.emplace_back(std::nullopt);
        continue;
      }
      out.emplace_back(static_cast<int64_t>(retval));
      SetUnsigned(&value, op.offset, op.bits, newval);
      if (dirty || oldval != newval) changes++;
    }
  }
  if (dirty || changes > 0) {
    WriteRaw(txn, key, std::move(value), meta.ok() ? meta->expire_at_ms : 0,
             changes > 0 ? "setbit" : nullptr);
  }
  return out;
}

}  // namespace redge::store::bits
