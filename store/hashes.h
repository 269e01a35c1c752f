// Hash commands with Redis 7.0's semantics, as functions over a Txn.
//
// Layout: one element per field under (key, version, sub = field bytes, value = value
// bytes); Meta::count is the number of fields. Commands that touch given fields (HSET,
// HGET, HDEL, HINCRBY, ...) are point reads/writes, O(1) store operations per field,
// whatever the hash's size; HGETALL/HKEYS/HVALS are one ordered pass. A hash emptied by
// HDEL is deleted (events "hdel" then "del"). WRONGTYPE on other types. Fields come back
// in byte order (Redis's small hashes keep insertion order, big ones hash order: clients
// must not rely on either).
//
// Thread-safety: call only inside Store::Exec / Store::Run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/element_scan.h"
#include "store/status.h"
#include "store/txn.h"

namespace redge::store::hashes {

using FieldValue = std::pair<std::string, std::string>;

// Redis's defaults for the compact (listpack) encoding: a hash with at most this many
// fields, each field and value at most kCompactMaxValue bytes, is returned by HSCAN in one
// page, as Redis does.
inline constexpr uint64_t kCompactMaxEntries = 128;
inline constexpr size_t kCompactMaxValue = 64;

// The most elements HRANDFIELD with a negative count returns (Redis would try to build any
// reply; redge refuses what it cannot hold with "ERR value is out of range, ...").
inline constexpr uint64_t kMaxRandomCount = 10'000'000;

// HSET/HMSET: sets each (field, value) in order (a repeated field keeps its last value).
// Returns how many fields were new. Event "hset".
Result<int64_t> Set(Txn& txn, std::string_view key,
                    const std::vector<std::pair<std::string_view, std::string_view>>& pairs);
// HSETNX: true if the field was set (it did not exist). Event "hset" when set.
Result<bool> SetNX(Txn& txn, std::string_view key, std::string_view field, std::string_view value);
// HGET: NotFound if the key or the field is absent.
Result<std::string> Get(Txn& txn, std::string_view key, std::string_view field);
// HMGET: one entry per field (nullopt if absent; all nullopt for an absent key).
Result<std::vector<std::optional<std::string>>> MGet(Txn& txn, std::string_view key,
                                                     const std::vector<std::string_view>& fields);
// HDEL: how many of `fields` were removed.
Result<int64_t> Del(Txn& txn, std::string_view key, const std::vector<std::string_view>& fields);
// HLEN: 0 for an absent key.
Result<int64_t> Len(Txn& txn, std::string_view key);
// HSTRLEN: the value's length, 0 if the key or field is absent.
Result<int64_t> StrLen(Txn& txn, std::string_view key, std::string_view field);
// HEXISTS.
Result<bool> Exists(Txn& txn, std::string_view key, std::string_view field);
// HGETALL/HKEYS/HVALS: every (field, value) in field order; empty for an absent key.
Result<std::vector<FieldValue>> GetAll(Txn& txn, std::string_view key);
// HINCRBY: the new value. "ERR hash value is not an integer" if the stored value is not
// one (Redis's string2ll rules); "ERR increment or decrement would overflow". Event
// "hincrby".
Result<int64_t> IncrBy(Txn& txn, std::string_view key, std::string_view field, int64_t incr);
// HINCRBYFLOAT: the new value as Redis prints it (long double, "%.17Lf" trimmed).
// "ERR value is NaN or Infinity" for a non-finite increment (checked first), "ERR hash
// value is not a float", "ERR increment would produce NaN or Infinity". Event
// "hincrbyfloat".
Result<std::string> IncrByFloat(Txn& txn, std::string_view key, std::string_view field,
                                long double incr);

// HRANDFIELD key: one random field and its value; NotFound for an absent key.
Result<FieldValue> RandomField(Txn& txn, std::string_view key);
// HRANDFIELD key count: `order` lists indexes into `fields` in reply order. count > 0:
// min(count, HLEN) distinct fields (the whole hash in field order when count >= HLEN);
// count < 0: -count fields drawn independently (repeats allowed), in random order; 0:
// nothing. Empty for an absent key. Sampling is uniform for hashes up to
// sampling::kExactLimit fields, approximate above (see store/sampling.h).
struct RandomFields {
  std::vector<FieldValue> fields;
  std::vector<uint32_t> order;
};
Result<RandomFields> RandomFieldsWithCount(Txn& txn, std::string_view key, int64_t count);

// HSCAN: one page (see store/element_scan.h for the cursor's promises). A hash that Redis
// would keep compact (see kCompactMaxEntries) comes back whole in one page with cursor 0.
// Items are (field, value). Empty page with cursor 0 for an absent key.
Result<ElementScanPage> Scan(Txn& txn, std::string_view key, uint64_t cursor,
                             std::string_view pattern, uint64_t count);

}  // namespace redge::store::hashes
