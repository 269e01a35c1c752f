// OBJECT: what Redis 7.0 would report about a key's value. redge's physical layout is
// always RocksDB records (store/encoding.h), so OBJECT ENCODING names the encoding Redis
// 7.0 would use for the same value after the same history of writes:
//   strings      "int" (an integer of at most 20 characters, as Redis's string2l takes it),
//                "embstr" (up to 44 bytes), "raw" (longer, or edited in place: APPEND on an
//                existing key, SETRANGE, SETBIT, BITFIELD, BITOP results are raw in Redis
//                whatever their length; INCRBYFLOAT results are never int).
//   lists        "quicklist" (Redis 7.0's only list encoding).
//   hashes       "listpack" until a field or value longer than hash-max-listpack-value or
//                more than hash-max-listpack-entries fields, then "hashtable".
//   sets         "intset" while every member is an integer and there are at most
//                set-max-intset-entries, then "hashtable" (7.0 has no listpack sets).
//   sorted sets  "listpack" until a member longer than zset-max-listpack-value or more
//                than zset-max-listpack-entries members, then "skiplist".
//   streams      "stream".
// As in Redis the conversion is one way: a hash, set or sorted set that became
// hashtable/skiplist stays so when it shrinks. The type modules record that with a sticky
// marker in the metadata's extras (store/meta_extras.h, kConverted), set at the write that
// crossed a limit, with the limits in force at that moment (CONFIG SET changes only later
// writes, as in Redis). Results of SINTERSTORE-like commands and SPOP's rewrite are
// computed afresh, as Redis builds new objects for them. Strings keep a hint in Meta's
// version field (unused by strings otherwise): see StringHint.
//
// Thread-safety: EncodingLimits is atomics (set by CONFIG SET on any thread); the other
// functions run inside a store transaction.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/txn.h"

namespace redge::store::object {

// The compact-encoding limits of Redis 7.0 (CONFIG parameters of the same names; the
// defaults are Redis 7.0's compiled-in defaults).
struct EncodingLimits {
  std::atomic<int64_t> hash_max_listpack_entries{512};
  std::atomic<int64_t> hash_max_listpack_value{64};
  std::atomic<int64_t> set_max_intset_entries{512};
  std::atomic<int64_t> zset_max_listpack_entries{128};
  std::atomic<int64_t> zset_max_listpack_value{64};
};

// How a string was last written, for OBJECT ENCODING (kept in Meta::version of strings).
enum class StringHint : uint64_t {
  kByContent = 0,  // SET and friends, INCR: int / embstr / raw by the value
  kRaw = 1,        // edited in place (APPEND to an existing value, SETRANGE, SETBIT, ...)
  kNotInt = 2,     // INCRBYFLOAT: embstr / raw by length, never int
};
void SetStringHint(Meta* meta, StringHint hint);
StringHint GetStringHint(const Meta& meta);

// Whether a hash, set or sorted set has left its compact encoding for good.
bool IsConverted(const Meta& meta);
void MarkConverted(Meta* meta);
// Clears the marker (a new object built from scratch: a STORE result, SPOP's rewrite).
void ClearConverted(Meta* meta);

// Write-path checks, called by the type modules with the metadata they are about to
// store (count already updated). Each marks `meta` converted when Redis would convert.
// Hashes: a field or value written (HSET, HSETNX's arguments, HINCRBY*), then the count.
void NoteHashField(Txn& txn, Meta* meta, std::string_view field, std::string_view value);
void NoteHashCount(Txn& txn, Meta* meta);
// Sets: a member added (SADD, SMOVE's destination), after the count was incremented.
void NoteSetAdd(Txn& txn, Meta* meta, std::string_view member);
// Sorted sets: a member inserted (not a score update), after the count was incremented.
void NoteZSetInsert(Txn& txn, Meta* meta, std::string_view member);
// A new sorted set built at once (ZUNIONSTORE, ZRANGESTORE, ...): listpack iff its size and
// its longest member fit.
void SetNewZSetEncoding(Txn& txn, Meta* meta, uint64_t count, size_t max_member_len);
// A new set built at once (SINTERSTORE, SPOP's rewrite): intset iff every member is an
// integer and the count fits. `all_integers` is the caller's scan of the members.
void SetNewSetEncoding(Txn& txn, Meta* meta, uint64_t count, bool all_integers);

// MEMORY USAGE: an estimate of what the key and its value would take in Redis 7.0's
// memory (redge keeps them on disk): the key, a dict entry and an object header, plus the
// value: a string's bytes; for collections, the average size of up to `samples` elements
// (0 = all) read from the start, times the count, with Redis's per-element overheads of
// the encoding OBJECT ENCODING reports.
Result<int64_t> EstimateUsage(Txn& txn, std::string_view key, const Meta& meta, uint64_t samples);

// OBJECT ENCODING's answer for a live key.
std::string EncodingName(const Meta& meta);
// Whether a string value would be int-encoded in Redis (also what REFCOUNT's shared
// integers depend on). `*value` gets the integer.
bool IsIntEncodedString(const Meta& meta, int64_t* value);

}  // namespace redge::store::object
