// Generic key commands: DEL, UNLINK, EXISTS, TOUCH, the EXPIRE and TTL families, PERSIST,
// TYPE, KEYS, SCAN, RENAME, RENAMENX, RANDOMKEY, COPY, MOVE, SWAPDB, DUMP, RESTORE.
//
// The store (store/keys.h) implements the semantics; this file parses arguments the way
// Redis 7.2 does (db.c, expire.c: same error texts and precedence) and writes the replies.
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "edge/resp/args.h"
#include "edge/resp/command.h"
#include "edge/resp/server.h"
#include "store/dump.h"
#include "store/keys.h"
#include "store/store.h"

namespace redge::resp {
namespace {

namespace keys = store::keys;

// argv[first..] (keys, or option words).
std::vector<std::string> ArgsFrom(const CommandContext& ctx, size_t first) {
  return std::vector<std::string>(ctx.argv.begin() + static_cast<std::ptrdiff_t>(first),
                                  ctx.argv.end());
}

// --- Existence and deletion ------------------------------------------------------------

// DEL and UNLINK (deleting is O(1) per key in the store, so UNLINK needs nothing more).
void Del(CommandContext& ctx) { ctx.reply.Integer(keys::Del(*ctx.txn, ArgsFrom(ctx, 1))); }

// EXISTS and TOUCH both count the named keys that exist, repeats included; only TOUCH
// counts as an access of the keys (OBJECT IDLETIME), as in Redis.
void Exists(CommandContext& ctx) {
  store::Txn::NoTouch no_touch(*ctx.txn);
  ctx.reply.Integer(keys::Exists(*ctx.txn, ArgsFrom(ctx, 1)));
}

void Touch(CommandContext& ctx) { ctx.reply.Integer(keys::Exists(*ctx.txn, ArgsFrom(ctx, 1))); }

// --- Expiry ------------------------------------------------------------------------------

// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key amount [NX|XX|GT|LT ...]. As in Redis, the flags are
// checked before the amount, and the amount (integer, then overflow) before the key.
void ExpireGeneric(CommandContext& ctx, int64_t unit_ms, bool absolute, std::string_view command) {
  auto flags = keys::ParseExpireFlags(ArgsFrom(ctx, 3));
  if (!flags.ok()) return ReplyStatusError(ctx, flags.status());
  int64_t amount = 0;
  if (!ArgInt64(ctx, ctx.argv[2], &amount)) return;
  auto deadline = absolute ? keys::AbsoluteDeadline(amount, unit_ms, command)
                           : keys::RelativeDeadline(*ctx.txn, amount, unit_ms, command);
  if (!deadline.ok()) return ReplyStatusError(ctx, deadline.status());
  auto set = keys::ExpireAt(*ctx.txn, ctx.argv[1], *deadline, *flags);
  if (!set.ok()) return ReplyStatusError(ctx, set.status());
  ctx.reply.Integer(*set ? 1 : 0);
}

void Expire(CommandContext& ctx) { ExpireGeneric(ctx, 1000, false, "expire"); }

void PExpire(CommandContext& ctx) { ExpireGeneric(ctx, 1, false, "pexpire"); }

void ExpireAt(CommandContext& ctx) { ExpireGeneric(ctx, 1000, true, "expireat"); }

void PExpireAt(CommandContext& ctx) { ExpireGeneric(ctx, 1, true, "pexpireat"); }

// TTL, PTTL, EXPIRETIME, PEXPIRETIME and TYPE do not count as accesses (LOOKUP_NOTOUCH).
void Ttl(CommandContext& ctx) {
  store::Txn::NoTouch no_touch(*ctx.txn);
  ctx.reply.Integer(keys::Ttl(*ctx.txn, ctx.argv[1], 1000));
}

void PTtl(CommandContext& ctx) {
  store::Txn::NoTouch no_touch(*ctx.txn);
  ctx.reply.Integer(keys::Ttl(*ctx.txn, ctx.argv[1], 1));
}

void ExpireTime(CommandContext& ctx) {
  store::Txn::NoTouch no_touch(*ctx.txn);
  int64_t ms = keys::ExpireTime(*ctx.txn, ctx.argv[1], 1);
  // Redis rounds the absolute deadline to the nearest second, as it does for TTL.
  ctx.reply.Integer(ms < 0 ? ms : (ms + 500) / 1000);
}

void PExpireTime(CommandContext& ctx) {
  store::Txn::NoTouch no_touch(*ctx.txn);
  ctx.reply.Integer(keys::ExpireTime(*ctx.txn, ctx.argv[1], 1));
}

void Persist(CommandContext& ctx) {
  ctx.reply.Integer(keys::Persist(*ctx.txn, ctx.argv[1]) ? 1 : 0);
}

// --- Inspection --------------------------------------------------------------------------

void Type(CommandContext& ctx) {
  store::Txn::NoTouch no_touch(*ctx.txn);
  ctx.reply.Simple(store::KeyTypeName(keys::Type(*ctx.txn, ctx.argv[1])));
}

void Keys(CommandContext& ctx) { ctx.reply.BulkArray(keys::Keys(*ctx.txn, ctx.argv[1])); }

// Redis 7.2's parseScanCursorOrReply: strtoul() over the whole argument, refusing a leading
// space and overflow. Like Redis it takes "" as 0 and "-1" as the largest cursor.
bool ParseCursor(const std::string& s, uint64_t* out) {
  if (!s.empty() && isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = strtoull(s.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE) return false;
  *out = v;
  return true;
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type].
void Scan(CommandContext& ctx) {
  const auto& argv = ctx.argv;
  uint64_t cursor = 0;
  if (!ParseCursor(argv[1], &cursor)) {
    ctx.reply.Error("ERR invalid cursor");
    return;
  }
  int64_t count = 10;
  std::string pattern, type;
  for (size_t i = 2; i < argv.size(); i += 2) {
    bool has_value = i + 1 < argv.size();
    if (EqualsIgnoreCase(argv[i], "count") && has_value) {
      if (!ArgInt64(ctx, argv[i + 1], &count)) return;
      if (count < 1) return ReplySyntaxError(ctx);
    } else if (EqualsIgnoreCase(argv[i], "match") && has_value) {
      // "*" matches everything: same as no pattern, and lets the store skip matching.
      pattern = argv[i + 1] == "*" ? std::string() : argv[i + 1];
    } else if (EqualsIgnoreCase(argv[i], "type") && has_value) {
      // Redis 7.2 compares type names case-insensitively; an unknown name matches nothing.
      type = ToLower(argv[i + 1]);
    } else {
      return ReplySyntaxError(ctx);
    }
  }
  auto page = keys::Scan(*ctx.txn, cursor, pattern, count, type);
  if (!page.ok()) return ReplyStatusError(ctx, page.status());
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(page->next_cursor));
  ctx.reply.BulkArray(page->keys);
}

// The first live key at or after `from`, if any.
store::Status FirstKeyFrom(store::Txn& txn, std::string_view from,
                           std::optional<std::string>* out) {
  out->reset();
  return txn.ScanKeys(from, [&](std::string_view key, const store::Meta&) {
    out->emplace(key);
    return false;
  });
}

// Up to `limit` distinct bytes that follow `prefix` in live keys (one seek each), whether
// that is all of them, and whether `prefix` is itself a key. `*seeks` counts the seeks.
struct Branches {
  std::vector<uint8_t> bytes;
  bool complete = false;
  bool prefix_is_key = false;
};
store::Status NextBytes(store::Txn& txn, const std::string& prefix, size_t limit, Branches* out,
                        int* seeks) {
  *out = Branches();
  std::optional<std::string> key;
  std::string from = prefix;
  while (out->bytes.size() < limit) {
    ++*seeks;
    store::Status s = FirstKeyFrom(txn, from, &key);
    if (!s.ok()) return s;
    if (!key || key->compare(0, prefix.size(), prefix) != 0) {
      out->complete = true;
      break;
    }
    if (key->size() == prefix.size()) {
      out->prefix_is_key = true;
      from = prefix + '\0';
      continue;
    }
    uint8_t c = static_cast<uint8_t>((*key)[prefix.size()]);
    out->bytes.push_back(c);
    if (c == 0xff) {
      out->complete = true;
      break;
    }
    from = prefix + static_cast<char>(c + 1);
  }
  return store::Status::OK();
}

// RANDOMKEY without a full scan (the store keeps keys ordered, not hashed): walk down the
// key space one byte at a time, choosing uniformly among the bytes that follow the current
// prefix where they are few, or seeking a random byte where they are many (then the gaps
// are even enough); stop after a budget of seeks and pick uniformly among the next kWindow
// keys (wrapping to the first key). Small databases get a uniform pick, large ones a
// spread-out one, for at most ~kSeekBudget seeks under the store lock.
void RandomKey(CommandContext& ctx) {
  constexpr int kSeekBudget = 64;
  constexpr size_t kBranchLimit = 16;
  constexpr int64_t kWindow = 64;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  store::Txn& txn = *ctx.txn;
  std::string prefix;
  int seeks = 0;
  while (seeks < kSeekBudget) {
    Branches b;
    store::Status s = NextBytes(txn, prefix, kBranchLimit, &b, &seeks);
    if (!s.ok()) return ReplyStatusError(ctx, s);
    if (b.complete) {
      size_t options = b.bytes.size() + (b.prefix_is_key ? 1 : 0);
      if (options == 0) break;  // empty database
      size_t pick = std::uniform_int_distribution<size_t>(0, options - 1)(rng);
      if (pick == b.bytes.size()) break;  // stop at the prefix, which is a key
      prefix.push_back(static_cast<char>(b.bytes[pick]));
      continue;
    }
    std::string probe = prefix;
    probe.push_back(static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng)));
    std::optional<std::string> key;
    seeks += 2;
    s = FirstKeyFrom(txn, probe, &key);
    if (s.ok() && (!key || key->compare(0, prefix.size(), prefix) != 0)) {
      s = FirstKeyFrom(txn, prefix + '\0', &key);  // past the last branch: wrap
    }
    if (!s.ok()) return ReplyStatusError(ctx, s);
    if (!key || key->size() <= prefix.size()) break;
    prefix.push_back((*key)[prefix.size()]);
  }
  std::optional<std::string> chosen;
  int64_t seen = 0;
  bool wrapped = false;
  auto sample = [&](std::string_view k, const store::Meta&) {
    if (wrapped && k >= prefix) return false;  // back where the window started
    ++seen;
    if (std::uniform_int_distribution<int64_t>(0, seen - 1)(rng) == 0) chosen.emplace(k);
    return seen < kWindow;
  };
  store::Status s = txn.ScanKeys(prefix, sample);
  if (s.ok() && seen < kWindow && !prefix.empty()) {
    wrapped = true;
    s = txn.ScanKeys("", sample);
  }
  if (!s.ok()) return ReplyStatusError(ctx, s);
  if (chosen) {
    ctx.reply.Bulk(*chosen);
  } else {
    ctx.reply.Null();
  }
}

