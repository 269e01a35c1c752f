// Streams with Redis 7.0's semantics, as functions over a Txn: entries, ranges, XADD's
// id rules, trimming (MAXLEN/MINID, exact and approximate, LIMIT), XDEL, XSETID and the
// stream half of XINFO. Consumer groups are in store/stream_groups.h.
//
// Layout: everything of a stream lives under its key's (key, version) element prefix, so
// DEL and expiry stay one metadata delete and the compaction filter reclaims the rest.
// Sub-keys start with a one-byte namespace:
//   'e' + id (16 bytes, big-endian ms then seq)   -> the entry's fields and values
//   'n' + first id of a node                       -> node bookkeeping (see below)
//   'g' + group name                               -> a consumer group
//   'p' + group number + id                        -> the group's pending entry (NACK)
//   'c' + group number + consumer name             -> a consumer
//   'q' + group number + name length + name + id   -> the consumer's pending entry index
// Meta::value holds the stream's metadata (length, last/first/max-deleted ids, entries
// added, groups, nodes) in a versioned encoding (store/stream_internal.h).
//
// Nodes: Redis keeps entries in listpacks of at most stream-node-max-entries entries and
// stream-node-max-bytes bytes, and approximate trimming ('~') removes whole listpacks
// only. To give the same lengths after '~' trims, the store keeps the same partition:
// each node records its live and deleted counts and the exact byte size its listpack
// would have, so a new node starts exactly where Redis would start one.
//
// Thread-safety: call only inside Store::Exec / Store::Run (the Txn's rules).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"
#include "store/txn.h"

namespace redge::store::streams {

// A stream entry id: milliseconds and sequence number, ordered as a pair.
struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;

  static constexpr StreamId Min() { return {0, 0}; }
  static constexpr StreamId Max() { return {UINT64_MAX, UINT64_MAX}; }
  bool IsZero() const { return ms == 0 && seq == 0; }
  // The next id; false (and 0-0) when this is the greatest id (Redis's streamIncrID).
  bool Incr();
  // The previous id; false (and the greatest id) when this is 0-0 (streamDecrID).
  bool Decr();
  // "<ms>-<seq>".
  std::string ToString() const;
  // 16 bytes, big-endian ms then seq: byte order equals id order.
  std::string Encode() const;
  static StreamId Decode(std::string_view sixteen_bytes);
  auto operator<=>(const StreamId&) const = default;
};

// Redis's streamGenericParseIDOrReply: "<ms>-<seq>", "<ms>" (seq = missing_seq), "-" and
// "+" (unless strict), and "<ms>-*" when seq_given is non-null (then *seq_given says
// whether a sequence was given). Numbers follow Redis's string2ull. nullopt when invalid.
std::optional<StreamId> ParseId(std::string_view s, uint64_t missing_seq, bool strict,
                                bool* seq_given = nullptr);
// "ERR Invalid stream ID specified as stream command argument".
Status InvalidIdError();

// One entry: its id and field/value pairs flattened (f1, v1, f2, v2, ...). `missing` marks a
// pending id whose entry was deleted (XREADGROUP history replies [id, nil] for it).
struct Entry {
  StreamId id;
  std::vector<std::string> fields;
  bool missing = false;
};

// stream-node-max-entries / stream-node-max-bytes (Redis's defaults).
struct NodeLimits {
  int64_t max_entries = 100;
  int64_t max_bytes = 4096;
};

enum class TrimStrategy { kNone, kMaxLen, kMinId };

// XADD's and XTRIM's trimming options, already validated (streamParseAddOrTrimArgsOrReply).
struct TrimOptions {
  TrimStrategy strategy = TrimStrategy::kNone;
  bool approx = false;  // '~': remove whole nodes only
  int64_t limit = 0;    // at most this many entries (0: no limit)
  int64_t maxlen = 0;   // kMaxLen
  StreamId minid;       // kMinId
  NodeLimits nodes;
};
// The LIMIT Redis uses for '~' when none is given: 100 nodes' worth, within [1e4, 1e6]
// when stream-node-max-entries is 0 or huge.
int64_t DefaultApproxLimit(const NodeLimits& nodes);

struct AddOptions {
  std::optional<StreamId> id;  // nullopt: "*"
  bool seq_given = true;       // false for "<ms>-*"
  bool no_mkstream = false;
  TrimOptions trim;
};

// XADD. `field_values` has an even, non-zero size. Returns the new id; NotFound when
// no_mkstream and the key is absent. Errors are Redis's lines ("ERR The ID specified in
// XADD is equal or smaller than the target stream top item", ...). Notifies "xadd" (and
// "xtrim" when trimming removed entries).
Result<StreamId> Add(Txn& txn, std::string_view key, const AddOptions& options,
                     const std::vector<std::string>& field_values);

// XTRIM: the number of entries removed (0 for an absent key).
Result<int64_t> Trim(Txn& txn, std::string_view key, const TrimOptions& options);

// XLEN: 0 for an absent key.
Result<int64_t> Len(Txn& txn, std::string_view key);

// XRANGE / XREVRANGE over [start, end] (inclusive), at most `count` entries (0: all).
// NotFound for an absent key.
Result<std::vector<Entry>> Range(Txn& txn, std::string_view key, StreamId start, StreamId end,
                                 uint64_t count, bool reverse);

// XDEL: how many of `ids` existed and were deleted (0 for an absent key).
Result<int64_t> Delete(Txn& txn, std::string_view key, const std::vector<StreamId>& ids);

// XSETID key id [ENTRIESADDED n] [MAXDELETEDID id]. "ERR no such key" when absent.
Status SetId(Txn& txn, std::string_view key, StreamId last_id, std::optional<int64_t> entries_added,
             std::optional<StreamId> max_deleted);

// The stream's metadata (XINFO STREAM's counters; XREAD's readiness checks).
struct StreamInfo {
  // Names this stream among all streams ever stored under the key: a stream deleted and
  // created again (or renamed onto the key) has another origin.
  uint64_t origin = 0;
  uint64_t length = 0;
  uint64_t nodes = 0;  // radix-tree-keys
  StreamId last_id;    // last-generated-id
  StreamId max_deleted_id;
  uint64_t entries_added = 0;
  StreamId first_id;  // recorded-first-entry-id
  uint64_t groups = 0;
  // The last entry that exists (0-0 when empty); can be below last_id after XDEL.
  StreamId last_valid_id;
};
// NotFound for an absent key, WrongType for another type.
Result<StreamInfo> Info(Txn& txn, std::string_view key);

// radix-tree-nodes of XINFO STREAM: the node count of the radix tree Redis would build over
// this stream's node keys (a compressed trie of 16-byte keys). O(nodes).
Result<int64_t> RadixTreeNodes(Txn& txn, std::string_view key);

}  // namespace redge::store::streams
