// Removals under a collection's current version, and the rewrite that bounds them.
//
// A removed field or member of a hash or set is a RocksDB tombstone under (key, version)
// until compaction reaches it, and every ordered pass over the collection steps over it:
// the random picks of SPOP / SRANDMEMBER / HRANDFIELD (store/sampling.h), SSCAN, SMEMBERS.
// A set drained by SPOP or SREM thus made each later pick walk the tombstones of all the
// earlier ones (quadratic: 50,000 SPOPs ran at 0.02x of Redis).
//
// The metadata extras count the removals made under the current version (tag kRemoved).
// Once they outnumber the live elements (and are at least kMinRemoved), and the live
// elements are few enough to copy in one command (at most kMaxRewrite), the live elements
// are written again under a new version: passes then see only live elements, and the old
// version is garbage for the compaction filter, as after a DEL. Each rewrite copies at
// most as many elements as were removed since the previous one, so the cost is O(1)
// amortized per removal. The count may overstate the tombstones (an element removed and
// added back overwrote its tombstone); that only brings a rewrite forward.
//
// Thread-safety: call only inside Store::Exec / Store::Run (the Txn's thread).
#pragma once

#include <cstdint>
#include <string_view>

#include "store/status.h"
#include "store/txn.h"

namespace redge::store::tombstones {

inline constexpr uint64_t kMinRemoved = 1024;
inline constexpr uint64_t kMaxRewrite = 65536;

// Records `removed` removals of elements of `key` (a hash or set; their DeleteElement
// calls already made in `txn`) in `meta`, and rewrites the live elements under a new
// version when the rule above says so. The caller then writes `meta` with PutMeta.
// REQUIRES: meta is the live metadata of `key`, of type kHash or kSet, with count > 0
// (the remaining elements).
Status NoteRemoved(Txn& txn, std::string_view key, Meta* meta, uint64_t removed);

// The removals counted under meta's current version (0 when none were recorded).
uint64_t Removed(const Meta& meta);

// Forgets the count after the elements were copied under a fresh version (RENAME, COPY,
// MOVE), which leaves the tombstones behind. Any type (only hashes and sets keep one).
void ForgetAfterCopy(Meta* meta);

}  // namespace redge::store::tombstones
