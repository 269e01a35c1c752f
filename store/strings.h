// String commands with Redis's semantics, as functions over a Txn. They know strings and
// nothing of the protocol: edge/resp/ turns arguments into these calls and results into
// replies. Errors are Redis's (WrongType, NotInteger, Overflow, Syntax).
//
// Thread-safety: call only inside Store::Exec / Store::Run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/status.h"
#include "store/txn.h"

namespace redge::store::strings {

// Integer parsing exactly as Redis's string2ll: optional '-', no '+', no spaces, no
// leading zeros, fits in int64.
bool ParseInt64(std::string_view s, int64_t* out);

struct SetOptions {
  enum class Condition { kAlways, kNX, kXX } condition = Condition::kAlways;
  // Absolute deadline in ms (EX/PX/EXAT/PXAT are converted by the caller with
  // ExpireFromRelative/ExpireFromAbsolute); nullopt = no TTL (unless keep_ttl).
  std::optional<int64_t> expire_at_ms;
  bool keep_ttl = false;
  bool get = false;  // SET ... GET: return the old value
};
struct SetReply {
  bool written = false;
  // With `get`: the old value (nullopt if there was none).
  std::optional<std::string> old_value;
};
// SET with every option. WrongType only with `get` on a non-string (Redis's rule).
Result<SetReply> Set(Txn& txn, std::string_view key, std::string_view value,
                     const SetOptions& options = {});
// A deadline `amount` units (1000 for seconds, 1 for ms) from now, checking Redis's
// "invalid expire time in 'set' command" rules (> 0, no overflow).
Result<int64_t> DeadlineFromRelative(const Txn& txn, int64_t amount, int64_t unit_ms,
                                     std::string_view command);
Result<int64_t> DeadlineFromAbsolute(int64_t amount, int64_t unit_ms, std::string_view command);

// GET: NotFound if absent; WrongType if not a string.
Result<std::string> Get(Txn& txn, std::string_view key);
// GETDEL.
Result<std::string> GetDel(Txn& txn, std::string_view key);
struct GetExOptions {
  std::optional<int64_t> expire_at_ms;  // EX/PX/EXAT/PXAT (already a deadline)
  bool persist = false;
};
// GETEX.
Result<std::string> GetEx(Txn& txn, std::string_view key, const GetExOptions& options);
// MGET: nullopt for missing keys and non-strings (Redis returns nil, not an error).
std::vector<std::optional<std::string>> MGet(Txn& txn, const std::vector<std::string>& keys);
// MSET (always succeeds; clears TTLs). MSETNX returns false and writes nothing if any
// key exists.
void MSet(Txn& txn, const std::vector<std::pair<std::string, std::string>>& pairs);
bool MSetNX(Txn& txn, const std::vector<std::pair<std::string, std::string>>& pairs);
// INCRBY/DECRBY (INCR = IncrBy 1): the new value.
Result<int64_t> IncrBy(Txn& txn, std::string_view key, int64_t delta);
// INCRBYFLOAT: the new value formatted as Redis formats it.
Result<std::string> IncrByFloat(Txn& txn, std::string_view key, std::string_view delta);
// APPEND: the new length.
Result<int64_t> Append(Txn& txn, std::string_view key, std::string_view suffix);
// STRLEN: 0 if absent.
Result<int64_t> StrLen(Txn& txn, std::string_view key);
// GETRANGE / SETRANGE.
Result<std::string> GetRange(Txn& txn, std::string_view key, int64_t start, int64_t end);
Result<int64_t> SetRange(Txn& txn, std::string_view key, int64_t offset, std::string_view value);

// LCS key1 key2: the two strings (a missing key is ""), or "ERR The specified keys must
// contain string values".
Result<std::pair<std::string, std::string>> LcsInputs(Txn& txn, std::string_view key1,
                                                      std::string_view key2);
// The longest common subsequence of `a` and `b` by Redis's dynamic programme, with the
// matched ranges (IDX) in Redis's order: from the end of the strings backwards, ranges
// shorter than `min_match_len` left out. The table takes 4 * (|a|+1) * (|b|+1) bytes:
// above `max_table_bytes` (proto-max-bulk-len) the answer is Redis's "ERR Insufficient
// memory, transient memory for LCS exceeds proto-max-bulk-len".
struct LcsMatch {
  uint32_t a_start, a_end, b_start, b_end, len;
};
struct LcsResult {
  std::string lcs;  // when `want_string`
  uint32_t length = 0;
  std::vector<LcsMatch> matches;  // when `want_matches`
};
Result<LcsResult> Lcs(std::string_view a, std::string_view b, bool want_string, bool want_matches,
                      int64_t min_match_len, uint64_t max_table_bytes);

}  // namespace redge::store::strings
