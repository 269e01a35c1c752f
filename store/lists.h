// List commands with Redis's semantics, as functions over a Txn. Elements live under
// (key, version, index) with indexes [head, tail) so pushes and pops at either end are
// O(1); a list emptied by a pop or a trim is deleted; WRONGTYPE on other types.
//
// Thread-safety: call only inside Store::Exec / Store::Run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"
#include "store/txn.h"

namespace redge::store::lists {

// LPUSH/RPUSH: the new length. LPUSHX/RPUSHX (only_if_exists): 0 if absent.
Result<int64_t> Push(Txn& txn, std::string_view key, ListEnd end,
                     const std::vector<std::string>& values, bool only_if_exists = false);
// LPOP/RPOP key [count]: up to `count` elements; NotFound if the key is absent.
Result<std::vector<std::string>> Pop(Txn& txn, std::string_view key, ListEnd end, size_t count);
// LLEN: 0 if absent.
Result<int64_t> Len(Txn& txn, std::string_view key);
// LRANGE with Redis's index rules (negative from the end, clamped).
Result<std::vector<std::string>> Range(Txn& txn, std::string_view key, int64_t start, int64_t stop);
// LINDEX: NotFound if out of range or absent.
Result<std::string> Index(Txn& txn, std::string_view key, int64_t index);
// LSET: NoSuchKey if absent, OutOfRange if the index is outside.
Status SetIndex(Txn& txn, std::string_view key, int64_t index, std::string_view value);
// LREM: count > 0 from head, < 0 from tail, 0 all. Returns removed count.
Result<int64_t> Rem(Txn& txn, std::string_view key, int64_t count, std::string_view value);
// LTRIM.
Status Trim(Txn& txn, std::string_view key, int64_t start, int64_t stop);
// LINSERT BEFORE|AFTER pivot: new length, -1 if pivot not found, 0 if key absent.
Result<int64_t> Insert(Txn& txn, std::string_view key, bool before, std::string_view pivot,
                       std::string_view value);
// LPOS: rank (non-zero; negative searches from the tail), count (0 = all), maxlen
// (0 = unlimited). Returns matching indexes. Errors with Redis's texts for bad rank.
struct PosOptions {
  int64_t rank = 1;
  std::optional<int64_t> count;  // nullopt: single reply form
  int64_t maxlen = 0;
};
Result<std::vector<int64_t>> Pos(Txn& txn, std::string_view key, std::string_view element,
                                 const PosOptions& options);
// LMOVE/RPOPLPUSH: the moved element; NotFound if source is absent. Works when source
// and destination are the same key (rotation).
Result<std::string> Move(Txn& txn, std::string_view source, std::string_view destination,
                         ListEnd from, ListEnd to);
// LMPOP: the first non-empty key of `keys` and up to `count` elements; NotFound if none.
struct MPopResult {
  std::string key;
  std::vector<std::string> values;
};
Result<MPopResult> MPop(Txn& txn, const std::vector<std::string>& keys, ListEnd end, size_t count);

// Replaces whatever `key` holds (any type; its TTL goes too) with a new list of `values`
// (not empty), as Redis's setKey does for SORT ... STORE. Raises no event: the caller does.
void Replace(Txn& txn, std::string_view key, const std::vector<std::string>& values);

}  // namespace redge::store::lists
