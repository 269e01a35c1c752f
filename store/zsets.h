// Sorted-set commands with Redis 7.0's semantics, as functions over a Txn. They know
// sorted sets and nothing of the protocol: edge/resp/zset_commands*.cc turns arguments
// into these calls and results into replies.
//
// Layout (see notes in STORE_API): under the key's (key, version) two namespaces,
//   'm' + member                              -> score (8 bytes, the double's bits, LE)
//   's' + EncodeScore(score) (8 bytes) + member -> ""  (the score index)
// The index sorts exactly as Redis's skiplist (score, then member bytes), so a range by
// score is one seek plus a walk of what it returns, ZPOPMIN/ZPOPMAX read the ends, and
// equal-score lexicographic ranges are a seek too. A set of 1,024 members or more also
// keeps rank blocks ('r' records: the index cut into counted runs of 512 to 1,024 entries,
// zset_internal.h), Redis's skiplist spans in a form a key-value store can keep: ZRANK,
// ZRANGE by index, ZREMRANGEBYRANK and long ZCOUNTs read the counts of the runs before
// the wanted entry and walk within one run, O(n / 512 + 1,024 + m) record reads (a few
// hundred in the middle of a set of 100,000) instead of a walk of up to n / 2 entries;
// near either end, and in smaller sets, they walk from the nearer end. ZLEXCOUNT walks
// its range (O(log n + m)). The metadata keeps seek hints (Meta::value: the lowest and
// highest live index positions) so walks from either end skip the tombstones that pops
// leave until compaction.
//
// -0.0 is stored as +0.0 (what Redis does for sorted sets in its listpack encoding, i.e.
// every set of up to 128 short members; Redis's skiplist encoding keeps the sign).
// A sorted set emptied by any command is deleted; WRONGTYPE on other types.
//
// Thread-safety: call only inside Store::Exec / Store::Run (the Txn's thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/status.h"
#include "store/txn.h"

