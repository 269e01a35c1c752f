#include "store/strings.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

#include "base/numbers.h"
#include "store/object.h"

namespace redge::store::strings {
namespace {

constexpr int64_t kMaxStringBytes = 512ll * 1024 * 1024;  // Redis's proto-max-bulk-len

Status InvalidExpire(std::string_view command) {
  return Status::InvalidArgument("invalid expire time in '" + std::string(command) + "' command");
}

// The string at `key`: NotFound if absent, WrongType if another type.
Result<Meta> GetString(Txn& txn, std::string_view key) {
  return txn.GetTyped(key, KeyType::kString);
}

// `hint`: how OBJECT ENCODING sees the new value (store/object.h).
void WriteString(Txn& txn, std::string_view key, std::string value, int64_t expire_at_ms,
                 const char* event, object::StringHint hint = object::StringHint::kByContent) {
  Meta meta;
  meta.type = KeyType::kString;
  meta.expire_at_ms = expire_at_ms;
  meta.value = std::move(value);
  object::SetStringHint(&meta, hint);
  txn.PutMeta(key, meta);
  if (txn.HasObserver(key, event)) {
    // Copied only for an observer: a 512 MB value is not duplicated on every SET.
    std::vector<std::string> values{meta.value};
    txn.Notify(key, event, &values);
  } else {
    txn.Notify(key, event);
  }
}

}  // namespace

bool ParseInt64(std::string_view s, int64_t* out) { return base::ParseInt64(s, out); }

Result<int64_t> DeadlineFromRelative(const Txn& txn, int64_t amount, int64_t unit_ms,
                                     std::string_view command) {
  if (amount <= 0 || amount > std::numeric_limits<int64_t>::max() / unit_ms) {
    return InvalidExpire(command);
  }
  int64_t ms = amount * unit_ms;
  if (ms > std::numeric_limits<int64_t>::max() - txn.now_ms()) return InvalidExpire(command);
  return ms + txn.now_ms();
}

Result<int64_t> DeadlineFromAbsolute(int64_t amount, int64_t unit_ms, std::string_view command) {
  if (amount <= 0 || amount > std::numeric_limits<int64_t>::max() / unit_ms) {
    return InvalidExpire(command);
  }
  return amount * unit_ms;
}

Result<SetReply> Set(Txn& txn, std::string_view key, std::string_view value,
                     const SetOptions& options) {
  SetReply reply;
  auto old = txn.GetMeta(key);
  if (!old.ok() && !old.status().IsNotFound()) return old.status();
  bool exists = old.ok();
  // With GET, a non-string is an error before any condition is checked (as Redis).
  if (options.get && exists) {
    if (old->type != KeyType::kString) return Status::WrongType();
    reply.old_value = old->value;
  }
  if ((options.condition == SetOptions::Condition::kNX && exists) ||
      (options.condition == SetOptions::Condition::kXX && !exists)) {
    return reply;
  }
  int64_t deadline = 0;
  if (options.keep_ttl && exists) deadline = old->expire_at_ms;
  if (options.expire_at_ms) deadline = *options.expire_at_ms;
  reply.written = true;
  if (deadline != 0 && deadline <= txn.now_ms()) {
    // EXAT/PXAT in the past: the key is set and expires at once, i.e. it is deleted.
    if (exists) {
      txn.DeleteKey(key);
      txn.Notify(key, "del");
    }
    return reply;
  }
  WriteString(txn, key, std::string(value), deadline, "set");
  return reply;
}

Result<std::string> Get(Txn& txn, std::string_view key) {
  auto meta = GetString(txn, key);
  if (!meta.ok()) return meta.status();
  return std::move(meta->value);
}

Result<std::string> GetDel(Txn& txn, std::string_view key) {
  auto meta = GetString(txn, key);
  if (!meta.ok()) return meta.status();
  txn.DeleteKey(key);
  txn.Notify(key, "del");
  return std::move(meta->value);
}

Result<std::string> GetEx(Txn& txn, std::string_view key, const GetExOptions& options) {
  auto meta = GetString(txn, key);
  if (!meta.ok()) return meta.status();
  Meta m = std::move(*meta);
  if (options.expire_at_ms) {
    if (*options.expire_at_ms <= txn.now_ms()) {
      txn.DeleteKey(key);
      txn.Notify(key, "del");
      return std::move(m.value);
    }
    m.expire_at_ms = *options.expire_at_ms;
    txn.PutMeta(key, m);
    txn.Notify(key, "expire");
  } else if (options.persist && m.expire_at_ms != 0) {
    m.expire_at_ms = 0;
    txn.PutMeta(key, m);
    txn.Notify(key, "persist");
  }
  return std::move(m.value);
}

std::vector<std::optional<std::string>> MGet(Txn& txn, const std::vector<std::string>& keys) {
  std::vector<std::optional<std::string>> out;
  out.reserve(keys.size());
  for (const auto& key : keys) {
    auto meta = txn.GetMeta(key);
    if (meta.ok() && meta->type == KeyType::kString) {
      out.emplace_back(std::move(meta->value));
    } else {
      out.emplace_back(std::nullopt);
    }
  }
  return out;
}

void MSet(Txn& txn, const std::vector<std::pair<std::string, std::string>>& pairs) {
  for (const auto& [key, value] : pairs) WriteString(txn, key, value, 0, "set");
}

bool MSetNX(Txn& txn, const std::vector<std::pair<std::string, std::string>>& pairs) {
  for (const auto& [key, value] : pairs) {
    if (txn.GetMeta(key).ok()) return false;
  }
  MSet(txn, pairs);
  return true;
}

Result<int64_t> IncrBy(Txn& txn, std::string_view key, int64_t delta) {
  auto meta = GetString(txn, key);
  int64_t current = 0;
  int64_t deadline = 0;
  if (meta.ok()) {
    if (!ParseInt64(meta->value, &current)) return Status::NotInteger();
    deadline = meta->expire_at_ms;
  } else if (!meta.status().IsNotFound()) {
    return meta.status();
  }
  if ((delta < 0 && current < 0 && delta < std::numeric_limits<int64_t>::min() - current) ||
      (delta > 0 && current > 0 && delta > std::numeric_limits<int64_t>::max() - current)) {
    return Status::Overflow();
  }
  int64_t next = current + delta;
  WriteString(txn, key, std::to_string(next), deadline, "incrby");
  return next;
}

Result<std::string> IncrByFloat(Txn& txn, std::string_view key, std::string_view delta) {
  auto parse = base::ParseLongDouble;
  long double incr;
  if (!parse(delta, &incr)) return Status::InvalidArgument("value is not a valid float");
  auto meta = GetString(txn, key);
  long double current = 0;
  int64_t deadline = 0;
  if (meta.ok()) {
    if (!parse(meta->value, &current)) return Status::InvalidArgument("value is not a valid float");
    deadline = meta->expire_at_ms;
  } else if (!meta.status().IsNotFound()) {
    return meta.status();
  }
  long double next = current + incr;
  if (std::isnan(next) || std::isinf(next)) {
    return Status::InvalidArgument("increment would produce NaN or Infinity");
  }
  std::string out = base::FormatLongDouble(next);
  WriteString(txn, key, out, deadline, "incrbyfloat", object::StringHint::kNotInt);
  return out;
}

Result<int64_t> Append(Txn& txn, std::string_view key, std::string_view suffix) {
  auto meta = GetString(txn, key);
  std::string value;
  int64_t deadline = 0;
  if (meta.ok()) {
    value = std::move(meta->value);
    deadline = meta->expire_at_ms;
  } else if (!meta.status().IsNotFound()) {
    return meta.status();
  }
  if (static_cast<int64_t>(value.size() + suffix.size()) > kMaxStringBytes) {
    return Status::InvalidArgument("string exceeds maximum allowed size (proto-max-bulk-len)");
  }
  value.append(suffix);
  int64_t len = static_cast<int64_t>(value.size());
  // Redis appends in place to an existing value (raw from then on); a new key is a SET.
  WriteString(txn, key, std::move(value), deadline, "append",
              meta.ok() ? object::StringHint::kRaw : object::StringHint::kByContent);
  return len;
}

Result<int64_t> StrLen(Txn& txn, std::string_view key) {
  auto meta = GetString(txn, key);
  if (meta.ok()) return static_cast<int64_t>(meta->value.size());
  if (meta.status().IsNotFound()) return int64_t{0};
  return meta.status();
}

Result<std::string> GetRange(Txn& txn, std::string_view key, int64_t start, int64_t end) {
  auto meta = GetString(txn, key);
  if (!meta.ok()) {
    if (meta.status().IsNotFound()) return std::string();
    return meta.status();
  }
  const std::string& v = meta->value;
  int64_t len = static_cast<int64_t>(v.size());
  if (start < 0 && end < 0 && start > end) return std::string();
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (len == 0 || start > end) return std::string();
  return v.substr(start, end - start + 1);
}

Result<int64_t> SetRange(Txn& txn, std::string_view key, int64_t offset, std::string_view value) {
  if (offset < 0) return Status::InvalidArgument("offset is out of range");
  auto meta = GetString(txn, key);
  std::string current;
  int64_t deadline = 0;
  if (meta.ok()) {
    current = std::move(meta->value);
    deadline = meta->expire_at_ms;
  } else if (!meta.status().IsNotFound()) {
    return meta.status();
  }
  if (value.empty()) return static_cast<int64_t>(current.size());
  // Compared without adding, so an offset near INT64_MAX cannot overflow past the check.
  if (offset > kMaxStringBytes - static_cast<int64_t>(value.size())) {
    return Status::InvalidArgument("string exceeds maximum allowed size (proto-max-bulk-len)");
  }
  if (current.size() < offset + value.size()) current.resize(offset + value.size(), '\0');
  current.replace(offset, value.size(), value);
  int64_t len = static_cast<int64_t>(current.size());
  WriteString(txn, key, std::move(current), deadline, "setrange", object::StringHint::kRaw);
  return len;
}

Result<std::pair<std::string, std::string>> LcsInputs(Txn& txn, std::string_view key1,
                                                      std::string_view key2) {
  std::pair<std::string, std::string> out;
  auto a = txn.GetMeta(key1);
  auto b = txn.GetMeta(key2);
  if (!a.ok() && !a.status().IsNotFound()) return a.status();
  if (!b.ok() && !b.status().IsNotFound()) return b.status();
  if ((a.ok() && a->type != KeyType::kString) || (b.ok() && b->type != KeyType::kString)) {
    return Status::InvalidArgument("The specified keys must contain string values");
  }
  if (a.ok()) out.first = std::move(a->value);
  if (b.ok()) out.second = std::move(b->value);
  return out;
}

Result<LcsResult> Lcs(std::string_view a, std::string_view b, bool want_string, bool want_matches,
                      int64_t min_match_len, uint64_t max_table_bytes) {
  if (a.size() >= UINT32_MAX - 1 || b.size() >= UINT32_MAX - 1) {
    return Status::InvalidArgument("String too long for LCS");
  }
  const auto alen = static_cast<uint32_t>(a.size());
  const auto blen = static_cast<uint32_t>(b.size());
  const uint64_t cells = (uint64_t{alen} + 1) * (uint64_t{blen} + 1);
  if (cells * sizeof(uint32_t) > max_table_bytes) {
    return Status::InvalidArgument(
        "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  }
  // table[i][j]: the LCS length of a[0..i) and b[0..j).
  std::vector<uint32_t> table(cells, 0);
  auto at = [&](uint32_t i, uint32_t j) -> uint32_t& {
    return table[j + uint64_t{i} * (uint64_t{blen} + 1)];
  };
  for (uint32_t i = 1; i <= alen; ++i) {
    for (uint32_t j = 1; j <= blen; ++j) {
      at(i, j) = a[i - 1] == b[j - 1] ? at(i - 1, j - 1) + 1 : std::max(at(i - 1, j), at(i, j - 1));
    }
  }
  LcsResult out;
  out.length = at(alen, blen);
  if (!want_string && !want_matches) return out;
  // Walk back from the end, collecting the string and the contiguous ranges as Redis does.
  std::string lcs(out.length, '\0');
  uint32_t idx = out.length;
  uint32_t a_start = alen, a_end = 0, b_start = 0, b_end = 0;  // a_start == alen: no range
  uint32_t i = alen, j = blen;
  while (i > 0 && j > 0) {
    bool emit = false;
    if (a[i - 1] == b[j - 1]) {
      lcs[idx - 1] = a[i - 1];
      if (a_start == alen) {
        a_start = a_end = i - 1;
        b_start = b_end = j - 1;
      } else if (a_start == i && b_start == j) {
        a_start--;
        b_start--;
      } else {
        emit = true;
      }
      if (a_start == 0 || b_start == 0) emit = true;
      idx--, i--, j--;
    } else {
      if (at(i - 1, j) > at(i, j - 1)) {
        i--;
      } else {
        j--;
      }
      if (a_start != alen) emit = true;
    }
    if (emit) {
      const uint32_t len = a_end - a_start + 1;
      if (want_matches && (min_match_len <= 0 || len >= min_match_len)) {
        out.matches.push_back(LcsMatch{a_start, a_end, b_start, b_end, len});
      }
      a_start = alen;
    }
  }
  if (want_string) out.lcs = std::move(lcs);
  return out;
}

}  // namespace redge::store::strings
