#include "store/keys.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "store/encoding.h"
#include "store/glob.h"
#include "store/tombstones.h"

namespace redge::store::keys {
namespace {

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return s;
}

// The literal bytes a glob pattern must start with (up to its first special character),
// so KEYS and SCAN can seek instead of scanning the whole database.
std::string LiteralPrefix(std::string_view pattern) {
  std::string out;
  for (char c : pattern) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') break;
    out.push_back(c);
  }
  return out;
}

}  // namespace

int64_t Del(Txn& txn, const std::vector<std::string>& keys) {
  int64_t n = 0;
  for (const auto& key : keys) {
    if (!txn.GetMeta(key).ok()) continue;
    txn.DeleteKey(key);
    txn.Notify(key, "del");
    n++;
  }
  return n;
}

int64_t Exists(Txn& txn, const std::vector<std::string>& keys) {
  int64_t n = 0;
  for (const auto& key : keys) {
    if (txn.GetMeta(key).ok()) n++;
  }
  return n;
}

Result<ExpireFlags> ParseExpireFlags(const std::vector<std::string>& words) {
  ExpireFlags f;
  for (const auto& w : words) {
    std::string u = Upper(w);
    if (u == "NX") {
      f.nx = true;
    } else if (u == "XX") {
      f.xx = true;
    } else if (u == "GT") {
      f.gt = true;
    } else if (u == "LT") {
      f.lt = true;
    } else {
      return Status::InvalidArgument("Unsupported option " + w);
    }
  }
  if (f.nx && (f.xx || f.gt || f.lt)) {
    return Status::InvalidArgument(
        "NX and XX, GT or LT options at the same time are not compatible");
  }
  if (f.gt && f.lt) {
    return Status::InvalidArgument("GT and LT options at the same time are not compatible");
  }
  return f;
}

Result<bool> ExpireAt(Txn& txn, std::string_view key, int64_t deadline_ms,
                      const ExpireFlags& flags) {
  auto found = txn.GetMeta(key);
  if (!found.ok()) return found.status().IsNotFound() ? Result<bool>(false) : found.status();
  Meta meta = std::move(*found);
  bool has_ttl = meta.expire_at_ms != 0;
  // A key without TTL has an infinite one for GT/LT comparisons.
  if (flags.nx && has_ttl) return false;
  if (flags.xx && !has_ttl) return false;
  if (flags.gt && (!has_ttl || deadline_ms <= meta.expire_at_ms)) return false;
  if (flags.lt && has_ttl && deadline_ms >= meta.expire_at_ms) return false;
  if (deadline_ms <= txn.now_ms()) {
    txn.DeleteKey(key);
    txn.Notify(key, "del");
    return true;
  }
  meta.expire_at_ms = deadline_ms;
  txn.PutMeta(key, meta);
  txn.Notify(key, "expire");
  return true;
}

Result<int64_t> RelativeDeadline(const Txn& txn, int64_t amount, int64_t unit_ms,
                                 std::string_view command) {
  auto invalid = [&] {
    return Status::InvalidArgument("invalid expire time in '" + std::string(command) + "' command");
  };
  if (amount > std::numeric_limits<int64_t>::max() / unit_ms ||
      amount < std::numeric_limits<int64_t>::min() / unit_ms) {
    return invalid();
  }
  int64_t ms = amount * unit_ms;
  if (ms > std::numeric_limits<int64_t>::max() - txn.now_ms()) return invalid();
  return ms + txn.now_ms();
}

Result<int64_t> AbsoluteDeadline(int64_t amount, int64_t unit_ms, std::string_view command) {
  if (amount > std::numeric_limits<int64_t>::max() / unit_ms ||
      amount < std::numeric_limits<int64_t>::min() / unit_ms) {
    return Status::InvalidArgument("invalid expire time in '" + std::string(command) + "' command");
  }
  return amount * unit_ms;
}

