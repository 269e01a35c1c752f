// Generic key commands (any type): DEL, EXISTS, EXPIRE family, TTL family, PERSIST,
// TYPE, KEYS, SCAN, RENAME, RANDOMKEY. Redis semantics; glob rules of glob.h.
//
// Thread-safety: call only inside Store::Exec / Store::Run.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"
#include "store/txn.h"

namespace redge::store::keys {

// DEL / UNLINK: number of keys removed. O(1) per key whatever its size.
int64_t Del(Txn& txn, const std::vector<std::string>& keys);
// EXISTS: counts repeats ("EXISTS a a" is 2 when a exists).
int64_t Exists(Txn& txn, const std::vector<std::string>& keys);

struct ExpireFlags {
  bool nx = false, xx = false, gt = false, lt = false;
};
// Parses NX/XX/GT/LT words into flags; Syntax-class errors with Redis's texts
// ("ERR NX and XX, GT or LT options at the same time are not compatible", ...).
Result<ExpireFlags> ParseExpireFlags(const std::vector<std::string>& words);
// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT once converted to an absolute deadline: true if the
// TTL was set (a deadline in the past deletes the key, and that counts as set).
Result<bool> ExpireAt(Txn& txn, std::string_view key, int64_t deadline_ms,
                      const ExpireFlags& flags = {});
// The deadline for EXPIRE key N (unit_ms 1000) or PEXPIRE (1): "ERR invalid expire time in
// '<cmd>' command" on overflow, as Redis.
Result<int64_t> RelativeDeadline(const Txn& txn, int64_t amount, int64_t unit_ms,
                                 std::string_view command);
Result<int64_t> AbsoluteDeadline(int64_t amount, int64_t unit_ms, std::string_view command);

// TTL/PTTL: -2 absent, -1 no TTL, else remaining (rounded as Redis: TTL rounds to the
// nearest second). EXPIRETIME/PEXPIRETIME: -2, -1, or the absolute deadline.
int64_t Ttl(Txn& txn, std::string_view key, int64_t unit_ms);
int64_t ExpireTime(Txn& txn, std::string_view key, int64_t unit_ms);
// PERSIST: true if a TTL was removed.
bool Persist(Txn& txn, std::string_view key);
// TYPE.
KeyType Type(Txn& txn, std::string_view key);

// KEYS pattern: every live key matching, in key order.
std::vector<std::string> Keys(Txn& txn, std::string_view pattern);

// SCAN: cursors are opaque integers (redis-py parses them as ints); 0 starts and ends.
struct ScanPage {
  uint64_t next_cursor = 0;
  std::vector<std::string> keys;
};
// `count` is a hint of how many keys to look at; `type` filters by TYPE name ("" = any).
Result<ScanPage> Scan(Txn& txn, uint64_t cursor, std::string_view pattern, int64_t count,
                      std::string_view type);

// RENAME: NoSuchKey if `from` is absent; keeps the TTL; overwrites `to`. RENAMENX returns
// false if `to` exists.
Status Rename(Txn& txn, std::string_view from, std::string_view to);
Result<bool> RenameNX(Txn& txn, std::string_view from, std::string_view to);

// COPY source destination [DB db] [REPLACE]: false if `source` is absent, or
// `destination` exists in `dst_db` and `replace` is false. Keeps the TTL. O(n) in the
// elements copied. The caller refuses source == destination in the same database.
Result<bool> Copy(Txn& txn, std::string_view source, int dst_db, std::string_view destination,
                  bool replace);
// MOVE key db: false if `key` is absent here or exists in `dst_db`. Keeps the TTL.
Result<bool> Move(Txn& txn, std::string_view key, int dst_db);
// SWAPDB a b: every key of database a is in b and the other way round, in this batch.
// O(n) in the size of both databases (Redis swaps two pointers; here records are keyed by
// database, so they are rewritten). Blocked clients and WATCHers of the keys are told.
Status SwapDb(Txn& txn, int a, int b);

// MEMORY USAGE key [SAMPLES n]: an estimate in bytes of what the key costs here: its
// metadata record plus its element records, the elements extrapolated from the first
// `samples` of them (all of them when samples is 0), as Redis estimates. NotFound if
// absent.
Result<int64_t> MemoryUsage(Txn& txn, std::string_view key, int64_t samples);

}  // namespace redge::store::keys