// --- Renaming ----------------------------------------------------------------------------

void Rename(CommandContext& ctx) {
  store::Status s = keys::Rename(*ctx.txn, ctx.argv[1], ctx.argv[2]);
  if (!s.ok()) return ReplyStatusError(ctx, s);
  ctx.reply.Simple("OK");
}

void RenameNx(CommandContext& ctx) {
  auto r = keys::RenameNX(*ctx.txn, ctx.argv[1], ctx.argv[2]);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r ? 1 : 0);
}

// --- Copying and moving between databases ----------------------------------------------

// A database index argument as Redis's getIntFromObjectOrReply + selectDb read it.
bool ArgDbIndex(ArgReader& args, const char* not_int_message, int* db) {
  int64_t v = 0;
  if (!args.Int64InRange(INT32_MIN, INT32_MAX, not_int_message, &v)) return false;
  if (v < 0 || v >= store::Store::kNumDbs) return args.Fail("ERR DB index is out of range");
  *db = static_cast<int>(v);
  return true;
}

constexpr char kSameObject[] = "ERR source and destination objects are the same";

// COPY source destination [DB destination-db] [REPLACE]
void Copy(CommandContext& ctx) {
  ArgReader args(ctx, 3);
  int dst_db = ctx.txn->db();
  bool replace = false;
  while (args.ok() && !args.done()) {
    if (args.Match("replace")) {
      replace = true;
    } else if (args.remaining() >= 2 && args.Match("db")) {
      ArgDbIndex(args, nullptr, &dst_db);
    } else {
      args.SyntaxError();
    }
  }
  if (!args.ok()) return;
  if (dst_db == ctx.txn->db() && ctx.argv[1] == ctx.argv[2]) return ctx.reply.Error(kSameObject);
  auto r = keys::Copy(*ctx.txn, ctx.argv[1], dst_db, ctx.argv[2], replace);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r ? 1 : 0);
}

