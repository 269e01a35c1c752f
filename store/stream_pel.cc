// Consumer-group records (groups, pending entries, consumers) and the commands that only
// read or shrink pending entries lists: XACK and XPENDING.
#include <algorithm>

#include "store/stream_groups.h"
#include "store/stream_internal.h"

namespace redge::store::streams {
namespace internal {
namespace {

std::string EncodeGroup(const Group& g) {
  std::string out;
  PutU64(&out, g.number);
  out.append(g.last_id.Encode());
  PutU64(&out, static_cast<uint64_t>(g.entries_read));
  PutU64(&out, g.pel);
  PutU64(&out, g.consumers);
  return out;
}

bool DecodeGroup(std::string_view name, std::string_view raw, Group* g) {
  if (raw.size() != 8 + 16 + 8 * 3) return false;
  g->name.assign(name);
  g->number = GetU64(raw.data());
  g->last_id = StreamId::Decode(raw.substr(8, 16));
  g->entries_read = static_cast<int64_t>(GetU64(raw.data() + 24));
  g->pel = GetU64(raw.data() + 32);
  g->consumers = GetU64(raw.data() + 40);
  return true;
}

std::string EncodeNack(const Nack& n) {
  std::string out;
  PutU64(&out, static_cast<uint64_t>(n.delivery_time));
  PutU64(&out, n.deliveries);
  out.append(n.consumer);
  return out;
}

std::string EncodeConsumer(const Consumer& c) {
  std::string out;
  PutU64(&out, static_cast<uint64_t>(c.seen_time));
  PutU64(&out, c.pel);
  return out;
}

bool DecodeConsumer(std::string_view name, std::string_view raw, Consumer* c) {
  if (raw.size() != 16) return false;
  c->name.assign(name);
  c->seen_time = static_cast<int64_t>(GetU64(raw.data()));
  c->pel = GetU64(raw.data() + 8);
  return true;
}

}  // namespace

Result<std::optional<Group>> FindGroup(Txn& txn, std::string_view key, uint64_t version,
                                       std::string_view name) {
  auto raw = txn.GetElement(key, version, GroupSub(name));
  if (!raw.ok()) {
    if (raw.status().IsNotFound()) return std::optional<Group>();
    return raw.status();
  }
  Group g;
  if (!DecodeGroup(name, *raw, &g)) return Status::Corruption("bad stream group");
  return std::optional<Group>(std::move(g));
}

void PutGroup(Txn& txn, std::string_view key, uint64_t version, const Group& g) {
  txn.PutElement(key, version, GroupSub(g.name), EncodeGroup(g));
}

bool DecodeNack(StreamId id, std::string_view raw, Nack* n) {
  if (raw.size() < 16) return false;
  n->id = id;
  n->delivery_time = static_cast<int64_t>(GetU64(raw.data()));
  n->deliveries = GetU64(raw.data() + 8);
  n->consumer.assign(raw.substr(16));
  return true;
}

Result<std::optional<Nack>> FindNack(Txn& txn, std::string_view key, uint64_t version,
                                     uint64_t group, StreamId id) {
  auto raw = txn.GetElement(key, version, PelSub(group, id));
  if (!raw.ok()) {
    if (raw.status().IsNotFound()) return std::optional<Nack>();
    return raw.status();
  }
  Nack n;
  if (!DecodeNack(id, *raw, &n)) return Status::Corruption("bad stream pending entry");
  return std::optional<Nack>(std::move(n));
}

void PutNack(Txn& txn, std::string_view key, uint64_t version, uint64_t group, const Nack& n) {
  txn.PutElement(key, version, PelSub(group, n.id), EncodeNack(n));
}

Result<std::vector<Nack>> ScanPel(Txn& txn, std::string_view key, uint64_t version, uint64_t group,
                                  StreamId from, size_t limit) {
  std::vector<Nack> out;
  const std::string prefix = PelPrefix(group);
  bool corrupt = false;
  Status s = txn.ScanElements(
      key, version, PelSub(group, from), [&](std::string_view sub, std::string_view value) {
        if (sub.size() != prefix.size() + 16 || sub.substr(0, prefix.size()) != prefix) {
          return false;
        }
        Nack n;
        if (!DecodeNack(StreamId::Decode(sub.substr(prefix.size())), value, &n)) {
          corrupt = true;
          return false;
        }
        out.push_back(std::move(n));
        return limit == 0 || out.size() < limit;
      });
  if (!s.ok()) return s;
  if (corrupt) return Status::Corruption("bad stream pending entry");
  return out;
}

Result<std::optional<Consumer>> FindConsumer(Txn& txn, std::string_view key, uint64_t version,
                                             uint64_t group, std::string_view name) {
  auto raw = txn.GetElement(key, version, ConsumerSub(group, name));
  if (!raw.ok()) {
    if (raw.status().IsNotFound()) return std::optional<Consumer>();
    return raw.status();
  }
  Consumer c;
  if (!DecodeConsumer(name, *raw, &c)) return Status::Corruption("bad stream consumer");
  return std::optional<Consumer>(std::move(c));
}

void PutConsumer(Txn& txn, std::string_view key, uint64_t version, uint64_t group,
                 const Consumer& c) {
  txn.PutElement(key, version, ConsumerSub(group, c.name), EncodeConsumer(c));
}

Result<Consumer> LookupOrCreateConsumer(Txn& txn, std::string_view key, uint64_t version, Group& g,
                                        std::string_view name) {
  auto found = FindConsumer(txn, key, version, g.number, name);
  if (!found.ok()) return found.status();
  if (*found) {
    (*found)->seen_time = txn.now_ms();
    return std::move(**found);
  }
  Consumer c;
  c.name.assign(name);
  c.seen_time = txn.now_ms();
  g.consumers++;
  txn.Announce(key, "xgroup-createconsumer");  // XREADGROUP, XCLAIM, XAUTOCLAIM (Redis)
  return c;
}

namespace {

// Adds `delta` to the pending counter of consumer `name` (read-modify-write), or of
// `held` when that is the one.
Status AdjustConsumerPel(Txn& txn, std::string_view key, uint64_t version, uint64_t group,
                         std::string_view name, int64_t delta, Consumer* held) {
  if (held && held->name == name) {
    held->pel += delta;
    return Status::OK();
  }
  auto c = FindConsumer(txn, key, version, group, name);
  if (!c.ok()) return c.status();
  if (!*c) return Status::Corruption("pending entry of an unknown consumer");
  (*c)->pel += delta;
  PutConsumer(txn, key, version, group, **c);
  return Status::OK();
}

}  // namespace

Status MoveNack(Txn& txn, std::string_view key, uint64_t version, Group& g, Nack& n, Consumer& to) {
  if (n.consumer == to.name) return Status::OK();
  if (n.consumer.empty()) {
    g.pel++;
  } else {
    txn.DeleteElement(key, version, ConsumerPelSub(g.number, n.consumer, n.id));
    Status s = AdjustConsumerPel(txn, key, version, g.number, n.consumer, -1, nullptr);
    if (!s.ok()) return s;
  }
  txn.PutElement(key, version, ConsumerPelSub(g.number, to.name, n.id), "");
  to.pel++;
  n.consumer = to.name;
  return Status::OK();
}

Status DropNack(Txn& txn, std::string_view key, uint64_t version, Group& g, const Nack& n,
                Consumer* held) {
  txn.DeleteElement(key, version, PelSub(g.number, n.id));
  txn.DeleteElement(key, version, ConsumerPelSub(g.number, n.consumer, n.id));
  g.pel--;
  return AdjustConsumerPel(txn, key, version, g.number, n.consumer, -1, held);
}

}  // namespace internal

using internal::Group;
using internal::Nack;

namespace {

Status NoGroupError(std::string_view key, std::string_view group) {
  return Status::RedisError("NOGROUP No such key '" + std::string(key) + "' or consumer group '" +
                            std::string(group) + "'");
}

// The stream and group for XPENDING (WRONGTYPE first, then NOGROUP).
Result<std::pair<internal::Stream, Group>> OpenGroup(Txn& txn, std::string_view key,
                                                     std::string_view group) {
  auto st = internal::Open(txn, key);
  if (!st.ok()) return st.status().IsNotFound() ? NoGroupError(key, group) : st.status();
  auto g = internal::FindGroup(txn, key, st->meta.version, group);
  if (!g.ok()) return g.status();
  if (!*g) return NoGroupError(key, group);
  return std::make_pair(std::move(*st), std::move(**g));
}

}  // namespace

Status CheckGroup(Txn& txn, std::string_view key, std::string_view group) {
  auto r = OpenGroup(txn, key, group);
  return r.ok() ? Status::OK() : r.status();
}

Result<bool> GroupExists(Txn& txn, std::string_view key, std::string_view group) {
  auto st = internal::Open(txn, key);
  if (!st.ok()) return st.status().IsNotFound() ? Result<bool>(false) : st.status();
  auto g = internal::FindGroup(txn, key, st->meta.version, group);
  if (!g.ok()) return g.status();
  return g->has_value();
}

Result<int64_t> Ack(Txn& txn, std::string_view key, std::string_view group,
                    const std::vector<StreamId>& ids) {
  auto st = internal::Open(txn, key);
  if (!st.ok()) return st.status().IsNotFound() ? Result<int64_t>(0) : st.status();
  const uint64_t version = st->meta.version;
  auto found = internal::FindGroup(txn, key, version, group);
  if (!found.ok()) return found.status();
  if (!*found) return 0;
  Group& g = **found;
  int64_t acked = 0;
  for (StreamId id : ids) {
    auto n = internal::FindNack(txn, key, version, g.number, id);
    if (!n.ok()) return n.status();
    if (!*n) continue;
    Status s = internal::DropNack(txn, key, version, g, **n, nullptr);
    if (!s.ok()) return s;
    acked++;
  }
  if (acked > 0) internal::PutGroup(txn, key, version, g);
  return acked;
}

Result<PendingSummary> Pending(Txn& txn, std::string_view key, std::string_view group) {
  auto opened = OpenGroup(txn, key, group);
  if (!opened.ok()) return opened.status();
  auto& [st, g] = *opened;
  const uint64_t version = st.meta.version;
  PendingSummary out;
  out.count = g.pel;
  if (g.pel == 0) return out;
  auto first = internal::ScanPel(txn, key, version, g.number, StreamId::Min(), 1);
  if (!first.ok()) return first.status();
  const std::string prefix = internal::PelPrefix(g.number);
  std::optional<StreamId> last;
  Status s = txn.ScanElementsReverse(
      key, version, internal::PelSub(g.number, StreamId::Max()),
      [&](std::string_view sub, std::string_view) {
        if (sub.size() == prefix.size() + 16 && sub.substr(0, prefix.size()) == prefix) {
          last = StreamId::Decode(sub.substr(prefix.size()));
        }
        return false;
      });
  if (!s.ok()) return s;
  if (first->empty() || !last) return Status::Corruption("stream pending count disagrees");
  out.first = first->front().id;
  out.last = *last;
  const std::string cprefix = internal::ConsumerPrefix(g.number);
  bool corrupt = false;
  s = txn.ScanElements(key, version, cprefix, [&](std::string_view sub, std::string_view value) {
    if (sub.substr(0, cprefix.size()) != cprefix) return false;
    if (value.size() != 16) {
      corrupt = true;
      return false;
    }
    uint64_t pel = internal::GetU64(value.data() + 8);
    if (pel > 0) out.consumers.emplace_back(std::string(sub.substr(cprefix.size())), pel);
    return true;
  });
  if (!s.ok()) return s;
  if (corrupt) return Status::Corruption("bad stream consumer");
  return out;
}

Result<std::vector<PendingEntry>> PendingRange(Txn& txn, std::string_view key,
                                               std::string_view group, StreamId start, StreamId end,
                                               uint64_t count, int64_t min_idle,
                                               const std::optional<std::string>& consumer) {
  auto opened = OpenGroup(txn, key, group);
  if (!opened.ok()) return opened.status();
  auto& [st, g] = *opened;
  const uint64_t version = st.meta.version;
  std::vector<PendingEntry> out;
  const int64_t now = txn.now_ms();
  auto take = [&](const Nack& n) {
    if (min_idle != 0 && now - n.delivery_time < min_idle) return;
    PendingEntry e;
    e.id = n.id;
    e.consumer = n.consumer;
    e.idle = std::max<int64_t>(0, now - n.delivery_time);
    e.deliveries = n.deliveries;
    out.push_back(std::move(e));
  };
  if (count == 0 || start > end) return out;
  if (consumer) {
    auto c = internal::FindConsumer(txn, key, version, g.number, *consumer);
    if (!c.ok()) return c.status();
    if (!*c) return out;
    // The consumer's index gives the ids; the group's PEL has their details.
    const std::string prefix = internal::ConsumerPelPrefix(g.number, *consumer);
    StreamId cursor = start;
    while (out.size() < count) {
      std::vector<StreamId> ids;
      Status s = txn.ScanElements(
          key, version, prefix + cursor.Encode(), [&](std::string_view sub, std::string_view) {
            if (sub.size() != prefix.size() + 16 || sub.substr(0, prefix.size()) != prefix) {
              return false;
            }
            StreamId id = StreamId::Decode(sub.substr(prefix.size()));
            if (id > end) return false;
            ids.push_back(id);
            return ids.size() < 256;
          });
      if (!s.ok()) return s;
      for (StreamId id : ids) {
        auto n = internal::FindNack(txn, key, version, g.number, id);
        if (!n.ok()) return n.status();
        if (!*n) return Status::Corruption("consumer pending index disagrees");
        take(**n);
        if (out.size() >= count) break;
      }
      if (ids.size() < 256) break;
      cursor = ids.back();
      if (!cursor.Incr()) break;
    }
    return out;
  }
  StreamId cursor = start;
  while (out.size() < count) {
    auto batch = internal::ScanPel(txn, key, version, g.number, cursor, 256);
    if (!batch.ok()) return batch.status();
    for (const Nack& n : *batch) {
      if (n.id > end) return out;
      take(n);
      if (out.size() >= count) break;
    }
    if (batch->size() < 256) break;
    cursor = batch->back().id;
    if (!cursor.Incr()) break;
  }
  return out;
}

}  // namespace redge::store::streams
