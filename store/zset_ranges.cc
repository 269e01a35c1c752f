// Sorted sets: ranges by score and by lex (ZRANGE BYSCORE/BYLEX and the older forms,
// ZCOUNT, ZLEXCOUNT, ZREMRANGEBYSCORE, ZREMRANGEBYLEX). Every range starts with a seek in
// the score index and walks only what it returns (plus the one entry that ends it).
#include <cmath>
#include <cstdlib>
#include <string>

#include "store/zset_internal.h"
#include "store/zsets.h"

namespace redge::store::zsets {

using namespace internal;  // NOLINT: this file is part of the module's implementation

// --- Parsing ------------------------------------------------------------------------------

namespace {

// One end of zslParseRange: strtod over the C string (so, like Redis, leading spaces,
// hex, "inf" and an empty string are accepted, and an embedded NUL ends the number).
bool ParseScoreBound(std::string_view arg, double* value, bool* exclusive) {
  std::string buf(arg);
  const char* p = buf.c_str();
  *exclusive = false;
  if (p[0] == '(') {
    *exclusive = true;
    ++p;
  }
  char* end = nullptr;
  *value = strtod(p, &end);
  return end[0] == '\0' && !std::isnan(*value);
}

// One end of zslParseLexRange (Redis reads the first bytes as a C string: "+" and "-"
// must be alone, up to a NUL).
bool ParseLexBound(std::string_view arg, LexBound* out) {
  if (arg.empty()) return false;
  switch (arg[0]) {
    case '+':
    case '-':
      if (arg.size() > 1 && arg[1] != '\0') return false;
      out->kind = arg[0] == '+' ? LexBound::Kind::kPlusInf : LexBound::Kind::kMinusInf;
      out->exclusive = true;
      out->value.clear();
      return true;
    case '(':
    case '[':
      out->kind = LexBound::Kind::kValue;
      out->exclusive = arg[0] == '(';
      out->value.assign(arg.substr(1));
      return true;
    default:
      return false;
  }
}

// Redis's sdscmplex: "-" below and "+" above every string; two infinities of one kind are
// equal.
int CompareBounds(const LexBound& a, const LexBound& b) {
  using K = LexBound::Kind;
  if (a.kind != K::kValue && a.kind == b.kind) return 0;
  if (a.kind == K::kMinusInf || b.kind == K::kPlusInf) return -1;
  if (a.kind == K::kPlusInf || b.kind == K::kMinusInf) return 1;
  int c = a.value.compare(b.value);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

bool ParseScoreRange(std::string_view min, std::string_view max, ScoreRange* out) {
  return ParseScoreBound(min, &out->min, &out->minex) &&
         ParseScoreBound(max, &out->max, &out->maxex);
}

bool ParseLexRange(std::string_view min, std::string_view max, LexRange* out) {
  return ParseLexBound(min, &out->min) && ParseLexBound(max, &out->max);
}

bool LexRange::Empty() const {
  int c = CompareBounds(min, max);
  return c > 0 || (c == 0 && (min.exclusive || max.exclusive));
}

bool LexRange::GteMin(std::string_view member) const {
  switch (min.kind) {
    case LexBound::Kind::kMinusInf:
      return true;
    case LexBound::Kind::kPlusInf:
      return false;
    default:
      return min.exclusive ? member > std::string_view(min.value)
                           : member >= std::string_view(min.value);
  }
}

bool LexRange::LteMax(std::string_view member) const {
  switch (max.kind) {
    case LexBound::Kind::kPlusInf:
      return true;
    case LexBound::Kind::kMinusInf:
      return false;
    default:
      return max.exclusive ? member < std::string_view(max.value)
                           : member <= std::string_view(max.value);
  }
}

// --- Walks -----------------------------------------------------------------------------------

namespace {

// The index sub-key at or below every entry of `range`, and above every entry below it.
std::string RangeLowSub(const ScoreRange& range) {
  return range.minex ? IndexSubAbove(range.min) : std::string(1, kIndexNs) + EncodeScore(range.min);
}

// The index sub-key above every entry of `range`, and at or below every entry above it.
std::string RangeHighSub(const ScoreRange& range) {
  return range.maxex ? std::string(1, kIndexNs) + EncodeScore(range.max) : IndexSubAbove(range.max);
}

// Visits the entries of a score range in order (descending if `reverse`), skipping the
// first `skip` of them, until `fn` returns false. Redis's walk: find the first element in
// range, step over `skip` elements, then take elements while they stay in range.
Status WalkScoreRange(Txn& txn, std::string_view key, const Meta& meta, const ScoreRange& range,
                      bool reverse, uint64_t skip,
                      const std::function<bool(std::string_view member, double score)>& fn) {
  if (range.Empty()) return Status::OK();
  if (!reverse) {
    return WalkUp(txn, key, meta, RangeLowSub(range),
                  [&](std::string_view member, double score, std::string_view) {
                    if (skip > 0) {
                      skip--;
                      return true;
                    }
                    return range.LteMax(score) && fn(member, score);
                  });
  }
  // The greatest sub-key <= the target is the last entry with score <= max, except for an
  // entry sitting exactly on the target (member "" with the bound's score), skipped below.
  bool found_first = false;
  return WalkDown(txn, key, meta, RangeHighSub(range),
                  [&](std::string_view member, double score, std::string_view) {
                    if (!found_first) {
                      if (!range.LteMax(score)) return true;
                      found_first = true;
                    }
                    if (skip > 0) {
                      skip--;
                      return true;
                    }
                    return range.GteMin(score) && fn(member, score);
                  });
}

// The lowest and highest index entries; false if the index is empty.
Status IndexEnds(Txn& txn, std::string_view key, const Meta& meta, Entry* first, Entry* last,
                 bool* any) {
  *any = false;
  Status s = WalkUp(txn, key, meta, std::string(1, kIndexNs),
                    [&](std::string_view member, double score, std::string_view) {
                      *first = Entry{std::string(member), score};
                      *any = true;
                      return false;
                    });
  if (!s.ok() || !*any) return s;
  return WalkDown(txn, key, meta, "", [&](std::string_view member, double score, std::string_view) {
    *last = Entry{std::string(member), score};
    return false;
  });
}

// The lex range walk of Redis's listpack encoding (zzlFirstInLexRange/zzlLastInLexRange):
// the range is empty unless the last element is >= min and the first <= max; the walk
// starts at the first element >= min (the last <= max when reversed), which must also be
// in range, steps over `skip` elements and takes elements while they stay in range. When
// every member has one score, the members are in lex order and the start is one seek.
Status WalkLexRange(Txn& txn, std::string_view key, const Meta& meta, const LexRange& range,
                    bool reverse, uint64_t skip,
                    const std::function<bool(std::string_view member, double score)>& fn) {
  if (range.Empty()) return Status::OK();
  Entry first, last;
  bool any = false;
  Status s = IndexEnds(txn, key, meta, &first, &last, &any);
  if (!s.ok() || !any) return s;
  if (!range.GteMin(last.member) || !range.LteMax(first.member)) return Status::OK();
  const bool one_score = first.score == last.score;
  bool found_first = false;
  if (!reverse) {
    std::string from(1, kIndexNs);
    if (one_score && range.min.kind == LexBound::Kind::kValue) {
      from = IndexSub(first.score, range.min.value);
      if (range.min.exclusive) from.push_back('\0');  // the smallest member above it
    }
    return WalkUp(txn, key, meta, from,
                  [&](std::string_view member, double score, std::string_view) {
                    if (!found_first) {
                      if (!range.GteMin(member)) return true;
                      if (!range.LteMax(member)) return false;
                      found_first = true;
                    }
                    if (skip > 0) {
                      skip--;
                      return true;
                    }
                    return range.LteMax(member) && fn(member, score);
                  });
  }
  std::string from;  // "" = from the top
  if (one_score && range.max.kind == LexBound::Kind::kValue) {
    from = IndexSub(first.score, range.max.value);
  }
  return WalkDown(txn, key, meta, from,
                  [&](std::string_view member, double score, std::string_view) {
                    if (!found_first) {
                      if (!range.LteMax(member)) return true;
                      if (!range.GteMin(member)) return false;
                      found_first = true;
                    }
                    if (skip > 0) {
                      skip--;
                      return true;
                    }
                    return range.GteMin(member) && fn(member, score);
                  });
}

// Runs `walk` over the sorted set at `key` (absent: nothing), collecting entries per
// `limit`.
template <typename Walk>
Result<std::vector<Entry>> Collect(Txn& txn, std::string_view key, const Limit& limit,
                                   Walk&& walk) {
  std::vector<Entry> out;
  auto found = Lookup(txn, key);
  if (!found.ok()) {
    if (found.status().IsNotFound()) return out;
    return found.status();
  }
  if (limit.offset < 0 || limit.count == 0) return out;
  if (limit.offset > 0 && static_cast<uint64_t>(limit.offset) >= found->count) return out;
  Status s =
      walk(*found, static_cast<uint64_t>(limit.offset), [&](std::string_view member, double score) {
        out.push_back(Entry{std::string(member), score});
        return limit.count < 0 || out.size() < static_cast<uint64_t>(limit.count);
      });
  if (!s.ok()) return s;
  return out;
}

}  // namespace

// --- Commands ----------------------------------------------------------------------------

Result<std::vector<Entry>> RangeByScore(Txn& txn, std::string_view key, const ScoreRange& range,
                                        bool reverse, const Limit& limit) {
  return Collect(txn, key, limit, [&](const Meta& meta, uint64_t skip, const auto& fn) {
    return WalkScoreRange(txn, key, meta, range, reverse, skip, fn);
  });
}

Result<std::vector<Entry>> RangeByLex(Txn& txn, std::string_view key, const LexRange& range,
                                      bool reverse, const Limit& limit) {
  return Collect(txn, key, limit, [&](const Meta& meta, uint64_t skip, const auto& fn) {
    return WalkLexRange(txn, key, meta, range, reverse, skip, fn);
  });
}

Result<int64_t> Count(Txn& txn, std::string_view key, const ScoreRange& range) {
  auto found = Lookup(txn, key);
  if (!found.ok()) return found.status().IsNotFound() ? Result<int64_t>(0) : found.status();
  // ZCOUNT key -inf +inf (channels_redis checks capacity so) is the member count.
  if (!range.minex && !range.maxex && range.min == -HUGE_VAL && range.max == HUGE_VAL) {
    return static_cast<int64_t>(found->count);
  }
  // A short range is counted by walking it; a long one of a set with rank blocks as the
  // difference of two ranks.
  const bool blocks = HasRankBlocks(*found);
  uint64_t n = 0;
  Status s = WalkScoreRange(txn, key, *found, range, false, 0, [&](std::string_view, double) {
    return ++n < kRankBlockMax || !blocks;
  });
  if (!s.ok()) return s;
  if (n < kRankBlockMax || !blocks) return static_cast<int64_t>(n);
  auto below_lower = CountBelow(txn, key, *found, RangeLowSub(range));
  if (!below_lower.ok()) return below_lower.status();
  auto below_upper = CountBelow(txn, key, *found, RangeHighSub(range));
  if (!below_upper.ok()) return below_upper.status();
  if (*below_upper < *below_lower) return Status::Corruption("sorted set rank blocks disagree");
  return static_cast<int64_t>(*below_upper - *below_lower);
}

Result<int64_t> LexCount(Txn& txn, std::string_view key, const LexRange& range) {
  auto found = Lookup(txn, key);
  if (!found.ok()) return found.status().IsNotFound() ? Result<int64_t>(0) : found.status();
  if (range.min.kind == LexBound::Kind::kMinusInf && range.max.kind == LexBound::Kind::kPlusInf) {
    return static_cast<int64_t>(found->count);
  }
  int64_t n = 0;
  Status s = WalkLexRange(txn, key, *found, range, false, 0, [&](std::string_view, double) {
    n++;
    return true;
  });
  if (!s.ok()) return s;
  return n;
}

namespace {

template <typename Walk>
Result<int64_t> RemoveWalked(Txn& txn, std::string_view key, std::string_view event, Walk&& walk) {
  auto found = Lookup(txn, key);
  if (!found.ok()) return found.status().IsNotFound() ? Result<int64_t>(0) : found.status();
  Meta meta = std::move(*found);
  std::vector<Entry> doomed;
  Status s = walk(meta, [&](std::string_view member, double score) {
    doomed.push_back(Entry{std::string(member), score});
    return true;
  });
  if (!s.ok()) return s;
  if (doomed.empty()) return int64_t{0};
  s = NoteRemoval(txn, key, &meta, doomed);
  if (s.ok()) s = DeleteEntries(txn, key, &meta, doomed);
  if (!s.ok()) return s;
  FinishRemoval(txn, key, meta, event);
  return static_cast<int64_t>(doomed.size());
}

}  // namespace

Result<int64_t> RemRangeByScore(Txn& txn, std::string_view key, const ScoreRange& range) {
  return RemoveWalked(txn, key, "zremrangebyscore", [&](const Meta& meta, const auto& fn) {
    return WalkScoreRange(txn, key, meta, range, false, 0, fn);
  });
}

Result<int64_t> RemRangeByLex(Txn& txn, std::string_view key, const LexRange& range) {
  return RemoveWalked(txn, key, "zremrangebylex", [&](const Meta& meta, const auto& fn) {
    return WalkLexRange(txn, key, meta, range, false, 0, fn);
  });
}

}  // namespace redge::store::zsets