int64_t Ttl(Txn& txn, std::string_view key, int64_t unit_ms) {
  auto found = txn.GetMeta(key);
  if (!found.ok()) return -2;
  if (found->expire_at_ms == 0) return -1;
  int64_t left = std::max<int64_t>(found->expire_at_ms - txn.now_ms(), 0);
  return unit_ms == 1 ? left : (left + 500) / 1000;
}

int64_t ExpireTime(Txn& txn, std::string_view key, int64_t unit_ms) {
  auto found = txn.GetMeta(key);
  if (!found.ok()) return -2;
  if (found->expire_at_ms == 0) return -1;
  return unit_ms == 1 ? found->expire_at_ms : (found->expire_at_ms + 500) / 1000;
}

bool Persist(Txn& txn, std::string_view key) {
  auto found = txn.GetMeta(key);
  if (!found.ok() || found->expire_at_ms == 0) return false;
  Meta meta = std::move(*found);
  meta.expire_at_ms = 0;
  txn.PutMeta(key, meta);
  txn.Notify(key, "persist");
  return true;
}

KeyType Type(Txn& txn, std::string_view key) {
  auto found = txn.GetMeta(key);
  return found.ok() ? found->type : KeyType::kNone;
}

std::vector<std::string> Keys(Txn& txn, std::string_view pattern) {
  std::vector<std::string> out;
  std::string prefix = LiteralPrefix(pattern);
  bool literal = GlobIsLiteral(pattern);
  // Redis treats a bare "*" as "every key" without matching, so it also returns the empty
  // key name, which the glob "*" alone would not match.
  const bool all = pattern == "*";
  txn.ScanKeys(prefix, [&](std::string_view key, const Meta&) {
    if (key.substr(0, prefix.size()) != prefix) return false;
    if (all || (literal ? key == pattern : GlobMatch(pattern, key))) out.emplace_back(key);
    return !literal || out.empty();
  });
  return out;
}

Result<ScanPage> Scan(Txn& txn, uint64_t cursor, std::string_view pattern, int64_t count,
                      std::string_view type) {
  if (count < 1) return Status::Syntax();
  ScanPage page;
  std::string start;
  if (cursor != 0) {
    auto saved = txn.LookupScanCursor(cursor);
    // An unknown or evicted cursor ends the iteration rather than restarting it, so a
    // client can never loop forever.
    if (!saved) return page;
    start = std::move(*saved);
  }
  std::string prefix = pattern.empty() ? std::string() : LiteralPrefix(pattern);
  if (start < prefix) start = prefix;
  int64_t looked = 0;
  std::optional<std::string> resume;
  Status s = txn.ScanKeys(start, [&](std::string_view key, const Meta& meta) {
    if (key.substr(0, prefix.size()) != prefix) return false;
    if (looked == count) {
      resume.emplace(key);
      return false;
    }
    looked++;
    if (!pattern.empty() && pattern != "*" && !GlobMatch(pattern, key)) return true;
    if (!type.empty() && type != KeyTypeName(meta.type)) return true;
    page.keys.emplace_back(key);
    return true;
  });
  if (!s.ok()) return s;
  if (resume) page.next_cursor = txn.SaveScanCursor(std::move(*resume));
  return page;
}

Status Rename(Txn& txn, std::string_view from, std::string_view to) {
  auto found = txn.GetMeta(from);
  if (!found.ok()) return found.status().IsNotFound() ? Status::NoSuchKey() : found.status();
  if (from == to) return Status::OK();
  Meta meta = std::move(*found);
  if (IsCollection(meta.type)) {
    // Elements are stored under the key's name, so they move with it: O(n), as Kvrocks.
    auto copied = txn.CopyElements(from, meta.version, to);
    if (!copied.ok()) return copied.status();
    if (txn.GetMeta(to).ok()) txn.DeleteKey(to);
    meta.version = *copied;
    tombstones::ForgetAfterCopy(&meta);
  } else if (txn.GetMeta(to).ok()) {
    txn.DeleteKey(to);
  }
  txn.DeleteKey(from);
  txn.PutMeta(to, meta);
  txn.Notify(from, "rename_from");
  txn.Notify(to, "rename_to");
  return Status::OK();
}

