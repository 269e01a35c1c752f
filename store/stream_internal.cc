#include "store/stream_internal.h"

#include <algorithm>

#include "store/store.h"

namespace redge::store::streams::internal {
namespace {

constexpr uint8_t kMetaFormat = 1;
constexpr size_t kMetaSize = 1 + 8 + 16 * 3 + 8 * 4 + 16 * 2 + 8 + 8 + 16;

void PutVarint(std::string* dst, uint64_t v) {
  while (v >= 0x80) {
    dst->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  dst->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return true;
    }
  }
  return false;
}

void PutString(std::string* dst, std::string_view s) {
  PutVarint(dst, s.size());
  dst->append(s);
}

bool GetString(std::string_view* in, std::string* out) {
  uint64_t n = 0;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  out->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

void PutId(std::string* dst, StreamId id) { dst->append(id.Encode()); }

StreamId GetId(const char* p) { return StreamId::Decode(std::string_view(p, 16)); }

// listpack.c's lpStringToInt64: strings that read as a 64-bit integer are stored as one.
bool LpStringToInt64(std::string_view s, int64_t* value) {
  constexpr size_t kLongStrSize = 21;
  if (s.empty() || s.size() >= kLongStrSize) return false;
  if (s.size() == 1 && s[0] == '0') {
    *value = 0;
    return true;
  }
  size_t i = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    if (++i == s.size()) return false;
  }
  if (s[i] < '1' || s[i] > '9') return false;
  uint64_t v = static_cast<uint64_t>(s[i++] - '0');
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (v > UINT64_MAX / 10) return false;
    v *= 10;
    uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (v > UINT64_MAX - d) return false;
    v += d;
  }
  if (i < s.size()) return false;
  if (negative) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *value = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    *value = static_cast<int64_t>(v);
  }
  return true;
}

// lpEncodeBacklen's size for an element whose encoding takes `l` bytes.
uint64_t BacklenSize(uint64_t l) {
  if (l <= 127) return 1;
  if (l < 16383) return 2;
  if (l < 2097151) return 3;
  if (l < 268435455) return 4;
  return 5;
}

}  // namespace

