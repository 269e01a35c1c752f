// On-disk encoding of the store (internal to store/).
//
// Column families:
//   meta    [db:1][key]                          -> metadata record (EncodeMeta)
//   data    [db:1][keylen:4 BE][key][version:8 BE][sub] -> element value
//   expire  [deadline_ms:8 BE][db:1][key]        -> "" (an index ordered by deadline)
// Metadata record: [type:1][expire_at_ms:8 LE][version:8 LE] then, for strings, the
// value; for lists, head:8 LE and tail:8 LE; for hashes, sets and sorted sets, count:8 LE
// then the type's extras (Meta::value); for streams, the stream's metadata (Meta::value).
// Records with db byte kInternalDb in `meta` are the store's own bookkeeping.
//
// The length prefix in data keys makes (db, key, version) a prefix no other key can
// share, so a range of elements is exactly the records under that prefix.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/txn.h"

namespace redge::store::encoding {

inline constexpr uint8_t kInternalDb = 0xFF;
inline constexpr uint64_t kListInitialIndex = uint64_t{1} << 63;

void PutFixed64BE(std::string* dst, uint64_t v);
uint64_t DecodeFixed64BE(const char* p);
void PutFixed64LE(std::string* dst, uint64_t v);
uint64_t DecodeFixed64LE(const char* p);

std::string MetaKey(int db, std::string_view key);
// Splits a meta key; false for internal records.
bool ParseMetaKey(std::string_view raw, int* db, std::string_view* key);

std::string DataPrefix(int db, std::string_view key, uint64_t version);
std::string DataKey(int db, std::string_view key, uint64_t version, std::string_view sub);
// Splits a data key into its parts; false if malformed.
bool ParseDataKey(std::string_view raw, int* db, std::string_view* key, uint64_t* version,
                  std::string_view* sub);
// The prefix shared by every version of `key`'s elements.
std::string DataKeyPrefixAnyVersion(int db, std::string_view key);

std::string ExpireKey(int64_t deadline_ms, int db, std::string_view key);
bool ParseExpireKey(std::string_view raw, int64_t* deadline_ms, int* db, std::string_view* key);

std::string EncodeMeta(const Meta& meta);
bool DecodeMeta(std::string_view raw, Meta* meta);

std::string ListSubKey(uint64_t index);

}  // namespace redge::store::encoding
