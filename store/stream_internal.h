// Internal to store/streams.cc, stream_trim.cc and stream_groups*.cc: the stream's
// metadata encoding, sub-key builders, record codecs, and the listpack size model that
// decides node boundaries. Not a public API (see store/streams.h for the layout).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"
#include "store/streams.h"
#include "store/txn.h"

namespace redge::store::streams::internal {

// Stored in Meta::value. Encoding: [format 1][length 8][last 16][first 16][max deleted 16]
// [entries added 8][groups 8][next group number 8][nodes 8][head node 16][tail node 16]
// [origin 8][head live 8][head last 16]; integers big-endian, ids as StreamId::Encode.
struct StreamMeta {
  uint64_t length = 0;
  StreamId last_id;
  StreamId first_id;
  StreamId max_deleted_id;
  uint64_t entries_added = 0;
  uint64_t groups = 0;
  uint64_t next_group = 1;  // numbers name groups inside PEL and consumer sub-keys
  uint64_t nodes = 0;
  StreamId head_node;  // first id of the first node (valid when nodes > 0)
  StreamId tail_node;  // first id of the last node (valid when nodes > 0)
  // The key version the stream was created with: tells a blocked reader that the stream it
  // waits on was replaced by another (versions also change when a trim drops everything).
  uint64_t origin = 0;
  // The head node's live count and last id (valid when nodes > 0): trimming decides from
  // them whether the head node goes, without reading it, as most XADD ... MAXLEN ~ calls
  // remove nothing.
  uint64_t head_live = 0;
  StreamId head_last;
};
std::string EncodeStreamMeta(const StreamMeta& s);
bool DecodeStreamMeta(std::string_view raw, StreamMeta* s);

// A stream opened for a command: its key metadata and decoded stream metadata.
struct Stream {
  Meta meta;
  StreamMeta s;
};
// The registered view `key` names in the Txn's database, or null (Store::SetStreamView).
StreamView* ViewOf(Txn& txn, std::string_view key);
// NotFound / WrongType / Corruption, or the stream; ViewReadOnlyError for a key a
// StreamView matches (every operation but Info, Len and Range opens the stream here).
Result<Stream> Open(Txn& txn, std::string_view key);
// A new empty stream (XADD, XGROUP CREATE MKSTREAM); not written until Save.
Stream NewStream(Txn& txn);
// Writes the stream's metadata (which also wakes its blocked readers).
void Save(Txn& txn, std::string_view key, Stream& st);
// Save without counting as a modification for WATCH (Txn::PutMetaUnwatched).
void SaveUnwatched(Txn& txn, std::string_view key, Stream& st);

// Sub-keys.
inline constexpr char kEntryNs = 'e';
inline constexpr char kNodeNs = 'n';
inline constexpr char kGroupNs = 'g';
inline constexpr char kPelNs = 'p';
inline constexpr char kConsumerNs = 'c';
inline constexpr char kConsumerPelNs = 'q';
std::string EntrySub(StreamId id);
std::string NodeSub(StreamId first);
std::string GroupSub(std::string_view name);
std::string PelPrefix(uint64_t group);
std::string PelSub(uint64_t group, StreamId id);
std::string ConsumerPrefix(uint64_t group);
std::string ConsumerSub(uint64_t group, std::string_view name);
std::string ConsumerPelPrefix(uint64_t group, std::string_view consumer);
std::string ConsumerPelSub(uint64_t group, std::string_view consumer, StreamId id);

// Entry values: each field and value as [varint length][bytes].
std::string EncodeFields(const std::vector<std::string>& field_values);
bool DecodeFields(std::string_view raw, std::vector<std::string>* out);

// A node: one listpack of Redis's stream representation.
struct Node {
  StreamId first;  // the node's key (its master entry id)
  uint64_t live = 0;
  uint64_t deleted = 0;
  uint64_t bytes = 0;  // the listpack's size in Redis
  StreamId last;       // the last id appended to it (deleted or not)
  std::vector<std::string> master_fields;
};
std::string EncodeNode(const Node& n);
bool DecodeNode(StreamId first, std::string_view raw, Node* n);
Result<Node> ReadNode(Txn& txn, std::string_view key, uint64_t version, StreamId first);
// The node holding `id` (the one with the greatest first id <= id); NotFound if none.
Result<Node> FindNode(Txn& txn, std::string_view key, uint64_t version, StreamId id);
// The first node whose first id is > `after`; NotFound if none.
Result<Node> NextNode(Txn& txn, std::string_view key, uint64_t version, StreamId after);
// The last node whose first id is < `before`; NotFound if none.
Result<Node> PrevNode(Txn& txn, std::string_view key, uint64_t version, StreamId before);

// Listpack sizes (listpack.c): an integer element, and a string element (stored as an
// integer when it reads as one), each including its back-length bytes.
uint64_t LpIntSize(int64_t v);
uint64_t LpStringSize(std::string_view s);
// Bytes a node's listpack grows by when its live/deleted counters change from (live,
// deleted) to (new_live, new_deleted) (lpReplaceInteger of the master entry's counters).
int64_t CounterResize(uint64_t live, uint64_t deleted, uint64_t new_live, uint64_t new_deleted);

// Ids of live entries in [from, to], ascending, at most `limit` (0: all).
Result<std::vector<StreamId>> EntryIds(Txn& txn, std::string_view key, uint64_t version,
                                       StreamId from, StreamId to, uint64_t limit);
// Whether the entry exists.
Result<bool> EntryExists(Txn& txn, std::string_view key, uint64_t version, StreamId id);
// Reads entries in [from, to], at most `count` (0: all), ascending or descending.
Result<std::vector<Entry>> ReadEntries(Txn& txn, std::string_view key, const Stream& st,
                                       StreamId from, StreamId to, uint64_t count, bool reverse);
// The last live entry's id (0-0 when the stream is empty).
Result<StreamId> LastValidId(Txn& txn, std::string_view key, const Stream& st);
// The first live entry's id at or after `from` (nullopt when none).
Result<std::optional<StreamId>> FirstIdFrom(Txn& txn, std::string_view key, uint64_t version,
                                            StreamId from);

// Removes one live entry (XDEL's streamIteratorRemoveEntry): node counters, node removal
// when it held the last live entry, length. Does not touch first_id/max_deleted_id.
Status RemoveEntry(Txn& txn, std::string_view key, Stream& st, StreamId id);

// streamTrim: entries removed. Updates st (length, first id, nodes) but does not Save.
Result<int64_t> TrimStream(Txn& txn, std::string_view key, Stream& st, const TrimOptions& o);

// Consumer-group read counters (t_stream.c): streamRangeHasTombstones and
// streamEstimateDistanceFromFirstEverEntry (nullopt = SCG_INVALID_ENTRIES_READ).
bool RangeHasTombstones(const StreamMeta& s, std::optional<StreamId> start,
                        std::optional<StreamId> end);
std::optional<int64_t> EstimateDistance(const StreamMeta& s, StreamId id);

// --- Consumer groups (stream_pel.cc) ---------------------------------------------------
// 'g' + name -> [number 8][last delivered 16][entries read 8, -1 unknown][pel 8][consumers 8]
struct Group {
  std::string name;
  uint64_t number = 0;
  StreamId last_id;
  int64_t entries_read = -1;
  uint64_t pel = 0;
  uint64_t consumers = 0;
};
Result<std::optional<Group>> FindGroup(Txn& txn, std::string_view key, uint64_t version,
                                       std::string_view name);
void PutGroup(Txn& txn, std::string_view key, uint64_t version, const Group& g);

// 'p' + number + id -> [delivery time 8][deliveries 8][consumer name]
struct Nack {
  StreamId id;
  int64_t delivery_time = 0;
  uint64_t deliveries = 0;
  std::string consumer;  // empty only transiently (XCLAIM FORCE creating one)
};
bool DecodeNack(StreamId id, std::string_view raw, Nack* n);
Result<std::optional<Nack>> FindNack(Txn& txn, std::string_view key, uint64_t version,
                                     uint64_t group, StreamId id);
void PutNack(Txn& txn, std::string_view key, uint64_t version, uint64_t group, const Nack& n);
// Up to `limit` PEL entries with id >= from (ascending).
Result<std::vector<Nack>> ScanPel(Txn& txn, std::string_view key, uint64_t version, uint64_t group,
                                  StreamId from, size_t limit);

// 'c' + number + name -> [seen time 8][pel 8]
struct Consumer {
  std::string name;
  int64_t seen_time = 0;
  uint64_t pel = 0;
};
Result<std::optional<Consumer>> FindConsumer(Txn& txn, std::string_view key, uint64_t version,
                                             uint64_t group, std::string_view name);
void PutConsumer(Txn& txn, std::string_view key, uint64_t version, uint64_t group,
                 const Consumer& c);
// streamLookupConsumer (refreshing the seen time) or streamCreateConsumer (counting it in
// `g`). The caller writes the consumer and `g`.
Result<Consumer> LookupOrCreateConsumer(Txn& txn, std::string_view key, uint64_t version, Group& g,
                                        std::string_view name);

// Moves pending entry `n` to consumer `to` (creating it in the group PEL when its owner is
// empty): the owners' indexes and counters follow. Writes neither `n`, `to` nor `g`.
Status MoveNack(Txn& txn, std::string_view key, uint64_t version, Group& g, Nack& n, Consumer& to);
// Removes pending entry `n` from the group and its owner. `held` is a consumer record the
// caller will write itself (its counter is adjusted in place when it owns `n`).
Status DropNack(Txn& txn, std::string_view key, uint64_t version, Group& g, const Nack& n,
                Consumer* held);

// Fixed-width integer helpers.
void PutU64(std::string* dst, uint64_t v);
uint64_t GetU64(const char* p);

}  // namespace redge::store::streams::internal