// MOVE key db
void Move(CommandContext& ctx) {
  ArgReader args(ctx, 2);
  int dst_db = 0;
  if (!ArgDbIndex(args, nullptr, &dst_db)) return;
  if (dst_db == ctx.txn->db()) return ctx.reply.Error(kSameObject);
  auto r = keys::Move(*ctx.txn, ctx.argv[1], dst_db);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  ctx.reply.Integer(*r ? 1 : 0);
}

// SWAPDB index1 index2
void SwapDb(CommandContext& ctx) {
  ArgReader args(ctx, 1);
  int64_t a = 0, b = 0;
  if (!args.Int64InRange(INT32_MIN, INT32_MAX, "invalid first DB index", &a) ||
      !args.Int64InRange(INT32_MIN, INT32_MAX, "invalid second DB index", &b)) {
    return;
  }
  if (a < 0 || a >= store::Store::kNumDbs || b < 0 || b >= store::Store::kNumDbs) {
    return ctx.reply.Error("ERR DB index is out of range");
  }
  store::Status s = keys::SwapDb(*ctx.txn, static_cast<int>(a), static_cast<int>(b));
  if (!s.ok()) return ReplyStatusError(ctx, s);
  ctx.reply.Simple("OK");
}

// --- DUMP / RESTORE (redge's own payload format: store/dump.h) ----------------------------

