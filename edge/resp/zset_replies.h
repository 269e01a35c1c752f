// Shared by the two sorted-set command files (zset_commands.cc, zset_ops_commands.cc):
// the reply shapes Redis 7.0 uses for member/score lists.
//
// Thread-safety: functions of the handler's thread.
#pragma once

#include <vector>

#include "edge/resp/protocol.h"
#include "store/zsets.h"

namespace redge::resp {

// A range reply (ZRANGE, ZUNION, ZRANDMEMBER ...): members only; with scores a flat
// [member, score, ...] array in RESP2 and an array of [member, score] pairs in RESP3
// (Redis keeps the order, so no map).
inline void WriteEntries(ReplyWriter& w, const std::vector<store::zsets::Entry>& entries,
                         bool withscores) {
  const auto n = static_cast<int64_t>(entries.size());
  w.ArrayHeader(withscores && w.protocol() == 2 ? n * 2 : n);
  for (const auto& e : entries) {
    if (withscores && w.protocol() > 2) w.ArrayHeader(2);
    w.Bulk(e.member);
    if (withscores) w.Double(e.score);
  }
}

// Registers the pops, blocking pops, ZRANDMEMBER, ZSCAN and set operations
// (zset_ops_commands.cc); RegisterZSetCommands() calls it.
void RegisterZSetOpsCommands();

}  // namespace redge::resp
