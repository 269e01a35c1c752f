// DUMP and RESTORE with redge's own payload format. A payload restores into redge (the
// same or another instance, any version that reads format 1); it is not Redis's RDB
// encoding, so payloads do not move between redge and Redis: a Redis server refuses a
// redge payload with "Bad data format" (the first byte is no RDB type), and redge refuses a
// Redis payload the same way.
//
// Format 1, all integers little-endian:
//   0xD7 0x01                     magic and format version
//   varint length, bytes          the key's metadata record (store/encoding.h EncodeMeta)
//                                 with no TTL and version 0
//   varint n, then n times        the collection's element records, in key order:
//     varint length, sub-key bytes, varint length, value bytes
//   2 bytes                       10 (Redis 7.0's RDB_VERSION, as Redis's DUMP footer)
//   8 bytes                       CRC-64/Jones (Redis's crc64) of everything before
// The element records are the key's own layout (list indexes, hash fields, sorted-set
// member and score-index records, stream records), so every type round-trips exactly,
// OBJECT ENCODING markers included.
//
// Thread-safety: call only inside Store::Exec / Store::Run.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/status.h"
#include "store/txn.h"

namespace redge::store::dump {

// Redis's crc64 (Jones polynomial, reflected): crc64(0, "123456789") = 0xe9c6d914c4b8d9ca.
uint64_t Crc64(uint64_t crc, std::string_view data);

// DUMP: the payload, NotFound if the key is absent.
Result<std::string> Dump(Txn& txn, std::string_view key);

// Whether `payload` passes Redis's footer checks (RDB version <= 10, checksum); false is
// "ERR DUMP payload version or checksum are wrong".
bool VerifyFooter(std::string_view payload);

// RESTORE's write, after the caller checked the options, BUSYKEY and the footer:
// `expire_at_ms` absolute (0 = no TTL). Replaces any value at `key` (RESTORE ... REPLACE);
// a deadline already passed deletes it instead ("del" event if it existed). Raises
// "restore". InvalidArgument("Bad data format") for a payload it cannot read.
Status Restore(Txn& txn, std::string_view key, std::string_view payload, int64_t expire_at_ms);

}  // namespace redge::store::dump