void Dump(CommandContext& ctx) {
  auto payload = store::dump::Dump(*ctx.txn, ctx.argv[1]);
  if (!payload.ok()) {
    if (payload.status().IsNotFound()) return ctx.reply.Null();
    return ReplyStatusError(ctx, payload.status());
  }
  ctx.reply.Bulk(*payload);
}

// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f], checks in Redis 7.0's
// order: options, BUSYKEY, the TTL, the payload's footer, then its body.
void Restore(CommandContext& ctx) {
  bool replace = false, absttl = false;
  int64_t idle = -1, freq = -1;
  ArgReader args(ctx, 4);
  while (args.ok() && !args.done()) {
    const bool more = args.remaining() >= 2;
    if (args.Match("REPLACE")) {
      replace = true;
    } else if (args.Match("ABSTTL")) {
      absttl = true;
    } else if (more && freq == -1 && args.Match("IDLETIME")) {
      if (args.Int64(&idle) && idle < 0) args.Fail("ERR Invalid IDLETIME value, must be >= 0");
    } else if (more && idle == -1 && args.Match("FREQ")) {
      if (args.Int64(&freq) && (freq < 0 || freq > 255)) {
        args.Fail("ERR Invalid FREQ value, must be >= 0 and <= 255");
      }
    } else {
      args.SyntaxError();
    }
  }
  if (!args.ok()) return;
  const std::string& key = ctx.argv[1];
  if (!replace && ctx.txn->GetMeta(key).ok()) {
    return ctx.reply.Error("BUSYKEY Target key name already exists.");
  }
  int64_t ttl;
  if (!ArgInt64(ctx, ctx.argv[2], &ttl)) return;
  if (ttl < 0) return ctx.reply.Error("ERR Invalid TTL value, must be >= 0");
  const std::string& payload = ctx.argv[3];
  if (!store::dump::VerifyFooter(payload)) {
    return ctx.reply.Error("ERR DUMP payload version or checksum are wrong");
  }
  int64_t deadline = 0;
  if (ttl > 0) {
    deadline =
        absttl ? ttl : (ttl > INT64_MAX - ctx.txn->now_ms() ? INT64_MAX : ttl + ctx.txn->now_ms());
  }
  store::Status s = store::dump::Restore(*ctx.txn, key, payload, deadline);
  if (!s.ok()) return ReplyStatusError(ctx, s);
  // IDLETIME applies under an LRU-style policy, FREQ under an LFU one (Redis's
  // objectSetLRUOrLFU).
  const bool lfu = ctx.server.config().Value("maxmemory-policy").find("lfu") != std::string::npos;
  if ((lfu && freq >= 0) || (!lfu && idle >= 0)) {
    ctx.txn->SetAccess(key, lfu ? -1 : idle * 1000, lfu ? static_cast<int>(freq) : -1);
  }
  ctx.reply.Simple("OK");
}

}  // namespace

