// Set commands with Redis 7.0's semantics, as functions over a Txn.
//
// Layout: one element per member under (key, version, sub = member bytes, value = "");
// Meta::count is the cardinality. Membership tests, SADD, SREM and SMOVE are point
// reads/writes, O(1) store operations per member whatever the set's size. A set emptied
// by SREM, SPOP or SMOVE is deleted (events "srem"/"spop" then "del"). WRONGTYPE on other
// types.
//
// Order of members in replies: byte order, except that a result Redis would hold as an
// intset (at most kIntsetMaxEntries members, all integers by Redis's string2ll rules) is
// in ascending numeric order, as Redis replies it (see SortLikeRedis).
//
// Thread-safety: call only inside Store::Exec / Store::Run.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/element_scan.h"
#include "store/status.h"
#include "store/txn.h"

namespace redge::store::sets {

// Redis's default set-max-intset-entries.
inline constexpr uint64_t kIntsetMaxEntries = 512;
// The most members SRANDMEMBER with a negative count returns (see hashes.h).
inline constexpr uint64_t kMaxRandomCount = 10'000'000;

// SADD: how many members were new. Event "sadd" when any was.
Result<int64_t> Add(Txn& txn, std::string_view key, const std::vector<std::string_view>& members);
// SREM: how many members were removed. Events "srem" (and "del" when emptied).
Result<int64_t> Rem(Txn& txn, std::string_view key, const std::vector<std::string_view>& members);
// SISMEMBER: false for an absent key.
Result<bool> IsMember(Txn& txn, std::string_view key, std::string_view member);
// SMISMEMBER: one answer per member (all false for an absent key).
Result<std::vector<bool>> MIsMember(Txn& txn, std::string_view key,
                                    const std::vector<std::string_view>& members);
// SCARD: 0 for an absent key.
Result<int64_t> Card(Txn& txn, std::string_view key);
// SMEMBERS: every member (reply order, see above); empty for an absent key.
Result<std::vector<std::string>> Members(Txn& txn, std::string_view key);

// SPOP key: a random member, removed; NotFound for an absent key. Events "spop" (and
// "del").
Result<std::string> Pop(Txn& txn, std::string_view key);
// SPOP key count: min(count, SCARD) random members, removed; the whole set (deleted) when
// count >= SCARD. NotFound for an absent key; empty for count 0 (no event).
Result<std::vector<std::string>> PopCount(Txn& txn, std::string_view key, uint64_t count);
// SRANDMEMBER key: a random member; NotFound for an absent key.
Result<std::string> RandMember(Txn& txn, std::string_view key);
// SRANDMEMBER key count: as hashes::RandomFieldsWithCount (count > 0 distinct, < 0 with
// repeats, `order` indexes `members`). Empty for an absent key.
struct RandomMembers {
  std::vector<std::string> members;
  std::vector<uint32_t> order;
};
Result<RandomMembers> RandMembersWithCount(Txn& txn, std::string_view key, int64_t count);

// SMOVE: true if `member` was moved (or, when source == destination, is a member). An
// absent source gives false before any type check; then WRONGTYPE for either key. Events
// "srem" on the source (and "del"), "sadd" on the destination if it was added there.
Result<bool> Move(Txn& txn, std::string_view source, std::string_view destination,
                  std::string_view member);

// SINTER, SUNION, SDIFF over `keys` (absent keys are empty sets; WRONGTYPE if any key,
// wherever it is, holds another type). Results in reply order.
enum class SetOp { kInter, kUnion, kDiff };
Result<std::vector<std::string>> Combine(Txn& txn, SetOp op, const std::vector<std::string>& keys);
// SINTERCARD: the intersection's cardinality, stopping at `limit` (0 = no limit).
Result<int64_t> InterCard(Txn& txn, const std::vector<std::string>& keys, uint64_t limit);
// SINTERSTORE/SUNIONSTORE/SDIFFSTORE: stores the result at `destination` (replacing any
// value of any type and its TTL) and returns its size; an empty result deletes
// `destination`. Events "sinterstore"/"sunionstore"/"sdiffstore", or "del".
Result<int64_t> CombineStore(Txn& txn, SetOp op, std::string_view destination,
                             const std::vector<std::string>& keys);

// SSCAN: one page (see store/element_scan.h). A set Redis would hold as an intset comes
// back whole in one page with cursor 0, in numeric order. Items are (member, "").
Result<ElementScanPage> Scan(Txn& txn, std::string_view key, uint64_t cursor,
                             std::string_view pattern, uint64_t count);

// Puts `members` (distinct, byte order) in the order Redis replies them: ascending numeric
// order if they would form an intset, else unchanged.
void SortLikeRedis(std::vector<std::string>* members);

}  // namespace redge::store::sets
