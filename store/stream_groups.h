// Stream consumer groups with Redis 7.0's semantics, as functions over a Txn: XGROUP,
// XREADGROUP's reads, XACK, XPENDING, XCLAIM, XAUTOCLAIM and the group half of XINFO.
//
// Groups, their pending entries lists (PEL) and consumers are records under the stream's
// (key, version) prefix (layout in store/streams.h), so they are as durable as the
// entries and go away with the key. Each group has a number; its PEL is ordered by entry
// id ('p'), and each consumer's own PEL is an index ordered by id ('q'). Times (delivery,
// seen) come from the store's clock (txn.now_ms()).
//
// Error texts are Redis's: "NOGROUP No such key 'k' or consumer group 'g'", "BUSYGROUP
// Consumer Group name already exists", ...
//
// Thread-safety: call only inside Store::Exec / Store::Run (the Txn's rules).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"
#include "store/streams.h"
#include "store/txn.h"

namespace redge::store::streams {

// --- XGROUP ---------------------------------------------------------------------------
// `id_arg` is the command's id argument ("$" or an id; CREATE parses it strictly, SETID
// also takes "-" and "+"). `entries_read` -1 means unknown (Redis's default).
Status CreateGroup(Txn& txn, std::string_view key, std::string_view group, std::string_view id_arg,
                   bool mkstream, int64_t entries_read);
Status SetGroupId(Txn& txn, std::string_view key, std::string_view group, std::string_view id_arg,
                  int64_t entries_read);
// 1 if the group existed and was destroyed (its PEL and consumers with it), else 0.
Result<int64_t> DestroyGroup(Txn& txn, std::string_view key, std::string_view group);
// 1 if created, 0 if it existed.
Result<int64_t> CreateConsumer(Txn& txn, std::string_view key, std::string_view group,
                               std::string_view consumer);
// The number of pending entries the deleted consumer had (0 if it did not exist).
Result<int64_t> DeleteConsumer(Txn& txn, std::string_view key, std::string_view group,
                               std::string_view consumer);

// Whether `key` holds a stream with `group`: false when either is absent; WrongType for
// another type.
Result<bool> GroupExists(Txn& txn, std::string_view key, std::string_view group);
// OK when the group exists; otherwise the error of XCLAIM, XAUTOCLAIM and XPENDING
// ("NOGROUP No such key 'k' or consumer group 'g'") or WRONGTYPE.
Status CheckGroup(Txn& txn, std::string_view key, std::string_view group);

// --- XREADGROUP -----------------------------------------------------------------------
// ">": new entries for `consumer` (created if needed), at most `count` (0: all), which
// join the group's PEL unless `noack`, advancing the group's last delivered id and read
// counter. nullopt (nothing written) when there is nothing to serve: the last entry that
// exists is not newer than the last delivered id, or, for a blocked reader being woken
// (`blocked`), the stream's last id is not newer (then the reply may be empty, as in
// Redis). NotFound for an absent key, NOGROUP error (XREADGROUP's text) for an absent group.
Result<std::optional<std::vector<Entry>>> ReadGroupNew(Txn& txn, std::string_view key,
                                                       std::string_view group,
                                                       std::string_view consumer, uint64_t count,
                                                       bool noack, bool blocked);
// An explicit id: the consumer's own pending entries from `start`, at most `count`;
// each delivered again (its delivery count increments). Entries deleted from the stream
// come back with `missing` set.
Result<std::vector<Entry>> ReadGroupHistory(Txn& txn, std::string_view key, std::string_view group,
                                            std::string_view consumer, StreamId start,
                                            uint64_t count);
// "NOGROUP No such key 'k' or consumer group 'g' in XREADGROUP with GROUP option".
Status ReadGroupNoGroupError(std::string_view key, std::string_view group);

// --- XACK -----------------------------------------------------------------------------
// The number of `ids` removed from the group's PEL (0 when the key or group is absent).
Result<int64_t> Ack(Txn& txn, std::string_view key, std::string_view group,
                    const std::vector<StreamId>& ids);

// --- XPENDING -------------------------------------------------------------------------
struct PendingSummary {
  uint64_t count = 0;
  StreamId first, last;                                     // valid when count > 0
  std::vector<std::pair<std::string, uint64_t>> consumers;  // with pending entries
};
Result<PendingSummary> Pending(Txn& txn, std::string_view key, std::string_view group);

struct PendingEntry {
  StreamId id;
  std::string consumer;
  int64_t idle = 0;  // ms since the last delivery (>= 0)
  uint64_t deliveries = 0;
};
// Pending entries in [start, end], at most `count`, idle for at least `min_idle` (0: any),
// of one consumer when given (an absent consumer: none).
Result<std::vector<PendingEntry>> PendingRange(Txn& txn, std::string_view key,
                                               std::string_view group, StreamId start, StreamId end,
                                               uint64_t count, int64_t min_idle,
                                               const std::optional<std::string>& consumer);

// --- XCLAIM / XAUTOCLAIM --------------------------------------------------------------
struct ClaimOptions {
  int64_t min_idle = 0;
  std::vector<StreamId> ids;
  // IDLE ms (relative) or TIME ms (absolute unix time): the last one given wins.
  enum class Delivery { kNow, kIdle, kTime } delivery = Delivery::kNow;
  int64_t delivery_value = 0;
  int64_t retry_count = -1;  // RETRYCOUNT; -1: not given
  bool force = false;
  bool justid = false;
  StreamId last_id;  // LASTID (0-0: not given)
};
// The claimed entries (ids only when justid). Pending ids whose entries were deleted are
// dropped from the PEL. Requires CheckGroup's success.
Result<std::vector<Entry>> Claim(Txn& txn, std::string_view key, std::string_view group,
                                 std::string_view consumer, const ClaimOptions& options);

struct AutoClaimResult {
  StreamId next;  // where the next call should start (0-0: the scan finished)
  std::vector<Entry> claimed;
  std::vector<StreamId> deleted;  // pending ids whose entries no longer exist (dropped)
};
Result<AutoClaimResult> AutoClaim(Txn& txn, std::string_view key, std::string_view group,
                                  std::string_view consumer, int64_t min_idle, StreamId start,
                                  int64_t count, bool justid);

// --- XINFO ----------------------------------------------------------------------------
struct GroupInfo {
  std::string name;
  uint64_t consumers = 0;
  uint64_t pending = 0;
  StreamId last_delivered;
  std::optional<int64_t> entries_read;
  std::optional<int64_t> lag;
};
// XINFO GROUPS (in name order). NotFound for an absent key.
Result<std::vector<GroupInfo>> Groups(Txn& txn, std::string_view key);

struct ConsumerInfo {
  std::string name;
  uint64_t pending = 0;
  int64_t idle = 0;  // ms since last seen
};
// XINFO CONSUMERS: NotFound for an absent key; "NOGROUP No such consumer group 'g' for key
// name 'k'" for an absent group.
Result<std::vector<ConsumerInfo>> Consumers(Txn& txn, std::string_view key, std::string_view group);

// XINFO STREAM FULL's groups section; `count` bounds each PEL list (0: all).
struct FullPending {
  StreamId id;
  std::string consumer;  // group PEL only
  int64_t delivery_time = 0;
  uint64_t deliveries = 0;
};
struct FullConsumer {
  std::string name;
  int64_t seen_time = 0;
  uint64_t pel_count = 0;
  std::vector<FullPending> pending;
};
struct FullGroup {
  GroupInfo info;
  std::vector<FullPending> pending;
  std::vector<FullConsumer> consumers;
};
Result<std::vector<FullGroup>> FullGroups(Txn& txn, std::string_view key, uint64_t count);

}  // namespace redge::store::streams
