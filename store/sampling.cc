#include "store/sampling.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace redge::store::sampling {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

uint64_t Uniform(uint64_t n) {  // uniform in [0, n); n > 0
  return std::uniform_int_distribution<uint64_t>(0, n - 1)(Rng());
}

Element MakeElement(const Source& src, std::string_view raw_sub, std::string_view value) {
  return Element{std::string(raw_sub.substr(src.ns.size())), std::string(value)};
}

Status Mismatch() { return Status::Corruption("collection has fewer elements than its count"); }

// Visits the source's elements in order with their index; `fn` returns false to stop.
Status ForEach(Txn& txn, const Source& src,
               const std::function<bool(uint64_t, std::string_view, std::string_view)>& fn) {
  uint64_t i = 0;
  return txn.ScanElements(src.key, src.version, src.ns,
                          [&](std::string_view sub, std::string_view value) {
                            if (!StartsWith(sub, src.ns)) return false;
                            return fn(i++, sub, value);
                          });
}

// --- Exact regime ------------------------------------------------------------------------

// The element at `index` (0-based) in sub-key order.
Result<Element> ExactOne(Txn& txn, const Source& src, uint64_t index) {
  std::optional<Element> out;
  Status s = ForEach(txn, src, [&](uint64_t i, std::string_view sub, std::string_view value) {
    if (i < index) return true;
    out = MakeElement(src, sub, value);
    return false;
  });
  if (!s.ok()) return s;
  if (!out) return Mismatch();
  return std::move(*out);
}

// Selection sampling (Knuth's algorithm S): element i is taken with probability
// (needed / left), which gives every k-subset the same probability. Shuffled after.
Result<std::vector<Element>> ExactDistinct(Txn& txn, const Source& src, uint64_t count) {
  std::vector<Element> out;
  uint64_t k = std::min(count, src.size);
  out.reserve(k);
  Status s = ForEach(txn, src, [&](uint64_t i, std::string_view sub, std::string_view value) {
    if (i >= src.size) return false;
    uint64_t needed = k - out.size();
    if (Uniform(src.size - i) < needed) out.push_back(MakeElement(src, sub, value));
    return out.size() < k;
  });
  if (!s.ok()) return s;
  if (out.size() != k) return Mismatch();
  std::shuffle(out.begin(), out.end(), Rng());
  return out;
}

// `count` independent uniform indexes, served in one ordered pass.
Result<Sample> ExactWithRepetition(Txn& txn, const Source& src, uint64_t count) {
  std::vector<uint64_t> picks(count);
  for (auto& p : picks) p = Uniform(src.size);
  std::vector<uint64_t> wanted = picks;
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  Sample out;
  out.elements.reserve(wanted.size());
  size_t next = 0;
  Status s = ForEach(txn, src, [&](uint64_t i, std::string_view sub, std::string_view value) {
    if (i == wanted[next]) {
      out.elements.push_back(MakeElement(src, sub, value));
      ++next;
    }
    return next < wanted.size();
  });
  if (!s.ok()) return s;
  if (next != wanted.size()) return Mismatch();
  out.order.reserve(count);
  for (uint64_t p : picks) {
    out.order.push_back(
        static_cast<uint32_t>(std::lower_bound(wanted.begin(), wanted.end(), p) - wanted.begin()));
  }
  return out;
}

// --- Range picks -------------------------------------------------------------------------

// A cut of a collection's sub-key space into ranges: range i is [bounds[i], bounds[i+1]),
// the last one runs to the end of the namespace; bounds[0] is the namespace itself.
struct Partition {
  std::vector<std::string> bounds;
  uint64_t built_size = 0;  // the collection's size when it was cut
  size_t bytes = 0;         // memory held, for the cache's budget
};

constexpr size_t kCacheBytes = 64u << 20;
constexpr int kMaxTries = 200;  // tries before the ranges are cut again

// Partitions by collection (store, db, key, version, namespace), least recently used out.
class PartitionCache {
 public:
  std::shared_ptr<Partition> Get(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(id);
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second.second);
    return it->second.first;
  }
  void Put(const std::string& id, std::shared_ptr<Partition> p) {
    std::lock_guard<std::mutex> lock(mu_);
    Erase(id);
    bytes_ += p->bytes;
    lru_.push_front(id);
    map_.emplace(id, std::make_pair(std::move(p), lru_.begin()));
    while (bytes_ > kCacheBytes && lru_.size() > 1) Erase(lru_.back());
  }
  // Accounts for a partition that changed size in place (a split).
  void Resize(const std::string& id, size_t old_bytes, size_t new_bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    if (map_.count(id)) bytes_ = bytes_ - old_bytes + new_bytes;
  }

 private:
  void Erase(const std::string& id) {
    auto it = map_.find(id);
    if (it == map_.end()) return;
    bytes_ -= it->second.first->bytes;
    lru_.erase(it->second.second);
    map_.erase(it);
  }
  std::mutex mu_;
  std::list<std::string> lru_;
  std::unordered_map<std::string,
                     std::pair<std::shared_ptr<Partition>, std::list<std::string>::iterator>>
      map_;
  size_t bytes_ = 0;
};

PartitionCache& Cache() {
  static PartitionCache* cache = new PartitionCache();  // never destroyed: used at exit
  return *cache;
}

size_t BoundsBytes(const std::vector<std::string>& bounds) {
  size_t n = sizeof(Partition);
  for (const auto& b : bounds) n += sizeof(std::string) + b.capacity();
  return n;
}