void RegisterKeyCommands() {
  constexpr uint32_t kR = kReadOnly | kTxn;
  constexpr uint32_t kW = kWrite | kTxn;
  RegisterCommands({
      {"del", -2, kW, 1, -1, 1, &Del, "generic", "Deletes one or more keys.", "1.0.0"},
      {"copy", -3, kW, 1, 2, 1, &Copy, "generic", "Copies the value of a key to a new key.",
       "6.2.0"},
      {"move", 3, kW | kFast, 1, 1, 1, &Move, "generic", "Moves a key to another database.",
       "1.0.0"},
      {"swapdb", 3, kW | kFast | kOffLoop, 0, 0, 0, &SwapDb, "server", "Swaps two Redis databases.",
       "4.0.0"},
      {"unlink", -2, kW | kFast, 1, -1, 1, &Del, "generic",
       "Asynchronously deletes one or more keys.", "4.0.0"},
      {"exists", -2, kR | kFast, 1, -1, 1, &Exists, "generic",
       "Determines whether one or more keys exist.", "1.0.0"},
      {"touch", -2, kR | kFast, 1, -1, 1, &Touch, "generic",
       "Returns the number of existing keys out of those specified after updating the time "
       "they were last accessed.",
       "3.2.1"},
      {"expire", -3, kW | kFast, 1, 1, 1, &Expire, "generic",
       "Sets the expiration time of a key in seconds.", "1.0.0"},
      {"pexpire", -3, kW | kFast, 1, 1, 1, &PExpire, "generic",
       "Sets the expiration time of a key in milliseconds.", "2.6.0"},
      {"expireat", -3, kW | kFast, 1, 1, 1, &ExpireAt, "generic",
       "Sets the expiration time of a key to a Unix timestamp.", "1.2.0"},
      {"pexpireat", -3, kW | kFast, 1, 1, 1, &PExpireAt, "generic",
       "Sets the expiration time of a key to a Unix milliseconds timestamp.", "2.6.0"},
      {"ttl", 2, kR | kFast, 1, 1, 1, &Ttl, "generic",
       "Returns the expiration time in seconds of a key.", "1.0.0"},
      {"pttl", 2, kR | kFast, 1, 1, 1, &PTtl, "generic",
       "Returns the expiration time in milliseconds of a key.", "2.6.0"},
      {"expiretime", 2, kR | kFast, 1, 1, 1, &ExpireTime, "generic",
       "Returns the expiration time of a key as a Unix timestamp.", "7.0.0"},
      {"pexpiretime", 2, kR | kFast, 1, 1, 1, &PExpireTime, "generic",
       "Returns the expiration time of a key as a Unix milliseconds timestamp.", "7.0.0"},
      {"persist", 2, kW | kFast, 1, 1, 1, &Persist, "generic",
       "Removes the expiration time of a key.", "2.2.0"},
      {"type", 2, kR | kFast, 1, 1, 1, &Type, "generic",
       "Determines the type of value stored at a key.", "1.0.0"},
      {"keys", 2, kR, 0, 0, 0, &Keys, "generic", "Returns all key names that match a pattern.",
       "1.0.0"},
      {"scan", -2, kR, 0, 0, 0, &Scan, "generic", "Iterates over the key names in the database.",
       "2.8.0"},
      {"randomkey", 1, kR, 0, 0, 0, &RandomKey, "generic",
       "Returns a random key name from the database.", "1.0.0"},
      {"dump", 2, kR, 1, 1, 1, &Dump, "generic",
       "Returns a serialized representation of the value stored at a key.", "2.6.0"},
      {"restore", -4, kW | kDenyOom, 1, 1, 1, &Restore, "generic",
       "Creates a key from the serialized representation of a value.", "2.6.0"},
      {"rename", 3, kW, 1, 2, 1, &Rename, "generic",
       "Renames a key and overwrites the destination.", "1.0.0"},
      {"renamenx", 3, kW | kFast, 1, 2, 1, &RenameNx, "generic",
       "Renames a key only when the target key name doesn't exist.", "1.0.0"},
  });
}

}  // namespace redge::resp
