// XCLAIM and XAUTOCLAIM (t_stream.c's xclaimCommand and xautoclaimCommand): pending
// entries change owner; entries deleted from the stream leave the PEL.
#include <algorithm>

#include "store/stream_groups.h"
#include "store/stream_internal.h"

namespace redge::store::streams {

using internal::Consumer;
using internal::Group;
using internal::Nack;
using internal::Stream;

namespace {

Status NoGroupError(std::string_view key, std::string_view group) {
  return Status::RedisError("NOGROUP No such key '" + std::string(key) + "' or consumer group '" +
                            std::string(group) + "'");
}

Result<std::pair<Stream, Group>> Open(Txn& txn, std::string_view key, std::string_view group) {
  auto st = internal::Open(txn, key);
  if (!st.ok()) return st.status().IsNotFound() ? NoGroupError(key, group) : st.status();
  auto g = internal::FindGroup(txn, key, st->meta.version, group);
  if (!g.ok()) return g.status();
  if (!*g) return NoGroupError(key, group);
  return std::make_pair(std::move(*st), std::move(**g));
}

// The claimed entry for the reply: its id only (JUSTID) or the whole entry.
Result<Entry> ClaimedEntry(Txn& txn, std::string_view key, uint64_t version, StreamId id,
                           bool justid) {
  Entry e;
  e.id = id;
  if (justid) return e;
  auto raw = txn.GetElement(key, version, internal::EntrySub(id));
  if (!raw.ok()) return raw.status();
  if (!internal::DecodeFields(*raw, &e.fields)) return Status::Corruption("bad stream entry");
  return e;
}

}  // namespace

Result<std::vector<Entry>> Claim(Txn& txn, std::string_view key, std::string_view group,
                                 std::string_view consumer, const ClaimOptions& o) {
  auto opened = Open(txn, key, group);
  if (!opened.ok()) return opened.status();
  auto& [st, g] = *opened;
  const uint64_t version = st.meta.version;
  const int64_t now = txn.now_ms();
  bool group_dirty = false;
  if (o.last_id > g.last_id) {
    g.last_id = o.last_id;
    group_dirty = true;
  }
  int64_t delivery_time = now;
  if (o.delivery != ClaimOptions::Delivery::kNow) {
    delivery_time = o.delivery == ClaimOptions::Delivery::kIdle
                        ? static_cast<int64_t>(static_cast<uint64_t>(now) -
                                               static_cast<uint64_t>(o.delivery_value))
                        : o.delivery_value;
    // A bogus time (negative, in the future) means "now", as in Redis.
    if (delivery_time < 0 || delivery_time > now) delivery_time = now;
  }
  std::optional<Consumer> owner;
  std::vector<Entry> out;
  for (StreamId id : o.ids) {
    auto found = internal::FindNack(txn, key, version, g.number, id);
    if (!found.ok()) return found.status();
    auto exists = internal::EntryExists(txn, key, version, id);
    if (!exists.ok()) return exists.status();
    if (!*exists) {
      // The entry is gone: its pending entry goes too.
      if (*found) {
        Status s = internal::DropNack(txn, key, version, g, **found, owner ? &*owner : nullptr);
        if (!s.ok()) return s;
        group_dirty = true;
      }
      continue;
    }
    if (!*found && o.force) {
      // streamCreateNACK: delivered once, now, to nobody yet.
      Nack n;
      n.id = id;
      n.delivery_time = now;
      n.deliveries = 1;
      found = std::optional<Nack>(std::move(n));
    }
    if (!*found) continue;
    Nack& n = **found;
    if (!n.consumer.empty() && o.min_idle != 0 && now - n.delivery_time < o.min_idle) continue;
    if (!owner) {
      auto c = internal::LookupOrCreateConsumer(txn, key, version, g, consumer);
      if (!c.ok()) return c.status();
      owner = std::move(*c);
      group_dirty = true;
    }
    Status s = internal::MoveNack(txn, key, version, g, n, *owner);
    if (!s.ok()) return s;
    n.delivery_time = delivery_time;
    if (o.retry_count >= 0) {
      n.deliveries = static_cast<uint64_t>(o.retry_count);
    } else if (!o.justid) {
      n.deliveries++;
    }
    internal::PutNack(txn, key, version, g.number, n);
    auto e = ClaimedEntry(txn, key, version, id, o.justid);
    if (!e.ok()) return e.status();
    out.push_back(std::move(*e));
  }
  if (owner) internal::PutConsumer(txn, key, version, g.number, *owner);
  if (group_dirty) internal::PutGroup(txn, key, version, g);
  return out;
}

Result<AutoClaimResult> AutoClaim(Txn& txn, std::string_view key, std::string_view group,
                                  std::string_view consumer, int64_t min_idle, StreamId start,
                                  int64_t count, bool justid) {
  auto opened = Open(txn, key, group);
  if (!opened.ok()) return opened.status();
  auto& [st, g] = *opened;
  const uint64_t version = st.meta.version;
  const int64_t now = txn.now_ms();
  // Redis visits at most ten pending entries per entry it may return.
  int64_t attempts = count * 10;
  int64_t remaining = count;
  std::optional<Consumer> owner;
  bool group_dirty = false;
  AutoClaimResult out;
  StreamId cursor = start;
  bool done = false;
  while (!done) {
    constexpr size_t kChunk = 256;
    auto batch = internal::ScanPel(txn, key, version, g.number, cursor, kChunk);
    if (!batch.ok()) return batch.status();
    for (Nack& n : *batch) {
      if (attempts == 0 || remaining == 0) {
        out.next = n.id;  // the first pending entry not looked at
        done = true;
        break;
      }
      attempts--;
      auto exists = internal::EntryExists(txn, key, version, n.id);
      if (!exists.ok()) return exists.status();
      if (!*exists) {
        Status s = internal::DropNack(txn, key, version, g, n, owner ? &*owner : nullptr);
        if (!s.ok()) return s;
        group_dirty = true;
        out.deleted.push_back(n.id);
        remaining--;
        continue;
      }
      if (min_idle != 0 && now - n.delivery_time < min_idle) continue;
      if (!owner) {
        auto c = internal::LookupOrCreateConsumer(txn, key, version, g, consumer);
        if (!c.ok()) return c.status();
        owner = std::move(*c);
        group_dirty = true;
      }
      Status s = internal::MoveNack(txn, key, version, g, n, *owner);
      if (!s.ok()) return s;
      n.delivery_time = now;
      if (!justid) n.deliveries++;
      internal::PutNack(txn, key, version, g.number, n);
      auto e = ClaimedEntry(txn, key, version, n.id, justid);
      if (!e.ok()) return e.status();
      out.claimed.push_back(std::move(*e));
      remaining--;
    }
    if (done) break;
    if (batch->size() < kChunk) break;  // the end of the PEL: the cursor is 0-0
    cursor = batch->back().id;
    if (!cursor.Incr()) break;
  }
  if (owner) internal::PutConsumer(txn, key, version, g.number, *owner);
  if (group_dirty) internal::PutGroup(txn, key, version, g);
  return out;
}

}  // namespace redge::store::streams