namespace redge::store::zsets {

// --- Layout helpers (other modules that read sorted sets directly use these) ------------

// 8 bytes whose byte order is the numeric order of `score` (not NaN): the sign bit flipped
// for positives, every bit flipped for negatives; -0.0 encodes as +0.0.
std::string EncodeScore(double score);
// The inverse of EncodeScore; `p` points at 8 bytes.
double DecodeScore(const char* p);
// The element sub-keys of `member`.
std::string MemberSub(std::string_view member);
std::string IndexSub(double score, std::string_view member);

// Text of a score as Redis 7.0 keeps it inside a listpack (what ZSCAN returns for a small
// sorted set): integers within +-2^62 as integers, otherwise "%.17g", "inf", "-inf".
std::string ListpackScoreText(double score);

struct Entry {
  std::string member;
  double score = 0;
  bool operator==(const Entry& o) const { return member == o.member && score == o.score; }
};

// --- Ranges -------------------------------------------------------------------------------

// A score interval; `(` makes an end exclusive.
struct ScoreRange {
  double min = 0, max = 0;
  bool minex = false, maxex = false;
  // Redis's "always empty" test: min > max, or min == max with an exclusive end.
  bool Empty() const { return min > max || (min == max && (minex || maxex)); }
  bool GteMin(double v) const { return minex ? v > min : v >= min; }
  bool LteMax(double v) const { return maxex ? v < max : v <= max; }
};
// Redis's zslParseRange: strtod over each argument (after an optional '('), the whole
// argument consumed, not NaN. False: "ERR min or max is not a float".
bool ParseScoreRange(std::string_view min, std::string_view max, ScoreRange* out);

// One end of a lexicographic interval: "-" (below everything), "+" (above everything),
// "[value" (inclusive) or "(value" (exclusive).
struct LexBound {
  enum class Kind { kMinusInf, kPlusInf, kValue };
  Kind kind = Kind::kValue;
  std::string value;
  bool exclusive = false;
};
struct LexRange {
  LexBound min, max;
  bool Empty() const;  // Redis's "always empty" test (min above max, or equal and exclusive)
  bool GteMin(std::string_view member) const;
  bool LteMax(std::string_view member) const;
};
// Redis's zslParseLexRange. False: "ERR min or max not valid string range item".
bool ParseLexRange(std::string_view min, std::string_view max, LexRange* out);

// LIMIT offset count of the score and lex ranges: a negative offset selects nothing (as
// in Redis, where it walks off the end), a negative count means no limit.
struct Limit {
  int64_t offset = 0;
  int64_t count = -1;
};

// --- ZADD / ZINCRBY --------------------------------------------------------------------

struct AddFlags {
  bool nx = false, xx = false, gt = false, lt = false, incr = false;
};
struct AddResult {
  int64_t added = 0;    // new members
  int64_t updated = 0;  // members whose score changed
  // INCR: whether the member was added or updated (false: the condition failed, the
  // reply is nil), and its resulting score.
  bool processed = false;
  double score = 0;
};
// ZADD key [flags] score member ...: `pairs` are (score, member). Refuses the flag
// combinations Redis refuses (same texts); INCR leading to NaN: "ERR resulting score is
// not a number (NaN)" with nothing written. XX on an absent key creates nothing.
Result<AddResult> Add(Txn& txn, std::string_view key, const AddFlags& flags,
                      const std::vector<std::pair<double, std::string_view>>& pairs);

// --- Reads --------------------------------------------------------------------------------

// ZCARD: 0 if absent.
Result<int64_t> Card(Txn& txn, std::string_view key);
// ZSCORE: nullopt if the key or the member is absent.
Result<std::optional<double>> Score(Txn& txn, std::string_view key, std::string_view member);
// ZMSCORE: one entry per member (an absent key reads as empty).
Result<std::vector<std::optional<double>>> MScore(Txn& txn, std::string_view key,
                                                  const std::vector<std::string_view>& members);
// ZRANK / ZREVRANK: nullopt if the key or the member is absent.
Result<std::optional<int64_t>> Rank(Txn& txn, std::string_view key, std::string_view member,
                                    bool reverse);

// ZRANGE by index (Redis's index rules: negative from the end, clamped). `reverse` counts
// indexes from the highest score. An absent key reads as empty.
Result<std::vector<Entry>> RangeByRank(Txn& txn, std::string_view key, int64_t start, int64_t stop,
                                       bool reverse);
// ZRANGE BYSCORE (ZRANGEBYSCORE, ZREVRANGEBYSCORE). `reverse` walks from the highest score.
Result<std::vector<Entry>> RangeByScore(Txn& txn, std::string_view key, const ScoreRange& range,
                                        bool reverse, const Limit& limit);
// ZRANGE BYLEX (ZRANGEBYLEX, ZREVRANGEBYLEX). Meant for members that share one score (then
// a seek); with mixed scores the result is Redis's listpack behaviour: the walk starts at
// the first element in score order that is >= min (the last <= max when reversed) and stops
// at the first one out of range.
Result<std::vector<Entry>> RangeByLex(Txn& txn, std::string_view key, const LexRange& range,
                                      bool reverse, const Limit& limit);
// ZCOUNT / ZLEXCOUNT: 0 if absent.
Result<int64_t> Count(Txn& txn, std::string_view key, const ScoreRange& range);
Result<int64_t> LexCount(Txn& txn, std::string_view key, const LexRange& range);

// --- Removal ------------------------------------------------------------------------------

// ZREM: the number removed (0 if the key is absent).
Result<int64_t> Rem(Txn& txn, std::string_view key, const std::vector<std::string_view>& members);
// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX: the number removed.
Result<int64_t> RemRangeByRank(Txn& txn, std::string_view key, int64_t start, int64_t stop);
Result<int64_t> RemRangeByScore(Txn& txn, std::string_view key, const ScoreRange& range);
Result<int64_t> RemRangeByLex(Txn& txn, std::string_view key, const LexRange& range);
// ZPOPMIN / ZPOPMAX key count: up to `count` entries from the low (or high, `max`) end,
// in pop order. NotFound if the key is absent.
Result<std::vector<Entry>> Pop(Txn& txn, std::string_view key, bool max, int64_t count);
// ZMPOP: pops from the first key of `keys` that exists (WRONGTYPE if that key is not a
// sorted set, as Redis stops at the first existing key). NotFound if none exists.
struct MPopResult {
  std::string key;
  std::vector<Entry> entries;
};
Result<MPopResult> MPop(Txn& txn, const std::vector<std::string>& keys, bool max, int64_t count);

// --- Writing a computed result --------------------------------------------------------

// ZRANGESTORE, ZUNIONSTORE, ...: replaces `dst` (whatever it held, TTL dropped) with a
// sorted set of `entries` (distinct members), raising `event`; with no entries `dst` is
// deleted instead ("del" if it existed). Returns the number stored.
Result<int64_t> StoreEntries(Txn& txn, std::string_view dst, const std::vector<Entry>& entries,
                             std::string_view event);

// --- ZUNION / ZINTER / ZDIFF (zset_setops.cc) ------------------------------------------

enum class SetOp { kUnion, kInter, kDiff };
enum class Aggregate { kSum, kMin, kMax };
// WRONGTYPE if an existing input is neither a sorted set nor a set (Redis checks every
// input before it parses the options, so the RESP layer calls this first).
Status CheckSetOpInputs(Txn& txn, const std::vector<std::string>& keys);
// The combined sorted set, ordered by (score, member). Sets count as score 1. `weights`
// is empty (all 1) or one per key. NaN from a weight or a sum becomes 0, as in Redis.
Result<std::vector<Entry>> Combine(Txn& txn, SetOp op, const std::vector<std::string>& keys,
                                   const std::vector<double>& weights, Aggregate aggregate);
// ZINTERCARD: the size of the intersection, counting stopped at `limit` (0 = no limit).
Result<int64_t> InterCard(Txn& txn, const std::vector<std::string>& keys, int64_t limit);

// --- ZRANDMEMBER / ZSCAN (zset_setops.cc) --------------------------------------------

// ZRANDMEMBER key: NotFound if absent.
Result<Entry> RandomMember(Txn& txn, std::string_view key);
// ZRANDMEMBER key count: count >= 0 distinct members (all of them, highest score first as
// Redis, when count >= size; otherwise a uniform sample in score order); count < 0 |count| members
// drawn independently (repetitions, random order). An absent key reads as empty.
// Ranks are drawn and then resolved: through the rank blocks of a big set when there are
// few (ZRANDMEMBER key without a count: O(n / 512 + 1,024) reads), otherwise by one walk
// of the index (Redis picks from a hash table).
Result<std::vector<Entry>> RandomMembers(Txn& txn, std::string_view key, int64_t count);

// ZSCAN key cursor [MATCH pattern] [COUNT count]: `items` are (member, score text)
// pairs. A set of at most 128 members of at most 64 bytes is returned whole in score order
// with cursor 0 whatever the cursor given, its scores in listpack text (as Redis does for its
// listpack encoding); bigger sets are walked in member order `count` members at a time, resuming
// from a cursor the store remembers (an unknown cursor ends the scan). An absent key reads as
// empty.
struct ScanPage {
  uint64_t cursor = 0;
  std::vector<std::pair<std::string, std::string>> items;
};
Result<ScanPage> Scan(Txn& txn, std::string_view key, uint64_t cursor, std::string_view pattern,
                      int64_t count);

// --- DUMP and RESTORE ------------------------------------------------------------------
//
// A dump carries a sorted set's member and score-index records; its rank blocks are
// derived (rebuilt by RESTORE), so a payload never depends on them.

// Whether DUMP carries the element record `sub` of a sorted set.
bool DumpsRecord(std::string_view sub);
// The metadata as DUMP writes it: without the rank-block marker.
void PrepareDumpMeta(Meta* meta);
// Whether raw records are exactly what DUMP writes for `count` members: one member record
// with an 8-byte score (not NaN) and its matching index record per member, nothing else.
bool ValidDumpRecords(const std::vector<std::pair<std::string_view, std::string_view>>& records,
                      uint64_t count);
// After RESTORE wrote the records under meta->version: builds the rank blocks of a big set.
Status FinishRestore(Txn& txn, std::string_view key, Meta* meta);

// --- Diagnostics ---------------------------------------------------------------------

// How many score-index entries the calls of this process have visited so far (tests use
// it to prove that a bounded range touches only what it returns). Thread-safe.
uint64_t IndexEntriesVisited();
// How many rank-block records they have read (zset_internal.h). Thread-safe.
uint64_t RankBlocksVisited();

}  // namespace redge::store::zsets
