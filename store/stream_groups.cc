// XGROUP, XREADGROUP's reads and the group half of XINFO (t_stream.c's xgroupCommand,
// streamReplyWithRange with a group, streamReplyWithRangeFromConsumerPEL, xinfoCommand).
#include "store/stream_groups.h"

#include <algorithm>

#include "store/stream_internal.h"

namespace redge::store::streams {

using internal::Consumer;
using internal::Group;
using internal::Nack;
using internal::Stream;

namespace {

Status KeyMustExistError() {
  return Status::InvalidArgument(
      "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to "
      "use the MKSTREAM option to create an empty stream automatically.");
}

Status NoSuchGroupError(std::string_view key, std::string_view group) {
  return Status::RedisError("NOGROUP No such consumer group '" + std::string(group) +
                            "' for key name '" + std::string(key) + "'");
}

// XGROUP's lookups for SETID, DESTROY, CREATECONSUMER and DELCONSUMER: WRONGTYPE, then the
// key must exist, then (unless `group_optional`) the group.
Result<std::pair<Stream, std::optional<Group>>> OpenForXGroup(Txn& txn, std::string_view key,
                                                              std::string_view group,
                                                              bool group_optional) {
  auto st = internal::Open(txn, key);
  if (!st.ok()) return st.status().IsNotFound() ? KeyMustExistError() : st.status();
  auto g = internal::FindGroup(txn, key, st->meta.version, group);
  if (!g.ok()) return g.status();
  if (!*g && !group_optional) return NoSuchGroupError(key, group);
  return std::make_pair(std::move(*st), std::move(*g));
}

// Deletes every record under `prefix`, in chunks (a PEL can be large).
Status DeletePrefix(Txn& txn, std::string_view key, uint64_t version, const std::string& prefix) {
  std::string from = prefix;
  while (true) {
    std::vector<std::string> subs;
    Status s = txn.ScanElements(key, version, from, [&](std::string_view sub, std::string_view) {
      if (sub.substr(0, prefix.size()) != prefix) return false;
      subs.emplace_back(sub);
      return subs.size() < 1024;
    });
    if (!s.ok()) return s;
    for (const auto& sub : subs) txn.DeleteElement(key, version, sub);
    if (subs.size() < 1024) return Status::OK();
    from = subs.back();
    from.push_back('\0');  // the next sub-key after the last one deleted
  }
}

// The consumer's pending ids from `start`, at most `count` (0: all).
Result<std::vector<StreamId>> ConsumerPelIds(Txn& txn, std::string_view key, uint64_t version,
                                             uint64_t group, std::string_view consumer,
                                             StreamId start, uint64_t count) {
  std::vector<StreamId> ids;
  const std::string prefix = internal::ConsumerPelPrefix(group, consumer);
  Status s = txn.ScanElements(
      key, version, prefix + start.Encode(), [&](std::string_view sub, std::string_view) {
        if (sub.size() != prefix.size() + 16 || sub.substr(0, prefix.size()) != prefix) {
          return false;
        }
        ids.push_back(StreamId::Decode(sub.substr(prefix.size())));
        return count == 0 || ids.size() < count;
      });
  if (!s.ok()) return s;
  return ids;
}

// The entry `id`, or nullopt when it is not in the stream.
Result<std::optional<Entry>> ReadEntry(Txn& txn, std::string_view key, uint64_t version,
                                       StreamId id) {
  auto raw = txn.GetElement(key, version, internal::EntrySub(id));
  if (!raw.ok()) {
    if (raw.status().IsNotFound()) return std::optional<Entry>();
    return raw.status();
  }
  Entry e;
  e.id = id;
  if (!internal::DecodeFields(*raw, &e.fields)) return Status::Corruption("bad stream entry");
  return std::optional<Entry>(std::move(e));
}

// streamReplyWithCGLag.
std::optional<int64_t> Lag(const internal::StreamMeta& s, const Group& g) {
  if (s.entries_added == 0) return 0;
  if (g.entries_read != -1 && !internal::RangeHasTombstones(s, g.last_id, std::nullopt)) {
    return static_cast<int64_t>(s.entries_added) - g.entries_read;
  }
  auto read = internal::EstimateDistance(s, g.last_id);
  if (!read) return std::nullopt;
  return static_cast<int64_t>(s.entries_added) - *read;
}

GroupInfo MakeGroupInfo(const internal::StreamMeta& s, const Group& g) {
  GroupInfo info;
  info.name = g.name;
  info.consumers = g.consumers;
  info.pending = g.pel;
  info.last_delivered = g.last_id;
  if (g.entries_read != -1) info.entries_read = g.entries_read;
  info.lag = Lag(s, g);
  return info;
}

// Every group of the stream, in name order.
Result<std::vector<Group>> AllGroups(Txn& txn, std::string_view key, const Stream& st) {
  std::vector<Group> out;
  if (st.s.groups == 0) return out;
  bool corrupt = false;
  Status s = txn.ScanElements(key, st.meta.version, std::string(1, internal::kGroupNs),
                              [&](std::string_view sub, std::string_view) {
                                if (sub.empty() || sub[0] != internal::kGroupNs) return false;
                                out.emplace_back();
                                out.back().name.assign(sub.substr(1));
                                return true;
                              });
  if (!s.ok()) return s;
  // Decode through FindGroup (one codec); groups are few.
  for (auto& g : out) {
    auto found = internal::FindGroup(txn, key, st.meta.version, g.name);
    if (!found.ok()) return found.status();
    if (!*found) {
      corrupt = true;
      break;
    }
    g = std::move(**found);
  }
  if (corrupt) return Status::Corruption("stream group vanished");
  return out;
}

}  // namespace

Status CreateGroup(Txn& txn, std::string_view key, std::string_view group, std::string_view id_arg,
                   bool mkstream, int64_t entries_read) {
  auto opened = internal::Open(txn, key);
  if (!opened.ok()) {
    if (!opened.status().IsNotFound()) return opened.status();
    if (!mkstream) return KeyMustExistError();
  }
  StreamId id;
  if (id_arg == "$") {
    if (opened.ok()) id = opened->s.last_id;
  } else {
    auto parsed = ParseId(id_arg, 0, /*strict=*/true);
    if (!parsed) return InvalidIdError();
    id = *parsed;
  }
  const bool created = !opened.ok();
  if (created) opened = internal::NewStream(txn);
  Stream& st = *opened;
  auto existing = internal::FindGroup(txn, key, st.meta.version, group);
  if (!existing.ok()) return existing.status();
  if (*existing) return Status::RedisError("BUSYGROUP Consumer Group name already exists");
  Group g;
  g.name.assign(group);
  g.number = st.s.next_group++;
  g.last_id = id;
  g.entries_read = entries_read;
  internal::PutGroup(txn, key, st.meta.version, g);
  st.s.groups++;
  // Only a stream MKSTREAM created is a modified key for WATCH (Redis: signalModifiedKey).
  if (created) {
    internal::Save(txn, key, st);
    txn.Notify(key, "xgroup-create");
  } else {
    internal::SaveUnwatched(txn, key, st);
    txn.Announce(key, "xgroup-create");
  }
  return Status::OK();
}

Status SetGroupId(Txn& txn, std::string_view key, std::string_view group, std::string_view id_arg,
                  int64_t entries_read) {
  auto opened = OpenForXGroup(txn, key, group, /*group_optional=*/false);
  if (!opened.ok()) return opened.status();
  auto& [st, g] = *opened;
  StreamId id = st.s.last_id;
  if (id_arg != "$") {
    auto parsed = ParseId(id_arg, 0, /*strict=*/false);
    if (!parsed) return InvalidIdError();
    id = *parsed;
  }
  g->last_id = id;
  g->entries_read = entries_read;
  internal::PutGroup(txn, key, st.meta.version, *g);
  txn.Announce(key, "xgroup-setid");  // not txn.Notify: WATCH is not invalidated (Redis)
  return Status::OK();
}

Result<int64_t> DestroyGroup(Txn& txn, std::string_view key, std::string_view group) {
  auto opened = OpenForXGroup(txn, key, group, /*group_optional=*/true);
  if (!opened.ok()) return opened.status();
  auto& [st, g] = *opened;
  if (!g) return 0;
  const uint64_t version = st.meta.version;
  for (const std::string& prefix :
       {internal::PelPrefix(g->number), internal::ConsumerPrefix(g->number),
        std::string(1, internal::kConsumerPelNs) + internal::PelPrefix(g->number).substr(1)}) {
    Status s = DeletePrefix(txn, key, version, prefix);
    if (!s.ok()) return s;
  }
  txn.DeleteElement(key, version, internal::GroupSub(g->name));
  st.s.groups--;
  // Saving the metadata also wakes blocked XREADGROUP readers of the group (-NOGROUP).
  internal::SaveUnwatched(txn, key, st);
  txn.Announce(key, "xgroup-destroy");
  return 1;
}

Result<int64_t> CreateConsumer(Txn& txn, std::string_view key, std::string_view group,
                               std::string_view consumer) {
  auto opened = OpenForXGroup(txn, key, group, /*group_optional=*/false);
  if (!opened.ok()) return opened.status();
  auto& [st, g] = *opened;
  auto existing = internal::FindConsumer(txn, key, st.meta.version, g->number, consumer);
  if (!existing.ok()) return existing.status();
  if (*existing) return 0;
  Consumer c;
  c.name.assign(consumer);
  c.seen_time = txn.now_ms();
  internal::PutConsumer(txn, key, st.meta.version, g->number, c);
  g->consumers++;
  internal::PutGroup(txn, key, st.meta.version, *g);
  txn.Announce(key, "xgroup-createconsumer");
  return 1;
}

Result<int64_t> DeleteConsumer(Txn& txn, std::string_view key, std::string_view group,
                               std::string_view consumer) {
  auto opened = OpenForXGroup(txn, key, group, /*group_optional=*/false);
  if (!opened.ok()) return opened.status();
  auto& [st, g] = *opened;
  const uint64_t version = st.meta.version;
  auto c = internal::FindConsumer(txn, key, version, g->number, consumer);
  if (!c.ok()) return c.status();
  if (!*c) return 0;
  auto ids = ConsumerPelIds(txn, key, version, g->number, consumer, StreamId::Min(), 0);
  if (!ids.ok()) return ids.status();
  for (StreamId id : *ids) {
    txn.DeleteElement(key, version, internal::PelSub(g->number, id));
    txn.DeleteElement(key, version, internal::ConsumerPelSub(g->number, consumer, id));
  }
  txn.DeleteElement(key, version, internal::ConsumerSub(g->number, consumer));
  g->pel -= ids->size();
  g->consumers--;
  internal::PutGroup(txn, key, version, *g);
  txn.Announce(key, "xgroup-delconsumer");
  return static_cast<int64_t>(ids->size());
}

Status ReadGroupNoGroupError(std::string_view key, std::string_view group) {
  return Status::RedisError("NOGROUP No such key '" + std::string(key) + "' or consumer group '" +
                            std::string(group) + "' in XREADGROUP with GROUP option");
}

Result<std::optional<std::vector<Entry>>> ReadGroupNew(Txn& txn, std::string_view key,
                                                       std::string_view group,
                                                       std::string_view consumer, uint64_t count,
                                                       bool noack, bool blocked) {
  using Out = std::optional<std::vector<Entry>>;
  auto opened = internal::Open(txn, key);
  if (!opened.ok()) return opened.status();
  Stream& st = *opened;
  const uint64_t version = st.meta.version;
  auto found = internal::FindGroup(txn, key, version, group);
  if (!found.ok()) return found.status();
  if (!*found) return ReadGroupNoGroupError(key, group);
  Group& g = **found;
  if (blocked) {
    if (st.s.last_id <= g.last_id) return Out();
  } else {
    if (st.s.length == 0) return Out();
    auto maxid = internal::LastValidId(txn, key, st);
    if (!maxid.ok()) return maxid.status();
    if (*maxid <= g.last_id) return Out();
  }
  auto c = internal::LookupOrCreateConsumer(txn, key, version, g, consumer);
  if (!c.ok()) return c.status();
  StreamId start = g.last_id;
  std::vector<Entry> entries;
  if (start.Incr()) {
    auto read = internal::ReadEntries(txn, key, st, start, StreamId::Max(), count, false);
    if (!read.ok()) return read.status();
    entries = std::move(*read);
  }
  const int64_t now = txn.now_ms();
  for (const Entry& e : entries) {
    if (e.id > g.last_id) {
      if (g.entries_read != -1 && !internal::RangeHasTombstones(st.s, e.id, std::nullopt)) {
        g.entries_read++;
      } else if (st.s.entries_added) {
        g.entries_read = internal::EstimateDistance(st.s, e.id).value_or(-1);
      }
      g.last_id = e.id;
    }
    if (noack) continue;
    auto n = internal::FindNack(txn, key, version, g.number, e.id);
    if (!n.ok()) return n.status();
    Nack nack = n->value_or(Nack{});
    nack.id = e.id;
    Status s = internal::MoveNack(txn, key, version, g, nack, *c);
    if (!s.ok()) return s;
    nack.delivery_time = now;
    nack.deliveries = 1;
    internal::PutNack(txn, key, version, g.number, nack);
  }
  internal::PutConsumer(txn, key, version, g.number, *c);
  internal::PutGroup(txn, key, version, g);
  return Out(std::move(entries));
}

Result<std::vector<Entry>> ReadGroupHistory(Txn& txn, std::string_view key, std::string_view group,
                                            std::string_view consumer, StreamId start,
                                            uint64_t count) {
  auto opened = internal::Open(txn, key);
  if (!opened.ok()) return opened.status();
  Stream& st = *opened;
  const uint64_t version = st.meta.version;
  auto found = internal::FindGroup(txn, key, version, group);
  if (!found.ok()) return found.status();
  if (!*found) return ReadGroupNoGroupError(key, group);
  Group& g = **found;
  const uint64_t consumers_before = g.consumers;
  auto c = internal::LookupOrCreateConsumer(txn, key, version, g, consumer);
  if (!c.ok()) return c.status();
  auto ids = ConsumerPelIds(txn, key, version, g.number, consumer, start, count);
  if (!ids.ok()) return ids.status();
  std::vector<Entry> out;
  const int64_t now = txn.now_ms();
  for (StreamId id : *ids) {
    auto e = ReadEntry(txn, key, version, id);
    if (!e.ok()) return e.status();
    if (!*e) {
      Entry missing;
      missing.id = id;
      missing.missing = true;
      out.push_back(std::move(missing));
      continue;
    }
    out.push_back(std::move(**e));
    auto n = internal::FindNack(txn, key, version, g.number, id);
    if (!n.ok()) return n.status();
    if (!*n) return Status::Corruption("consumer pending index disagrees");
    (*n)->delivery_time = now;
    (*n)->deliveries++;
    internal::PutNack(txn, key, version, g.number, **n);
  }
  internal::PutConsumer(txn, key, version, g.number, *c);
  if (g.consumers != consumers_before) internal::PutGroup(txn, key, version, g);
  return out;
}

Result<std::vector<GroupInfo>> Groups(Txn& txn, std::string_view key) {
  auto st = internal::Open(txn, key);
  if (!st.ok()) return st.status();
  auto groups = AllGroups(txn, key, *st);
  if (!groups.ok()) return groups.status();
  std::vector<GroupInfo> out;
  for (const Group& g : *groups) out.push_back(MakeGroupInfo(st->s, g));
  return out;
}

Result<std::vector<ConsumerInfo>> Consumers(Txn& txn, std::string_view key,
                                            std::string_view group) {
  auto st = internal::Open(txn, key);
  if (!st.ok()) return st.status();
  auto g = internal::FindGroup(txn, key, st->meta.version, group);
  if (!g.ok()) return g.status();
  if (!*g) return NoSuchGroupError(key, group);
  std::vector<ConsumerInfo> out;
  const std::string prefix = internal::ConsumerPrefix((*g)->number);
  const int64_t now = txn.now_ms();
  bool corrupt = false;
  Status s = txn.ScanElements(key, st->meta.version, prefix,
                              [&](std::string_view sub, std::string_view value) {
                                if (sub.substr(0, prefix.size()) != prefix) return false;
                                if (value.size() != 16) {
                                  corrupt = true;
                                  return false;
                                }
                                ConsumerInfo c;
                                c.name.assign(sub.substr(prefix.size()));
                                int64_t seen = static_cast<int64_t>(internal::GetU64(value.data()));
                                c.idle = std::max<int64_t>(0, now - seen);
                                c.pending = internal::GetU64(value.data() + 8);
                                out.push_back(std::move(c));
                                return true;
                              });
  if (!s.ok()) return s;
  if (corrupt) return Status::Corruption("bad stream consumer");
  return out;
}

Result<std::vector<FullGroup>> FullGroups(Txn& txn, std::string_view key, uint64_t count) {
  auto st = internal::Open(txn, key);
  if (!st.ok()) return st.status();
  const uint64_t version = st->meta.version;
  auto groups = AllGroups(txn, key, *st);
  if (!groups.ok()) return groups.status();
  std::vector<FullGroup> out;
  for (const Group& g : *groups) {
    FullGroup fg;
    fg.info = MakeGroupInfo(st->s, g);
    auto pel = internal::ScanPel(txn, key, version, g.number, StreamId::Min(), count);
    if (!pel.ok()) return pel.status();
    for (const Nack& n : *pel) {
      fg.pending.push_back({n.id, n.consumer, n.delivery_time, n.deliveries});
    }
    auto consumers = Consumers(txn, key, g.name);
    if (!consumers.ok()) return consumers.status();
    for (const ConsumerInfo& ci : *consumers) {
      auto c = internal::FindConsumer(txn, key, version, g.number, ci.name);
      if (!c.ok()) return c.status();
      if (!*c) return Status::Corruption("stream consumer vanished");
      FullConsumer fc;
      fc.name = ci.name;
      fc.seen_time = (*c)->seen_time;
      fc.pel_count = (*c)->pel;
      auto ids = ConsumerPelIds(txn, key, version, g.number, ci.name, StreamId::Min(), count);
      if (!ids.ok()) return ids.status();
      for (StreamId id : *ids) {
        auto n = internal::FindNack(txn, key, version, g.number, id);
        if (!n.ok()) return n.status();
        if (!*n) return Status::Corruption("consumer pending index disagrees");
        fc.pending.push_back({id, std::string(), (*n)->delivery_time, (*n)->deliveries});
      }
      fg.consumers.push_back(std::move(fc));
    }
    out.push_back(std::move(fg));
  }
  return out;
}

}  // namespace redge::store::streams
