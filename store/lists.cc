#include "store/lists.h"

#include <algorithm>
#include <limits>

#include "store/encoding.h"
#include "store/index_range.h"

namespace redge::store::lists {
namespace {

using encoding::ListSubKey;

const char* PushEvent(ListEnd end) { return end == ListEnd::kLeft ? "lpush" : "rpush"; }
const char* PopEvent(ListEnd end) { return end == ListEnd::kLeft ? "lpop" : "rpop"; }

constexpr uint64_t kPointReadMax = 8;

// Reads `n` elements starting at absolute index `from`.
Result<std::vector<std::string>> ReadRun(Txn& txn, std::string_view key, const Meta& meta,
                                         uint64_t from, uint64_t n) {
  std::vector<std::string> out;
  out.reserve(std::min<uint64_t>(n, 1 << 16));
  if (n <= kPointReadMax) {
    // Pops and LINDEX-like reads of a few elements: point lookups are several times cheaper
    // than building a merged (batch + database) iterator.
    for (uint64_t i = 0; i < n; ++i) {
      auto v = txn.GetElement(key, meta.version, ListSubKey(from + i));
      if (!v.ok()) {
        return v.status().IsNotFound() ? Status::Corruption("list elements missing") : v.status();
      }
      out.push_back(std::move(*v));
    }
    return out;
  }
  Status s = txn.ScanElements(key, meta.version, ListSubKey(from),
                              [&](std::string_view, std::string_view value) {
                                out.emplace_back(value);
                                return out.size() < n;
                              });
  if (!s.ok()) return s;
  if (out.size() != n) return Status::Corruption("list elements missing");
  return out;
}

// Replaces the list's contents with `values` under a new version (old elements become
// garbage for the compaction filter). Deletes the key when `values` is empty.
void Rewrite(Txn& txn, std::string_view key, Meta meta, const std::vector<std::string>& values) {
  if (values.empty()) {
    txn.DeleteKey(key);
    return;
  }
  meta.version = txn.NewVersion();
  meta.head = encoding::kListInitialIndex;
  meta.tail = meta.head;
  for (const auto& v : values) txn.PutElement(key, meta.version, ListSubKey(meta.tail++), v);
  txn.PutMeta(key, meta);
}

}  // namespace

void Replace(Txn& txn, std::string_view key, const std::vector<std::string>& values) {
  Meta meta;
  meta.type = KeyType::kList;
  Rewrite(txn, key, meta, values);  // a new version; PutMeta replaces any old record
}

Result<int64_t> Push(Txn& txn, std::string_view key, ListEnd end,
                     const std::vector<std::string>& values, bool only_if_exists) {
  auto found = txn.GetTyped(key, KeyType::kList);
  Meta meta;
  if (found.ok()) {
    meta = std::move(*found);
  } else if (found.status().IsNotFound()) {
    if (only_if_exists) return int64_t{0};
    meta.type = KeyType::kList;
    meta.version = txn.NewVersion();
    meta.head = meta.tail = encoding::kListInitialIndex;
  } else {
    return found.status();
  }
  for (const auto& v : values) {
    if (end == ListEnd::kLeft) {
      txn.PutElement(key, meta.version, ListSubKey(--meta.head), v);
    } else {
      txn.PutElement(key, meta.version, ListSubKey(meta.tail++), v);
    }
  }
  txn.PutMeta(key, meta);
  txn.Notify(key, PushEvent(end), &values);
  return static_cast<int64_t>(meta.size());
}

Result<std::vector<std::string>> Pop(Txn& txn, std::string_view key, ListEnd end, size_t count) {
  auto found = txn.GetTyped(key, KeyType::kList);
  if (!found.ok()) return found.status();
  Meta meta = std::move(*found);
  uint64_t n = std::min<uint64_t>(count, meta.size());
  std::vector<std::string> out;
  if (n == 0) return out;
  if (end == ListEnd::kLeft) {
    auto run = ReadRun(txn, key, meta, meta.head, n);
    if (!run.ok()) return run.status();
    out = std::move(*run);
    for (uint64_t i = 0; i < n; ++i) txn.DeleteElement(key, meta.version, ListSubKey(meta.head++));
  } else {
    auto run = ReadRun(txn, key, meta, meta.tail - n, n);
    if (!run.ok()) return run.status();
    out.assign(std::make_move_iterator(run->rbegin()), std::make_move_iterator(run->rend()));
    for (uint64_t i = 0; i < n; ++i) txn.DeleteElement(key, meta.version, ListSubKey(--meta.tail));
  }
  if (meta.size() == 0) {
    txn.DeleteKey(key);
  } else {
    txn.PutMeta(key, meta);
  }
  txn.Notify(key, PopEvent(end), &out);
  if (meta.size() == 0) txn.Notify(key, "del");
  return out;
}

Result<int64_t> Len(Txn& txn, std::string_view key) {
  auto found = txn.GetTyped(key, KeyType::kList);
  if (found.ok()) return static_cast<int64_t>(found->size());
  if (found.status().IsNotFound()) return int64_t{0};
  return found.status();
}

Result<std::vector<std::string>> Range(Txn& txn, std::string_view key, int64_t start,
                                       int64_t stop) {
  auto found = txn.GetTyped(key, KeyType::kList);
  if (!found.ok()) {
    if (found.status().IsNotFound()) return std::vector<std::string>();
    return found.status();
  }
  const Meta& meta = *found;
  if (!NormalizeIndexRange(static_cast<int64_t>(meta.size()), &start, &stop)) {
    return std::vector<std::string>();
  }
  return ReadRun(txn, key, meta, meta.head + start, stop - start + 1);
}

Result<std::string> Index(Txn& txn, std::string_view key, int64_t index) {
  auto found = txn.GetTyped(key, KeyType::kList);
  if (!found.ok()) return found.status();
  int64_t size = static_cast<int64_t>(found->size());
  if (index < 0) index += size;
  if (index < 0 || index >= size) return Status::NotFound();
  return txn.GetElement(key, found->version, ListSubKey(found->head + index));
}

Status SetIndex(Txn& txn, std::string_view key, int64_t index, std::string_view value) {
  auto found = txn.GetTyped(key, KeyType::kList);
  if (!found.ok()) return found.status().IsNotFound() ? Status::NoSuchKey() : found.status();
  int64_t size = static_cast<int64_t>(found->size());
  if (index < 0) index += size;
  if (index < 0 || index >= size) return Status::OutOfRange();
  txn.PutElement(key, found->version, ListSubKey(found->head + index), value);
  txn.Notify(key, "lset");
  return Status::OK();
}

Result<int64_t> Rem(Txn& txn, std::string_view key, int64_t count, std::string_view value) {
  auto found = txn.GetTyped(key, KeyType::kList);
  if (!found.ok()) return found.status().IsNotFound() ? Result<int64_t>(0) : found.status();
  Meta meta = std::move(*found);
  auto all = ReadRun(txn, key, meta, meta.head, meta.size());
  if (!all.ok()) return all.status();
  std::vector<std::string>& items = *all;
  std::vector<bool> drop(items.size(), false);
  int64_t removed = 0;
  uint64_t limit = count == 0 ? std::numeric_limits<uint64_t>::max()
                              : (count < 0 ? 0 - static_cast<uint64_t>(count) : count);
  if (count >= 0) {
    for (size_t i = 0; i < items.size() && static_cast<uint64_t>(removed) < limit; ++i) {
      if (items[i] == value) drop[i] = true, removed++;
    }
  } else {
    for (size_t i = items.size(); i-- > 0 && static_cast<uint64_t>(removed) < limit;) {
      if (items[i] == value) drop[i] = true, removed++;
    }
  }
  if (removed == 0) return int64_t{0};
  std::vector<std::string> kept;
  kept.reserve(items.size() - removed);
  for (size_t i = 0; i < items.size(); ++i) {
    if (!drop[i]) kept.push_back(std::move(items[i]));
  }
  Rewrite(txn, key, meta, kept);
  txn.Notify(key, "lrem");
  if (kept.empty()) txn.Notify(key, "del");
  return removed;
}

Status Trim(Txn& txn, std::string_view key, int64_t start, int64_t stop) {
  auto found = txn.GetTyped(key, KeyType::kList);
  if (!found.ok()) return found.status().IsNotFound() ? Status::OK() : found.status();
  Meta meta = std::move(*found);
  int64_t size = static_cast<int64_t>(meta.size());
  if (!NormalizeIndexRange(size, &start, &stop)) {
    txn.DeleteKey(key);
    txn.Notify(key, "ltrim");
    txn.Notify(key, "del");
    return Status::OK();
  }
  for (int64_t i = 0; i < start; ++i)
    txn.DeleteElement(key, meta.version, ListSubKey(meta.head + i));
  for (int64_t i = stop + 1; i < size; ++i) {
    txn.DeleteElement(key, meta.version, ListSubKey(meta.head + i));
  }
  meta.tail = meta.head + stop + 1;
  meta.head += start;
  txn.PutMeta(key, meta);
  txn.Notify(key, "ltrim");
  return Status::OK();
}

Result<int64_t> Insert(Txn& txn, std::string_view key, bool before, std::string_view pivot,
                       std::string_view value) {
  auto found = txn.GetTyped(key, KeyType::kList);
  if (!found.ok()) return found.status().IsNotFound() ? Result<int64_t>(0) : found.status();
  Meta meta = std::move(*found);
  auto all = ReadRun(txn, key, meta, meta.head, meta.size());
  if (!all.ok()) return all.status();
  auto pos = std::find(all->begin(), all->end(), pivot);
  if (pos == all->end()) return int64_t{-1};
  size_t at = static_cast<size_t>(pos - all->begin()) + (before ? 0 : 1);
  // Shift the shorter side by one slot instead of rewriting the whole list.
  if (at <= all->size() / 2) {
    for (size_t i = 0; i < at; ++i) {
      txn.PutElement(key, meta.version, ListSubKey(meta.head - 1 + i), (*all)[i]);
    }
    meta.head--;
    txn.PutElement(key, meta.version, ListSubKey(meta.head + at), value);
  } else {
    for (size_t i = all->size(); i-- > at;) {
      txn.PutElement(key, meta.version, ListSubKey(meta.head + i + 1), (*all)[i]);
    }
    meta.tail++;
    txn.PutElement(key, meta.version, ListSubKey(meta.head + at), value);
  }
  txn.PutMeta(key, meta);
  txn.Notify(key, "linsert");
  return static_cast<int64_t>(meta.size());
}

Result<std::vector<int64_t>> Pos(Txn& txn, std::string_view key, std::string_view element,
                                 const PosOptions& options) {
  if (options.rank == 0) {
    return Status::InvalidArgument(
        "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use "
        "negative to start from the end of the list");
  }
  if (options.rank == std::numeric_limits<int64_t>::min()) {
    return Status::InvalidArgument(
        "value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
  }
  if (options.count && *options.count < 0)
    return Status::InvalidArgument("COUNT can't be negative");
  if (options.maxlen < 0) return Status::InvalidArgument("MAXLEN can't be negative");
  std::vector<int64_t> out;
  auto found = txn.GetTyped(key, KeyType::kList);
  if (!found.ok()) {
    if (found.status().IsNotFound()) return out;
    return found.status();
  }
  const Meta& meta = *found;
  int64_t size = static_cast<int64_t>(meta.size());
  int64_t want = options.count ? (*options.count == 0 ? size : *options.count) : 1;
  int64_t skip = (options.rank > 0 ? options.rank : -options.rank) - 1;
  int64_t scanned = 0;
  auto consider = [&](int64_t idx, std::string_view v) {
    scanned++;
    if (v == element) {
      if (skip > 0) {
        skip--;
      } else {
        out.push_back(idx);
      }
    }
    return static_cast<int64_t>(out.size()) < want &&
           (options.maxlen == 0 || scanned < options.maxlen);
  };
  if (options.rank > 0) {
    int64_t idx = 0;
    Status s = txn.ScanElements(
        key, meta.version, ListSubKey(meta.head),
        [&](std::string_view, std::string_view v) { return consider(idx++, v) && idx < size; });
    if (!s.ok()) return s;
  } else {
    for (int64_t idx = size - 1; idx >= 0; --idx) {
      auto v = txn.GetElement(key, meta.version, ListSubKey(meta.head + idx));
      if (!v.ok()) return v.status();
      if (!consider(idx, *v)) break;
    }
  }
  return out;
}

Result<std::string> Move(Txn& txn, std::string_view source, std::string_view destination,
                         ListEnd from, ListEnd to) {
  auto src = txn.GetTyped(source, KeyType::kList);
  if (!src.ok()) return src.status();
  // Check the destination's type before touching the source, so an error writes nothing.
  auto dst = txn.GetTyped(destination, KeyType::kList);
  if (!dst.ok() && !dst.status().IsNotFound()) return dst.status();
  auto popped = Pop(txn, source, from, 1);
  if (!popped.ok()) return popped.status();
  if (popped->empty()) return Status::NotFound();
  std::string value = std::move(popped->front());
  auto pushed = Push(txn, destination, to, {value});
  if (!pushed.ok()) return pushed.status();
  return value;
}

Result<MPopResult> MPop(Txn& txn, const std::vector<std::string>& keys, ListEnd end, size_t count) {
  for (const auto& key : keys) {
    auto found = txn.GetTyped(key, KeyType::kList);
    if (!found.ok()) {
      if (found.status().IsNotFound()) continue;
      return found.status();
    }
    auto popped = Pop(txn, key, end, count);
    if (!popped.ok()) return popped.status();
    return MPopResult{key, std::move(*popped)};
  }
  return Status::NotFound();
}

}  // namespace redge::store::lists
