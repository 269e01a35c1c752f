#include "store/streams.h"

#include <cerrno>
#include <cstdlib>

#include "base/numbers.h"
#include "store/stream_internal.h"

namespace redge::store::streams {

using internal::Node;
using internal::Stream;

bool StreamId::Incr() {
  if (seq == UINT64_MAX) {
    if (ms == UINT64_MAX) {
      ms = seq = 0;
      return false;
    }
    ms++;
    seq = 0;
  } else {
    seq++;
  }
  return true;
}

bool StreamId::Decr() {
  if (seq == 0) {
    if (ms == 0) {
      ms = seq = UINT64_MAX;
      return false;
    }
    ms--;
    seq = UINT64_MAX;
  } else {
    seq--;
  }
  return true;
}

std::string StreamId::ToString() const { return std::to_string(ms) + "-" + std::to_string(seq); }

std::string StreamId::Encode() const {
  std::string out;
  out.reserve(16);
  internal::PutU64(&out, ms);
  internal::PutU64(&out, seq);
  return out;
}

StreamId StreamId::Decode(std::string_view p) {
  return {internal::GetU64(p.data()), internal::GetU64(p.data() + 8)};
}

namespace {

// Redis's string2ull: string2ll first, then strtoull (which also takes leading spaces, a
// '+', leading zeros, and numbers above INT64_MAX).
bool String2Ull(const std::string& s, uint64_t* v) {
  int64_t ll = 0;
  if (base::ParseInt64(s, &ll)) {
    if (ll < 0) return false;
    *v = static_cast<uint64_t>(ll);
    return true;
  }
  errno = 0;
  char* end = nullptr;
  unsigned long long r = strtoull(s.c_str(), &end, 10);
  if (errno == EINVAL || errno == ERANGE || s.empty() || *end != '\0') return false;
  *v = r;
  return true;
}

constexpr uint64_t kListpackMaxSize = uint64_t{1} << 30;  // STREAM_LISTPACK_MAX_SIZE

Status AddError(const char* message) { return Status::InvalidArgument(message); }

// streamAppendItem's listpack bookkeeping and the entry record.
Status Append(Txn& txn, std::string_view key, Stream& st, StreamId id,
              const std::vector<std::string>& fv, const NodeLimits& limits) {
  using internal::LpIntSize;
  using internal::LpStringSize;
  const uint64_t version = st.meta.version;
  const size_t numfields = fv.size() / 2;
  uint64_t totelelen = 0;
  for (const auto& s : fv) totelelen += s.size();
  uint64_t node_max_bytes = static_cast<uint64_t>(limits.max_bytes);
  if (limits.max_bytes <= 0 || node_max_bytes > kListpackMaxSize) node_max_bytes = kListpackMaxSize;

  Node n;
  bool append_to_tail = false;
  if (st.s.nodes > 0) {
    auto tail = internal::ReadNode(txn, key, version, st.s.tail_node);
    if (!tail.ok()) {
      return tail.status().IsNotFound() ? Status::Corruption("stream tail node missing")
                                        : tail.status();
    }
    n = std::move(*tail);
    append_to_tail = true;
    if (n.bytes + totelelen >= node_max_bytes) {
      append_to_tail = false;
    } else if (limits.max_entries > 0 &&
               n.live + n.deleted >= static_cast<uint64_t>(limits.max_entries)) {
      append_to_tail = false;
    }
  }
  bool same_fields;
  if (!append_to_tail) {
    // A new listpack: header and end byte, then the master entry (count 1, deleted 0, the
    // field names, a zero terminator).
    n = Node();
    n.first = id;
    n.live = 1;
    n.bytes =
        7 + LpIntSize(1) + LpIntSize(0) + LpIntSize(static_cast<int64_t>(numfields)) + LpIntSize(0);
    for (size_t i = 0; i < numfields; ++i) {
      n.master_fields.push_back(fv[2 * i]);
      n.bytes += LpStringSize(fv[2 * i]);
    }
    same_fields = true;
    if (st.s.nodes == 0) st.s.head_node = id;
    st.s.tail_node = id;
    st.s.nodes++;
  } else {
    n.bytes += internal::CounterResize(n.live, n.deleted, n.live + 1, n.deleted);
    n.live++;
    same_fields = n.master_fields.size() == numfields;
    for (size_t i = 0; same_fields && i < numfields; ++i) {
      same_fields = n.master_fields[i] == fv[2 * i];
    }
  }
  // The entry: flags, id deltas from the master id, [field count and names], values, and
  // the element count that lets Redis walk backwards.
  n.bytes += LpIntSize(same_fields ? 2 : 0);
  n.bytes += LpIntSize(static_cast<int64_t>(id.ms - n.first.ms));
  n.bytes += LpIntSize(static_cast<int64_t>(id.seq - n.first.seq));
  int64_t lp_count = static_cast<int64_t>(numfields) + 3;
  if (!same_fields) {
    n.bytes += LpIntSize(static_cast<int64_t>(numfields));
    for (size_t i = 0; i < numfields; ++i) n.bytes += LpStringSize(fv[2 * i]);
    lp_count += static_cast<int64_t>(numfields) + 1;
  }
  for (size_t i = 0; i < numfields; ++i) n.bytes += LpStringSize(fv[2 * i + 1]);
  n.bytes += LpIntSize(lp_count);
  n.last = id;
  if (n.first == st.s.head_node) {
    st.s.head_live = n.live;
    st.s.head_last = n.last;
  }
  txn.PutElement(key, version, internal::NodeSub(n.first), internal::EncodeNode(n));
  txn.PutElement(key, version, internal::EntrySub(id), internal::EncodeFields(fv));
  st.s.length++;
  st.s.entries_added++;
  st.s.last_id = id;
  if (st.s.length == 1) st.s.first_id = id;
  return Status::OK();
}

}  // namespace

std::optional<StreamId> ParseId(std::string_view s, uint64_t missing_seq, bool strict,
                                bool* seq_given) {
  if (s.size() > 127) return std::nullopt;
  // Redis copies the argument into a C string: a NUL byte ends it.
  std::string buf(s.substr(0, s.find('\0')));
  if (strict && (buf == "-" || buf == "+")) return std::nullopt;
  if (seq_given) *seq_given = true;
  if (buf == "-") return StreamId::Min();
  if (buf == "+") return StreamId::Max();
  StreamId id;
  size_t dash = buf.find('-');
  if (!String2Ull(buf.substr(0, dash), &id.ms)) return std::nullopt;
  if (dash == std::string::npos) {
    id.seq = missing_seq;
  } else {
    std::string seq = buf.substr(dash + 1);
    if (seq_given && seq == "*") {
      id.seq = 0;
      *seq_given = false;
    } else if (!String2Ull(seq, &id.seq)) {
      return std::nullopt;
    }
  }
  return id;
}

Status ViewReadOnlyError(std::string_view key) {
  std::string shown(key.substr(0, 128));
  if (key.size() > 128) shown += "...";
  return Status::RedisError("ERR " + shown +
                            " is a read-only stream view of a job's events: only XRANGE, "
                            "XREVRANGE, XREAD and XLEN work on it");
}

bool IsView(Txn& txn, std::string_view key) { return internal::ViewOf(txn, key) != nullptr; }

Status InvalidIdError() {
  return Status::InvalidArgument("Invalid stream ID specified as stream command argument");
}

int64_t DefaultApproxLimit(const NodeLimits& nodes) {
  if (nodes.max_entries <= 0) return 10000;
  if (nodes.max_entries > 10000) return 1000000;
  return 100 * nodes.max_entries;
}

Result<StreamId> Add(Txn& txn, std::string_view key, const AddOptions& options,
                     const std::vector<std::string>& fv) {
  if (options.id && options.seq_given && options.id->IsZero()) {
    return AddError("The ID specified in XADD must be greater than 0-0");
  }
  auto opened = internal::Open(txn, key);
  bool created = false;
  if (!opened.ok()) {
    if (!opened.status().IsNotFound()) return opened.status();
    if (options.no_mkstream) return Status::NotFound();
    opened = internal::NewStream(txn);
    created = true;
  }
  Stream& st = *opened;
  // Redis has already created the key when these checks fail: an empty stream stays.
  auto fail = [&](const char* message) -> Result<StreamId> {
    if (created) internal::Save(txn, key, st);
    return AddError(message);
  };
  if (st.s.last_id == StreamId::Max()) {
    return fail("The stream has exhausted the last possible ID, unable to add more items");
  }
  StreamId id;
  if (options.id) {
    id = *options.id;
    if (!options.seq_given && st.s.last_id.ms == id.ms) {
      // "<ms>-*" within the last id's millisecond: the next sequence, unless it would
      // wrap (Redis then fails without setting errno to EDOM: the generic message).
      if (st.s.last_id.seq == UINT64_MAX) return fail("Elements are too large to be stored");
      id = st.s.last_id;
      id.seq++;
    }
  } else {
    uint64_t now = static_cast<uint64_t>(txn.now_ms());
    if (now > st.s.last_id.ms) {
      id = {now, 0};
    } else {
      id = st.s.last_id;
      id.Incr();
    }
  }
  if (id <= st.s.last_id) {
    return fail("The ID specified in XADD is equal or smaller than the target stream top item");
  }
  uint64_t totelelen = 0;
  for (const auto& s : fv) totelelen += s.size();
  if (totelelen > kListpackMaxSize) return fail("Elements are too large to be stored");

  Status s = Append(txn, key, st, id, fv, options.trim.nodes);
  if (!s.ok()) return s;
  internal::Save(txn, key, st);
  txn.Notify(key, "xadd");
  if (options.trim.strategy != TrimStrategy::kNone) {
    auto trimmed = internal::TrimStream(txn, key, st, options.trim);
    if (!trimmed.ok()) return trimmed.status();
    if (*trimmed > 0) {
      internal::Save(txn, key, st);
      txn.Notify(key, "xtrim");
    }
  }
  return id;
}

Result<int64_t> Trim(Txn& txn, std::string_view key, const TrimOptions& options) {
  auto st = internal::Open(txn, key);
  if (!st.ok()) return st.status().IsNotFound() ? Result<int64_t>(0) : st.status();
  auto trimmed = internal::TrimStream(txn, key, *st, options);
  if (!trimmed.ok()) return trimmed.status();
  if (*trimmed > 0) {
    internal::Save(txn, key, *st);
    txn.Notify(key, "xtrim");
  }
  return trimmed;
}

Result<int64_t> Len(Txn& txn, std::string_view key) {
  if (StreamView* view = internal::ViewOf(txn, key)) {
    auto info = view->Info(txn, key);
    if (!info.ok()) return info.status().IsNotFound() ? Result<int64_t>(0) : info.status();
    return static_cast<int64_t>(info->length);
  }
  auto st = internal::Open(txn, key);
  if (!st.ok()) return st.status().IsNotFound() ? Result<int64_t>(0) : st.status();
  return static_cast<int64_t>(st->s.length);
}

Result<std::vector<Entry>> Range(Txn& txn, std::string_view key, StreamId start, StreamId end,
                                 uint64_t count, bool reverse) {
  if (StreamView* view = internal::ViewOf(txn, key)) {
    return view->Range(txn, key, start, end, count, reverse);
  }
  auto st = internal::Open(txn, key);
  if (!st.ok()) return st.status();
  return internal::ReadEntries(txn, key, *st, start, end, count, reverse);
}

Result<int64_t> Delete(Txn& txn, std::string_view key, const std::vector<StreamId>& ids) {
  auto opened = internal::Open(txn, key);
  if (!opened.ok()) return opened.status().IsNotFound() ? Result<int64_t>(0) : opened.status();
  Stream& st = *opened;
  int64_t deleted = 0;
  bool first_entry = false;
  const StreamId first = st.s.first_id;
  for (StreamId id : ids) {
    auto exists = internal::EntryExists(txn, key, st.meta.version, id);
    if (!exists.ok()) return exists.status();
    if (!*exists) continue;
    Status s = internal::RemoveEntry(txn, key, st, id);
    if (!s.ok()) return s;
    if (id == first) first_entry = true;
    if (id > st.s.max_deleted_id) st.s.max_deleted_id = id;
    deleted++;
  }
  if (deleted == 0) return 0;
  if (st.s.length == 0) {
    st.s.first_id = StreamId{};
  } else if (first_entry) {
    auto next = internal::FirstIdFrom(txn, key, st.meta.version, first);
    if (!next.ok()) return next.status();
    if (!*next) return Status::Corruption("stream length and entries disagree");
    st.s.first_id = **next;
  }
  internal::Save(txn, key, st);
  txn.Notify(key, "xdel");
  return deleted;
}

Status SetId(Txn& txn, std::string_view key, StreamId last_id, std::optional<int64_t> entries_added,
             std::optional<StreamId> max_deleted) {
  auto opened = internal::Open(txn, key);
  if (!opened.ok()) {
    return opened.status().IsNotFound() ? Status::NoSuchKey() : opened.status();
  }
  Stream& st = *opened;
  if (st.s.length > 0) {
    auto maxid = internal::LastValidId(txn, key, st);
    if (!maxid.ok()) return maxid.status();
    if (last_id < *maxid) {
      return Status::InvalidArgument(
          "The ID specified in XSETID is smaller than the target stream top item");
    }
    if (entries_added && static_cast<uint64_t>(*entries_added) < st.s.length) {
      return Status::InvalidArgument(
          "The entries_added specified in XSETID is smaller than the target stream length");
    }
  }
  st.s.last_id = last_id;
  if (entries_added) st.s.entries_added = static_cast<uint64_t>(*entries_added);
  if (max_deleted && !max_deleted->IsZero()) st.s.max_deleted_id = *max_deleted;
  // Redis 7.0's XSETID does not mark the key modified for WATCH (no signalModifiedKey).
  internal::SaveUnwatched(txn, key, st);
  txn.Announce(key, "xsetid");
  return Status::OK();
}

Result<StreamInfo> Info(Txn& txn, std::string_view key) {
  if (StreamView* view = internal::ViewOf(txn, key)) return view->Info(txn, key);
  auto st = internal::Open(txn, key);
  if (!st.ok()) return st.status();
  StreamInfo info;
  info.origin = st->s.origin;
  info.length = st->s.length;
  info.nodes = st->s.nodes;
  info.last_id = st->s.last_id;
  info.max_deleted_id = st->s.max_deleted_id;
  info.entries_added = st->s.entries_added;
  info.first_id = st->s.first_id;
  info.groups = st->s.groups;
  auto last_valid = internal::LastValidId(txn, key, *st);
  if (!last_valid.ok()) return last_valid.status();
  info.last_valid_id = *last_valid;
  return info;
}

namespace {

// Nodes of the canonical compressed radix tree (rax.c) over keys[lo, hi), which share their
// first `depth` bytes; all keys are 16 bytes and distinct.
int64_t RaxNodes(const std::vector<std::string>& keys, size_t lo, size_t hi, size_t depth) {
  constexpr size_t kLen = 16;
  if (depth == kLen) return 1;  // the key's own (leaf) node
  const std::string& a = keys[lo];
  const std::string& b = keys[hi - 1];
  size_t common = depth;
  while (common < kLen && a[common] == b[common]) common++;
  if (common > depth) return 1 + RaxNodes(keys, lo, hi, common);  // a compressed node
  int64_t n = 1;  // a branching node: one child per distinct next byte
  for (size_t i = lo; i < hi;) {
    size_t j = i + 1;
    while (j < hi && keys[j][depth] == keys[i][depth]) j++;
    n += RaxNodes(keys, i, j, depth + 1);
    i = j;
  }
  return n;
}

}  // namespace

Result<int64_t> RadixTreeNodes(Txn& txn, std::string_view key) {
  auto st = internal::Open(txn, key);
  if (!st.ok()) return st.status();
  std::vector<std::string> keys;
  if (st->s.nodes > 0) {
    Status s = txn.ScanElements(key, st->meta.version, internal::NodeSub(st->s.head_node),
                                [&](std::string_view sub, std::string_view) {
                                  if (sub.size() != 17 || sub[0] != internal::kNodeNs) return false;
                                  keys.emplace_back(sub.substr(1));
                                  return true;
                                });
    if (!s.ok()) return s;
  }
  if (keys.empty()) return 1;  // the empty root
  return RaxNodes(keys, 0, keys.size(), 0);
}

}  // namespace redge::store::streams