void PutU64(std::string* dst, uint64_t v) {
  for (int i = 7; i >= 0; --i) dst->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string EncodeStreamMeta(const StreamMeta& s) {
  std::string out;
  out.reserve(kMetaSize);
  out.push_back(static_cast<char>(kMetaFormat));
  PutU64(&out, s.length);
  PutId(&out, s.last_id);
  PutId(&out, s.first_id);
  PutId(&out, s.max_deleted_id);
  PutU64(&out, s.entries_added);
  PutU64(&out, s.groups);
  PutU64(&out, s.next_group);
  PutU64(&out, s.nodes);
  PutId(&out, s.head_node);
  PutId(&out, s.tail_node);
  PutU64(&out, s.origin);
  PutU64(&out, s.head_live);
  PutId(&out, s.head_last);
  return out;
}

bool DecodeStreamMeta(std::string_view raw, StreamMeta* s) {
  if (raw.size() < kMetaSize || static_cast<uint8_t>(raw[0]) != kMetaFormat) return false;
  const char* p = raw.data() + 1;
  s->length = GetU64(p), p += 8;
  s->last_id = GetId(p), p += 16;
  s->first_id = GetId(p), p += 16;
  s->max_deleted_id = GetId(p), p += 16;
  s->entries_added = GetU64(p), p += 8;
  s->groups = GetU64(p), p += 8;
  s->next_group = GetU64(p), p += 8;
  s->nodes = GetU64(p), p += 8;
  s->head_node = GetId(p), p += 16;
  s->tail_node = GetId(p), p += 16;
  s->origin = GetU64(p), p += 8;
  s->head_live = GetU64(p), p += 8;
  s->head_last = GetId(p);
  return true;
}

StreamView* ViewOf(Txn& txn, std::string_view key) {
  StreamView* view = txn.store().stream_view();
  return view != nullptr && view->Matches(txn.db(), key) ? view : nullptr;
}

Result<Stream> Open(Txn& txn, std::string_view key) {
  if (ViewOf(txn, key) != nullptr) return ViewReadOnlyError(key);
  auto meta = txn.GetTyped(key, KeyType::kStream);
  if (!meta.ok()) return meta.status();
  Stream st;
  st.meta = std::move(*meta);
  if (!DecodeStreamMeta(st.meta.value, &st.s)) return Status::Corruption("bad stream metadata");
  return st;
}

Stream NewStream(Txn& txn) {
  Stream st;
  st.meta.type = KeyType::kStream;
  st.meta.version = txn.NewVersion();
  st.s.origin = st.meta.version;
  return st;
}

void Save(Txn& txn, std::string_view key, Stream& st) {
  st.meta.value = EncodeStreamMeta(st.s);
  txn.PutMeta(key, st.meta);
}

void SaveUnwatched(Txn& txn, std::string_view key, Stream& st) {
  st.meta.value = EncodeStreamMeta(st.s);
  txn.PutMetaUnwatched(key, st.meta);
}

std::string EntrySub(StreamId id) { return kEntryNs + id.Encode(); }
std::string NodeSub(StreamId first) { return kNodeNs + first.Encode(); }
std::string GroupSub(std::string_view name) { return kGroupNs + std::string(name); }

std::string PelPrefix(uint64_t group) {
  std::string s(1, kPelNs);
  PutU64(&s, group);
  return s;
}
std::string PelSub(uint64_t group, StreamId id) { return PelPrefix(group) + id.Encode(); }

std::string ConsumerPrefix(uint64_t group) {
  std::string s(1, kConsumerNs);
  PutU64(&s, group);
  return s;
}
std::string ConsumerSub(uint64_t group, std::string_view name) {
  return ConsumerPrefix(group) + std::string(name);
}

std::string ConsumerPelPrefix(uint64_t group, std::string_view consumer) {
  std::string s(1, kConsumerPelNs);
  PutU64(&s, group);
  PutU64(&s, consumer.size());
  s.append(consumer);
  return s;
}
std::string ConsumerPelSub(uint64_t group, std::string_view consumer, StreamId id) {
  return ConsumerPelPrefix(group, consumer) + id.Encode();
}

std::string EncodeFields(const std::vector<std::string>& field_values) {
  size_t n = 0;
  for (const auto& f : field_values) n += f.size() + 2;
  std::string out;
  out.reserve(n);
  for (const auto& f : field_values) PutString(&out, f);
  return out;
}

bool DecodeFields(std::string_view raw, std::vector<std::string>* out) {
  out->clear();
  while (!raw.empty()) {
    std::string s;
    if (!GetString(&raw, &s)) return false;
    out->push_back(std::move(s));
  }
  return out->size() % 2 == 0;
}

std::string EncodeNode(const Node& n) {
  std::string out;
  PutU64(&out, n.live);
  PutU64(&out, n.deleted);
  PutU64(&out, n.bytes);
  PutId(&out, n.last);
  PutVarint(&out, n.master_fields.size());
  for (const auto& f : n.master_fields) PutString(&out, f);
  return out;
}

bool DecodeNode(StreamId first, std::string_view raw, Node* n) {
  if (raw.size() < 8 * 3 + 16) return false;
  n->first = first;
  n->live = GetU64(raw.data());
  n->deleted = GetU64(raw.data() + 8);
  n->bytes = GetU64(raw.data() + 16);
  n->last = GetId(raw.data() + 24);
  raw.remove_prefix(40);
  uint64_t count = 0;
  if (!GetVarint(&raw, &count) || count > raw.size()) return false;
  n->master_fields.clear();
  for (uint64_t i = 0; i < count; ++i) {
    std::string f;
    if (!GetString(&raw, &f)) return false;
    n->master_fields.push_back(std::move(f));
  }
  return true;
}

Result<Node> ReadNode(Txn& txn, std::string_view key, uint64_t version, StreamId first) {
  auto raw = txn.GetElement(key, version, NodeSub(first));
  if (!raw.ok()) return raw.status();
  Node n;
  if (!DecodeNode(first, *raw, &n)) return Status::Corruption("bad stream node");
  return n;
}

namespace {

bool IsNodeSub(std::string_view sub) { return sub.size() == 17 && sub[0] == kNodeNs; }

// The first (forward) or last (reverse) node record from `start_sub`, skipping `skip`.
Result<Node> ScanNode(Txn& txn, std::string_view key, uint64_t version, const std::string& start,
                      std::optional<StreamId> skip, bool reverse) {
  std::optional<Node> found;
  bool corrupt = false;
  auto visit = [&](std::string_view sub, std::string_view value) {
    if (!IsNodeSub(sub)) return false;
    StreamId first = StreamId::Decode(sub.substr(1));
    if (skip && first == *skip) return true;
    Node n;
    if (!DecodeNode(first, value, &n)) {
      corrupt = true;
      return false;
    }
    found = std::move(n);
    return false;
  };
  Status s = reverse ? txn.ScanElementsReverse(key, version, start, visit)
                     : txn.ScanElements(key, version, start, visit);
  if (!s.ok()) return s;
  if (corrupt) return Status::Corruption("bad stream node");
  if (!found) return Status::NotFound();
  return std::move(*found);
}

}  // namespace

Result<Node> FindNode(Txn& txn, std::string_view key, uint64_t version, StreamId id) {
  return ScanNode(txn, key, version, NodeSub(id), std::nullopt, /*reverse=*/true);
}

Result<Node> NextNode(Txn& txn, std::string_view key, uint64_t version, StreamId after) {
  return ScanNode(txn, key, version, NodeSub(after), after, /*reverse=*/false);
}

Result<Node> PrevNode(Txn& txn, std::string_view key, uint64_t version, StreamId before) {
  return ScanNode(txn, key, version, NodeSub(before), before, /*reverse=*/true);
}

uint64_t LpIntSize(int64_t v) {
  uint64_t enc;
  if (v >= 0 && v <= 127) {
    enc = 1;
  } else if (v >= -4096 && v <= 4095) {
    enc = 2;
  } else if (v >= -32768 && v <= 32767) {
    enc = 3;
  } else if (v >= -8388608 && v <= 8388607) {
    enc = 4;
  } else if (v >= -2147483648LL && v <= 2147483647LL) {
    enc = 5;
  } else {
    enc = 9;
  }
  return enc + BacklenSize(enc);
}

uint64_t LpStringSize(std::string_view s) {
  int64_t v = 0;
  if (LpStringToInt64(s, &v)) return LpIntSize(v);
  uint64_t enc = s.size() < 64 ? 1 + s.size() : (s.size() < 4096 ? 2 + s.size() : 5 + s.size());
  return enc + BacklenSize(enc);
}

int64_t CounterResize(uint64_t live, uint64_t deleted, uint64_t new_live, uint64_t new_deleted) {
  auto sz = [](uint64_t v) { return static_cast<int64_t>(LpIntSize(static_cast<int64_t>(v))); };
  return sz(new_live) - sz(live) + sz(new_deleted) - sz(deleted);
}

namespace {

bool IsEntrySub(std::string_view sub) { return sub.size() == 17 && sub[0] == kEntryNs; }

}  // namespace

Result<std::vector<StreamId>> EntryIds(Txn& txn, std::string_view key, uint64_t version,
                                       StreamId from, StreamId to, uint64_t limit) {
  std::vector<StreamId> ids;
  Status s =
      txn.ScanElements(key, version, EntrySub(from), [&](std::string_view sub, std::string_view) {
        if (!IsEntrySub(sub)) return false;
        StreamId id = StreamId::Decode(sub.substr(1));
        if (id > to) return false;
        ids.push_back(id);
        return limit == 0 || ids.size() < limit;
      });
  if (!s.ok()) return s;
  return ids;
}

Result<bool> EntryExists(Txn& txn, std::string_view key, uint64_t version, StreamId id) {
  auto v = txn.GetElement(key, version, EntrySub(id));
  if (v.ok()) return true;
  if (v.status().IsNotFound()) return false;
  return v.status();
}

Result<std::vector<Entry>> ReadEntries(Txn& txn, std::string_view key, const Stream& st,
                                       StreamId from, StreamId to, uint64_t count, bool reverse) {
  std::vector<Entry> out;
  if (st.s.length == 0 || from > to) return out;
  bool corrupt = false;
  auto visit = [&](std::string_view sub, std::string_view value) {
    if (!IsEntrySub(sub)) return false;
    StreamId id = StreamId::Decode(sub.substr(1));
    if (reverse ? id < from : id > to) return false;
    Entry e;
    e.id = id;
    if (!DecodeFields(value, &e.fields)) {
      corrupt = true;
      return false;
    }
    out.push_back(std::move(e));
    return count == 0 || out.size() < count;
  };
  Status s;
  if (reverse) {
    // Deleted entries leave tombstones until compaction: start at the last id there can be.
    s = txn.ScanElementsReverse(key, st.meta.version, EntrySub(std::min(to, st.s.last_id)), visit);
  } else {
    s = txn.ScanElements(key, st.meta.version, EntrySub(std::max(from, st.s.first_id)), visit);
  }
  if (!s.ok()) return s;
  if (corrupt) return Status::Corruption("bad stream entry");
  return out;
}

Result<StreamId> LastValidId(Txn& txn, std::string_view key, const Stream& st) {
  if (st.s.length == 0) return StreamId{};
  auto exists = EntryExists(txn, key, st.meta.version, st.s.last_id);
  if (!exists.ok()) return exists.status();
  if (*exists) return st.s.last_id;
  std::optional<StreamId> found;
  Status s = txn.ScanElementsReverse(key, st.meta.version, EntrySub(st.s.last_id),
                                     [&](std::string_view sub, std::string_view) {
                                       if (IsEntrySub(sub)) found = StreamId::Decode(sub.substr(1));
                                       return false;
                                     });
  if (!s.ok()) return s;
  if (!found) return Status::Corruption("stream length and entries disagree");
  return *found;
}

Result<std::optional<StreamId>> FirstIdFrom(Txn& txn, std::string_view key, uint64_t version,
                                            StreamId from) {
  std::optional<StreamId> found;
  Status s =
      txn.ScanElements(key, version, EntrySub(from), [&](std::string_view sub, std::string_view) {
        if (IsEntrySub(sub)) found = StreamId::Decode(sub.substr(1));
        return false;
      });
  if (!s.ok()) return s;
  return found;
}

Status RemoveEntry(Txn& txn, std::string_view key, Stream& st, StreamId id) {
  const uint64_t version = st.meta.version;
  auto node = FindNode(txn, key, version, id);
  if (!node.ok()) {
    return node.status().IsNotFound() ? Status::Corruption("stream entry outside every node")
                                      : node.status();
  }
  txn.DeleteElement(key, version, EntrySub(id));
  Node& n = *node;
  if (n.live <= 1) {
    // The node's last live entry: Redis frees the whole listpack.
    txn.DeleteElement(key, version, NodeSub(n.first));
    st.s.nodes--;
    if (st.s.nodes > 0 && n.first == st.s.head_node) {
      auto next = NextNode(txn, key, version, n.first);
      if (!next.ok())
        return next.status().IsNotFound() ? Status::Corruption("lost node") : next.status();
      st.s.head_node = next->first;
      st.s.head_live = next->live;
      st.s.head_last = next->last;
    }
    if (st.s.nodes > 0 && n.first == st.s.tail_node) {
      auto prev = PrevNode(txn, key, version, n.first);
      if (!prev.ok())
        return prev.status().IsNotFound() ? Status::Corruption("lost node") : prev.status();
      st.s.tail_node = prev->first;
    }
  } else {
    n.bytes += CounterResize(n.live, n.deleted, n.live - 1, n.deleted + 1);
    n.live--;
    n.deleted++;
    txn.PutElement(key, version, NodeSub(n.first), EncodeNode(n));
    if (n.first == st.s.head_node) st.s.head_live = n.live;
  }
  st.s.length--;
  return Status::OK();
}

bool RangeHasTombstones(const StreamMeta& s, std::optional<StreamId> start,
                        std::optional<StreamId> end) {
  if (s.length == 0 || s.max_deleted_id.IsZero()) return false;
  if (s.first_id > s.max_deleted_id) return false;
  StreamId a = start.value_or(StreamId::Min());
  StreamId b = end.value_or(StreamId::Max());
  return a <= s.max_deleted_id && s.max_deleted_id <= b;
}

std::optional<int64_t> EstimateDistance(const StreamMeta& s, StreamId id) {
  if (s.entries_added == 0) return 0;
  if (s.length == 0 && id <= s.last_id) return static_cast<int64_t>(s.entries_added);
  if (id == s.last_id) return static_cast<int64_t>(s.entries_added);
  if (id > s.last_id) return std::nullopt;
  if (s.max_deleted_id.IsZero() || s.max_deleted_id < s.first_id) {
    if (id < s.first_id) return static_cast<int64_t>(s.entries_added - s.length);
    if (id == s.first_id) return static_cast<int64_t>(s.entries_added - s.length + 1);
  }
  return std::nullopt;
}

}  // namespace redge::store::streams::internal
