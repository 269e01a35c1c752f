#include "store/sort.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "store/hashes.h"
#include "store/lists.h"
#include "store/sets.h"
#include "store/zsets.h"

namespace redge::store::sort {
namespace {

struct Item {
  std::string element;
  double score = 0;
  std::optional<std::string> by;  // ALPHA with BY: the value compared (nullopt: missing)
};

// Redis's strtod test of a weight: the whole string read, no ERANGE, not NaN. Like Redis
// it reads a C string, so bytes after a NUL are ignored.
bool ParseWeight(const std::string& s, double* out) {
  errno = 0;
  char* end = nullptr;
  const double d = strtod(s.c_str(), &end);
  if (*end != '\0' || errno == ERANGE || std::isnan(d)) return false;
  *out = d;
  return true;
}

// Redis's compareStringObjects (binary) and collateStringObjects (strcoll, C locale).
int CompareBytes(std::string_view a, std::string_view b) {
  const int c = memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  if (c != 0) return c;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}
int CompareCStrings(const std::string& a, const std::string& b) {
  return strcmp(a.c_str(), b.c_str());
}

// Redis's sortCompare.
int Compare(const Item& a, const Item& b, const Options& o) {
  int cmp;
  const bool store = o.store.has_value();
  if (!o.alpha) {
    if (a.score > b.score) {
      cmp = 1;
    } else if (a.score < b.score) {
      cmp = -1;
    } else {
      cmp = CompareBytes(a.element, b.element);
    }
  } else if (o.by) {
    if (!a.by || !b.by) {
      cmp = a.by.has_value() == b.by.has_value() ? 0 : (!a.by ? -1 : 1);
    } else {
      cmp = store ? CompareBytes(*a.by, *b.by) : CompareCStrings(*a.by, *b.by);
    }
  } else {
    cmp = store ? CompareBytes(a.element, b.element) : CompareCStrings(a.element, b.element);
  }
  return o.desc ? -cmp : cmp;
}

// Replaces `dst` with the list `values` (Redis's setKey of the new list: any old value and
// its TTL go), or deletes it when `values` is empty.
void StoreResult(Txn& txn, std::string_view dst, const std::vector<std::string>& values) {
  if (values.empty()) {
    auto old = txn.GetMeta(dst);
    if (old.ok()) {
      txn.DeleteKey(dst);
      txn.Notify(dst, "del");
    }
    return;
  }
  lists::Replace(txn, dst, values);
  txn.Notify(dst, "sortstore");
}

}  // namespace

Result<std::optional<std::string>> LookupByPattern(Txn& txn, std::string_view pattern,
                                                   std::string_view element) {
  using Out = std::optional<std::string>;
  if (pattern == "#") return Out(std::string(element));
  const size_t star = pattern.find('*');
  if (star == std::string_view::npos) return Out();
  size_t arrow = pattern.find("->", star + 1);
  std::string_view field;
  if (arrow != std::string_view::npos && arrow + 2 < pattern.size()) {
    field = pattern.substr(arrow + 2);
  } else {
    arrow = pattern.size();
  }
  std::string key(pattern.substr(0, star));
  key.append(element);
  key.append(pattern.substr(star + 1, arrow - star - 1));
  auto meta = txn.GetMeta(key);
  if (!meta.ok()) return meta.status().IsNotFound() ? Result<Out>(Out()) : meta.status();
  if (!field.empty()) {
    if (meta->type != KeyType::kHash) return Out();
    auto v = hashes::Get(txn, key, field);
    if (v.ok()) return Out(std::move(*v));
    return v.status().IsNotFound() ? Result<Out>(Out()) : v.status();
  }
  if (meta->type != KeyType::kString) return Out();
  return Out(std::move(meta->value));
}

Result<SortResult> Sort(Txn& txn, std::string_view key, const Options& o) {
  // A BY pattern without '*' means "do not sort" (and no weight lookups).
  bool dontsort = o.by && o.by->find('*') == std::string::npos;
  bool alpha = o.alpha;
  KeyType type = KeyType::kList;
  int64_t size = 0;
  auto meta = txn.GetMeta(key);
  if (meta.ok()) {
    type = meta->type;
    if (type != KeyType::kList && type != KeyType::kSet && type != KeyType::kZSet) {
      return Status::WrongType();
    }
    size = static_cast<int64_t>(meta->size());
  } else if (!meta.status().IsNotFound()) {
    return meta.status();
  }
  Options opts = o;
  // A set has no order of its own: when the result is stored it is sorted ALPHA anyway.
  if (dontsort && type == KeyType::kSet && o.store) {
    dontsort = false;
    alpha = true;
    opts.by.reset();
  }
  opts.alpha = alpha;

  // Redis's LIMIT arithmetic (sort.c), clamped to the input's size.
  int64_t start = std::min(std::max<int64_t>(o.limit_offset, 0), size);
  const int64_t count = std::min(std::max<int64_t>(o.limit_count, -1), size);
  int64_t end = count < 0 ? size - 1 : start + count - 1;
  if (start >= size) {
    start = size - 1;
    end = size - 2;
  }
  if (end >= size) end = size - 1;

  // The elements, loaded in the order Redis loads them.
  std::vector<Item> items;
  auto take = [&](std::vector<std::string>&& elements) {
    items.reserve(elements.size());
    for (auto& e : elements) items.push_back(Item{std::move(e), 0, std::nullopt});
  };
  if (meta.ok() && dontsort && (type == KeyType::kList || type == KeyType::kZSet)) {
    // Native order, only the LIMITed range, from the tail when DESC.
    if (end >= start) {
      if (type == KeyType::kList) {
        const int64_t first = o.desc ? size - 1 - end : start;
        const int64_t last = o.desc ? size - 1 - start : end;
        auto r = lists::Range(txn, key, first, last);
        if (!r.ok()) return r.status();
        if (o.desc) std::reverse(r->begin(), r->end());
        take(std::move(*r));
      } else {
        auto r = zsets::RangeByRank(txn, key, start, end, o.desc);
        if (!r.ok()) return r.status();
        std::vector<std::string> members;
        members.reserve(r->size());
        for (auto& e : *r) members.push_back(std::move(e.member));
        take(std::move(members));
      }
    }
    end -= start;
    start = 0;
  } else if (meta.ok()) {
    Result<std::vector<std::string>> all = std::vector<std::string>();
    if (type == KeyType::kList) {
      all = lists::Range(txn, key, 0, -1);
    } else if (type == KeyType::kSet) {
      all = sets::Members(txn, key);
    } else {
      auto r = zsets::RangeByRank(txn, key, 0, -1, false);
      if (!r.ok()) return r.status();
      std::vector<std::string> members;
      members.reserve(r->size());
      for (auto& e : *r) members.push_back(std::move(e.member));
      all = std::move(members);
    }
    if (!all.ok()) return all.status();
    take(std::move(*all));
  }

  if (!dontsort) {
    bool bad_weight = false;
    for (auto& item : items) {
      std::optional<std::string> byval;
      if (opts.by) {
        auto v = LookupByPattern(txn, *opts.by, item.element);
        if (!v.ok()) return v.status();
        if (!*v) continue;  // a missing weight: 0, or first for ALPHA
        byval = std::move(**v);
      }
      if (alpha) {
        if (opts.by) item.by = std::move(byval);
      } else if (!ParseWeight(opts.by ? *byval : item.element, &item.score)) {
        bad_weight = true;
      }
    }
    if (bad_weight) {
      return Status::InvalidArgument("One or more scores can't be converted into double");
    }
    std::stable_sort(items.begin(), items.end(),
                     [&](const Item& a, const Item& b) { return Compare(a, b, opts) < 0; });
  }

  // The range comes from the metadata's count: a collection whose elements disagree with
  // it (damaged data) is an error, not a read past the end.
  if (end >= start && static_cast<uint64_t>(end) >= items.size()) {
    return Status::Corruption("collection has fewer elements than its count");
  }
  SortResult out;
  std::vector<std::string> stored;
  for (int64_t j = start; j <= end; ++j) {
    const std::string& element = items[static_cast<size_t>(j)].element;
    if (o.get.empty()) {
      if (o.store) {
        stored.push_back(element);
      } else {
        out.items.emplace_back(element);
      }
      continue;
    }
    for (const auto& pattern : o.get) {
      auto v = LookupByPattern(txn, pattern, element);
      if (!v.ok()) return v.status();
      if (o.store) {
        stored.push_back(*v ? std::move(**v) : std::string());
      } else {
        out.items.push_back(std::move(*v));
      }
    }
  }
  if (o.store) {
    out.count = static_cast<int64_t>(stored.size());
    StoreResult(txn, *o.store, stored);
  } else {
    out.count = static_cast<int64_t>(out.items.size());
  }
  return out;
}

}  // namespace redge::store::sort