Result<bool> RenameNX(Txn& txn, std::string_view from, std::string_view to) {
  auto found = txn.GetMeta(from);
  if (!found.ok()) return found.status().IsNotFound() ? Status::NoSuchKey() : found.status();
  if (txn.GetMeta(to).ok()) return false;
  Status s = Rename(txn, from, to);
  if (!s.ok()) return s;
  return true;
}

Result<bool> Copy(Txn& txn, std::string_view source, int dst_db, std::string_view destination,
                  bool replace) {
  const int src_db = txn.db();
  auto found = txn.GetMeta(source);
  if (!found.ok()) return found.status().IsNotFound() ? Result<bool>(false) : found.status();
  Meta meta = std::move(*found);
  txn.SwitchDb(dst_db);
  auto existing = txn.GetMeta(destination);
  txn.SwitchDb(src_db);
  if (existing.ok() && !replace) return false;
  if (!existing.ok() && !existing.status().IsNotFound()) return existing.status();
  if (IsCollection(meta.type)) {
    auto copied = txn.CopyElements(source, meta.version, dst_db, destination);
    if (!copied.ok()) return copied.status();
    meta.version = *copied;
    tombstones::ForgetAfterCopy(&meta);
  }
  txn.SwitchDb(dst_db);
  if (existing.ok()) txn.DeleteKey(destination);
  txn.PutMeta(destination, meta);
  txn.Notify(destination, "copy_to");
  txn.SwitchDb(src_db);
  return true;
}

Result<bool> Move(Txn& txn, std::string_view key, int dst_db) {
  const int src_db = txn.db();
  auto found = txn.GetMeta(key);
  if (!found.ok()) return found.status().IsNotFound() ? Result<bool>(false) : found.status();
  txn.SwitchDb(dst_db);
  auto existing = txn.GetMeta(key);
  txn.SwitchDb(src_db);
  if (existing.ok()) return false;
  if (!existing.status().IsNotFound()) return existing.status();
  auto copied = Copy(txn, key, dst_db, key, false);
  if (!copied.ok()) return copied.status();
  txn.DeleteKey(key);
  txn.Notify(key, "move_from");
  txn.SwitchDb(dst_db);
  txn.Notify(key, "move_to");
  txn.SwitchDb(src_db);
  return true;
}

Status SwapDb(Txn& txn, int a, int b) {
  if (a == b) return Status::OK();
  const int saved = txn.db();
  // The keys keep their access times (Redis swaps the databases, objects untouched).
  Txn::NoTouch no_touch(txn);
  struct Entry {
    std::string key;
    Meta meta;
  };
  // Each database's live keys, their elements copied under the other database's prefix.
  auto take = [&](int from, int to, std::vector<Entry>* out) -> Status {
    txn.SwitchDb(from);
    Status s = txn.ScanKeys("", [&](std::string_view key, const Meta& meta) {
      out->push_back({std::string(key), meta});
      return true;
    });
    if (!s.ok()) return s;
    for (auto& e : *out) {
      if (!IsCollection(e.meta.type)) continue;
      auto copied = txn.CopyElements(e.key, e.meta.version, to, e.key);
      if (!copied.ok()) return copied.status();
      e.meta.version = *copied;
      tombstones::ForgetAfterCopy(&e.meta);
    }
    for (auto& e : *out) txn.DeleteKey(e.key);
    return Status::OK();
  };
  std::vector<Entry> from_a, from_b;
  Status s = take(a, b, &from_a);
  if (s.ok()) s = take(b, a, &from_b);
  if (!s.ok()) {
    txn.SwitchDb(saved);
    return s;
  }
  txn.SwitchDb(b);
  for (auto& e : from_a) txn.PutMeta(e.key, e.meta);
  txn.SwitchDb(a);
  for (auto& e : from_b) txn.PutMeta(e.key, e.meta);
  txn.SwitchDb(saved);
  txn.SwapAccessTimes(a, b);
  return Status::OK();
}

}  // namespace redge::store::keys