class RangePicker {
 public:
  RangePicker(Txn& txn, const Source& src) : txn_(txn), src_(src) {
    id_.append(reinterpret_cast<const char*>(&txn.store()), sizeof(void*));
    id_.push_back(static_cast<char>(txn.db()));
    std::string version;
    for (int i = 0; i < 8; ++i) version.push_back(static_cast<char>(src.version >> (8 * i)));
    id_ += version;
    id_ += std::to_string(src.key.size()) + ":";
    id_.append(src.key);
    id_.append(src.ns);
  }

  Result<Element> Pick() {
    if (!part_) {
      part_ = Cache().Get(id_);
      if (!part_ || src_.size > part_->built_size + part_->built_size / 4 ||
          src_.size < part_->built_size / 2) {
        Status s = Cut();
        if (!s.ok()) return s;
      }
    }
    for (int tries = 0;; ++tries) {
      if (tries == kMaxTries) {  // the ranges hold far fewer than they did: cut again
        Status s = Cut();
        if (!s.ok()) return s;
        tries = 0;
      }
      size_t i = static_cast<size_t>(Uniform(part_->bounds.size()));
      std::vector<std::string> range;
      Status s = ReadRange(i, kRangeCap + 1, &range);
      if (!s.ok()) return s;
      if (range.size() > kRangeCap) {
        s = Split(i);
        if (!s.ok()) return s;
        continue;
      }
      uint64_t u = Uniform(kRangeCap);
      if (u >= range.size()) continue;
      // Ranges are read without copying values (a hash's may be big); fetch the one chosen.
      auto value = txn_.GetElement(src_.key, src_.version, range[u]);
      if (!value.ok()) return value.status().IsNotFound() ? Mismatch() : value.status();
      return MakeElement(src_, range[u], *value);
    }
  }

 private:
  bool InRange(std::string_view sub, size_t i) const {
    if (!StartsWith(sub, src_.ns)) return false;
    return i + 1 >= part_->bounds.size() || sub < part_->bounds[i + 1];
  }

  // The subs (with the namespace) of up to `limit` elements of range i, in order.
  Status ReadRange(size_t i, uint64_t limit, std::vector<std::string>* out) {
    return txn_.ScanElements(src_.key, src_.version, part_->bounds[i],
                             [&](std::string_view sub, std::string_view) {
                               if (!InRange(sub, i)) return false;
                               out->emplace_back(sub);
                               return out->size() < limit;
                             });
  }

  // Cuts the whole collection into ranges of kRange elements (one pass).
  Status Cut() {
    auto p = std::make_shared<Partition>();
    p->bounds.emplace_back(src_.ns);
    uint64_t n = 0;
    Status s = ForEach(txn_, src_, [&](uint64_t i, std::string_view sub, std::string_view) {
      if (i > 0 && i % kRange == 0) p->bounds.emplace_back(sub);
      n = i + 1;
      return true;
    });
    if (!s.ok()) return s;
    if (n == 0) return Mismatch();  // the metadata counts elements that are not there
    p->built_size = n;
    p->bytes = BoundsBytes(p->bounds);
    part_ = p;
    Cache().Put(id_, std::move(p));
    return Status::OK();
  }

  // Cuts range i, which grew past kRangeCap, into ranges of kRange elements.
  Status Split(size_t i) {
    std::vector<std::string> all;
    Status s = ReadRange(i, UINT64_MAX, &all);
    if (!s.ok()) return s;
    std::vector<std::string> added;
    for (size_t j = kRange; j < all.size(); j += kRange) added.push_back(std::move(all[j]));
    size_t old_bytes = part_->bytes;
    part_->bounds.insert(part_->bounds.begin() + static_cast<std::ptrdiff_t>(i + 1), added.begin(),
                         added.end());
    part_->bytes = BoundsBytes(part_->bounds);
    Cache().Resize(id_, old_bytes, part_->bytes);
    return Status::OK();
  }

  Txn& txn_;
  const Source& src_;
  std::string id_;
  std::shared_ptr<Partition> part_;
};

bool UsePass(const Source& src, uint64_t count) {
  return src.size <= kExactLimit || count >= src.size / kPickCost;
}

}  // namespace

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

Result<Element> One(Txn& txn, const Source& src) {
  if (src.size == 0) return Status::NotFound();
  if (src.size <= kExactLimit) return ExactOne(txn, src, Uniform(src.size));
  return RangePicker(txn, src).Pick();
}

Result<std::vector<Element>> Distinct(Txn& txn, const Source& src, uint64_t count) {
  if (src.size == 0 || count == 0) return std::vector<Element>();
  if (UsePass(src, count)) return ExactDistinct(txn, src, count);
  // count < size / kPickCost: repeats are rare, so draw until enough are distinct (each
  // draw is uniform among the elements not drawn yet, so every count-subset is equally
  // likely).
  std::vector<Element> out;
  std::unordered_set<std::string> seen;
  RangePicker picker(txn, src);
  while (out.size() < count) {
    auto e = picker.Pick();
    if (!e.ok()) return e.status();
    if (seen.insert(e->sub).second) out.push_back(std::move(*e));
  }
  return out;
}

Result<Sample> WithRepetition(Txn& txn, const Source& src, uint64_t count) {
  if (src.size == 0 || count == 0) return Sample();
  if (UsePass(src, count)) return ExactWithRepetition(txn, src, count);
  Sample out;
  std::unordered_map<std::string, uint32_t> index;
  out.order.reserve(count);
  RangePicker picker(txn, src);
  for (uint64_t i = 0; i < count; ++i) {
    auto e = picker.Pick();
    if (!e.ok()) return e.status();
    auto [it, added] = index.emplace(e->sub, static_cast<uint32_t>(out.elements.size()));
    if (added) out.elements.push_back(std::move(*e));
    out.order.push_back(it->second);
  }
  return out;
}

}  // namespace redge::store::sampling
