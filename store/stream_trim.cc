// streamTrim (t_stream.c) over the store's node bookkeeping: whole nodes go from the head
// while they may, then (exact trimming only) entries inside the first node that must stay.
// The walk starts at the head node and the first live entry, so deleted records waiting
// for compaction are never rescanned; its cost is the entries it removes.
#include <algorithm>

#include "store/stream_internal.h"

namespace redge::store::streams::internal {

namespace {

// Deletes the live entries of node `n` (ids in [from, n.last]); returns how many.
Result<uint64_t> DeleteNodeEntries(Txn& txn, std::string_view key, uint64_t version, const Node& n,
                                   StreamId from) {
  auto ids = EntryIds(txn, key, version, std::max(from, n.first), n.last, 0);
  if (!ids.ok()) return ids.status();
  for (StreamId id : *ids) txn.DeleteElement(key, version, EntrySub(id));
  return ids->size();
}

}  // namespace

Result<int64_t> TrimStream(Txn& txn, std::string_view key, Stream& st, const TrimOptions& o) {
  if (o.strategy == TrimStrategy::kNone || st.s.nodes == 0) return 0;
  const bool maxlen = o.strategy == TrimStrategy::kMaxLen;
  const uint64_t target = maxlen ? static_cast<uint64_t>(o.maxlen) : 0;
  if (maxlen && st.s.length <= target) return 0;  // the walk would stop before any node

  // Everything goes: with no consumer group referencing the version, a fresh version
  // drops every record at once (the compaction filter reclaims the old ones).
  const bool all = maxlen ? target == 0 : o.minid > st.s.last_id;
  if (all && st.s.groups == 0 && (o.limit == 0 || static_cast<uint64_t>(o.limit) >= st.s.length)) {
    int64_t removed = static_cast<int64_t>(st.s.length);
    st.meta.version = txn.NewVersion();
    st.s.length = 0;
    st.s.nodes = 0;
    st.s.first_id = StreamId{};
    return removed;
  }

  // The walk's first step from the head counters kept in the metadata: most calls (an
  // XADD ... MAXLEN ~ n that removes nothing) end here without reading a node.
  {
    const uint64_t entries = st.s.head_live;
    if (o.limit && static_cast<int64_t>(entries) > o.limit) return 0;
    const bool remove_node = maxlen ? st.s.length - entries >= target : st.s.head_last < o.minid;
    if (!remove_node && (o.approx || (!maxlen && o.minid <= st.s.first_id))) return 0;
  }

  const uint64_t version = st.meta.version;
  int64_t deleted = 0;
  auto node = ReadNode(txn, key, version, st.s.head_node);
  if (!node.ok()) {
    return node.status().IsNotFound() ? Status::Corruption("stream head node missing")
                                      : node.status();
  }
  while (true) {
    if (maxlen && st.s.length <= target) break;
    Node& n = *node;
    const uint64_t entries = n.live;
    if (o.limit && deleted + static_cast<int64_t>(entries) > o.limit) break;
    const bool remove_node = maxlen ? st.s.length - entries >= target : n.last < o.minid;
    if (remove_node) {
      auto removed = DeleteNodeEntries(txn, key, version, n, st.s.first_id);
      if (!removed.ok()) return removed.status();
      if (*removed != entries) return Status::Corruption("stream node counts disagree");
      txn.DeleteElement(key, version, NodeSub(n.first));
      st.s.nodes--;
      st.s.length -= entries;
      deleted += static_cast<int64_t>(entries);
      if (st.s.nodes == 0) break;
      node = NextNode(txn, key, version, n.first);
      if (!node.ok()) {
        return node.status().IsNotFound() ? Status::Corruption("stream node missing")
                                          : node.status();
      }
      st.s.head_node = node->first;
      continue;
    }
    if (o.approx) break;
    // Exact trimming inside this node: mark entries deleted from its start until enough.
    StreamId from = std::max(n.first, st.s.first_id);
    Result<std::vector<StreamId>> ids =
        maxlen ? EntryIds(txn, key, version, from, n.last, st.s.length - target)
               : std::vector<StreamId>{};
    if (!maxlen && o.minid > from) {
      StreamId below = o.minid;
      below.Decr();
      ids = EntryIds(txn, key, version, from, std::min(below, n.last), 0);
    }
    if (!ids.ok()) return ids.status();
    const uint64_t k = ids->size();
    for (StreamId id : *ids) txn.DeleteElement(key, version, EntrySub(id));
    if (k > 0) {
      n.bytes += CounterResize(n.live, n.deleted, n.live - k, n.deleted + k);
      n.live -= k;
      n.deleted += k;
      txn.PutElement(key, version, NodeSub(n.first), EncodeNode(n));
      st.s.length -= k;
      deleted += static_cast<int64_t>(k);
    }
    break;
  }
  if (st.s.nodes > 0) {
    st.s.head_live = node->live;
    st.s.head_last = node->last;
  }
  if (st.s.length == 0) {
    st.s.first_id = StreamId{};
  } else if (deleted > 0) {
    auto first = FirstIdFrom(txn, key, version, st.s.first_id);
    if (!first.ok()) return first.status();
    if (!*first) return Status::Corruption("stream length and entries disagree");
    st.s.first_id = **first;
  }
  return deleted;
}

}  // namespace redge::store::streams::internal
