// OBJECT ENCODING / FREQ / IDLETIME / REFCOUNT / HELP, and MEMORY.
//
// What the answers mean in redge (values are RocksDB records, not Redis objects):
//  - ENCODING: the encoding Redis 7.0 would use for the value after the same writes
//    (store/object.h has the rules and the sticky conversion).
//  - IDLETIME: seconds since the key was last read or written, from the store's bounded
//    in-memory access table (store/access_tracker.h); refused under an LFU policy, as
//    Redis refuses it.
//  - FREQ: Redis's LFU counter kept in the same table; Redis's error unless
//    maxmemory-policy is an LFU policy.
//  - REFCOUNT: what Redis reports for the value: 2147483647 for the shared integers 0..9999
//    (int-encoded strings, when maxmemory is 0 or the policy is not LRU/LFU), else 1.
// The lookups do not count as accesses (Redis's LOOKUP_NOTOUCH).
#include <string>

#include "edge/resp/args.h"
#include "edge/resp/command.h"
#include "edge/resp/server.h"
#include "store/object.h"

namespace redge::resp {
namespace {

// Redis's OBJ_SHARED_REFCOUNT (INT_MAX) and OBJ_SHARED_INTEGERS.
constexpr int64_t kSharedRefcount = 2147483647;
constexpr int64_t kSharedIntegers = 10000;

bool LfuPolicy(CommandContext& ctx) {
  return ctx.server.config().Value("maxmemory-policy").find("lfu") != std::string::npos;
}

// Redis's MAXMEMORY_FLAG_NO_SHARED_INTEGERS: every LRU and LFU policy.
bool SharedIntegersAllowed(CommandContext& ctx) {
  if (ctx.server.config().IntValue("maxmemory") == 0) return true;
  const std::string policy = ctx.server.config().Value("maxmemory-policy");
  return policy.find("lru") == std::string::npos && policy.find("lfu") == std::string::npos;
}

void Object(CommandContext& ctx) {
  const std::string sub = CheckSubcommand(
      ctx, {{"encoding", 3}, {"freq", 3}, {"idletime", 3}, {"refcount", 3}, {"help", 2}});
  if (sub.empty()) return;
  if (sub == "help") {
    return ReplyHelp(
        ctx, {"ENCODING <key>",
              "    Return the kind of internal representation used in order to store the value",
              "    associated with a <key>.", "FREQ <key>",
              "    Return the access frequency index of the <key>. The returned integer is",
              "    proportional to the logarithm of the recent access frequency of the key.",
              "IDLETIME <key>",
              "    Return the idle time of the <key>, that is the approximated number of",
              "    seconds elapsed since the last access to the key.", "REFCOUNT <key>",
              "    Return the number of references of the value associated with the specified",
              "    <key>."});
  }

  store::Txn::NoTouch no_touch(*ctx.txn);
  auto meta = ctx.txn->GetMeta(ctx.argv[2]);
  if (!meta.ok()) {
    if (meta.status().IsNotFound()) return ctx.reply.Null();
    return ReplyStatusError(ctx, meta.status());
  }
  if (sub == "encoding") {
    ctx.reply.Bulk(store::object::EncodingName(*meta));
  } else if (sub == "refcount") {
    int64_t v = 0;
    const bool shared = store::object::IsIntEncodedString(*meta, &v) && v >= 0 &&
                        v < kSharedIntegers && SharedIntegersAllowed(ctx);
    ctx.reply.Integer(shared ? kSharedRefcount : 1);
  } else if (sub == "idletime") {
    if (LfuPolicy(ctx)) {
      return ctx.reply.Error(
          "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
          "when switching between policies at runtime LRU and LFU data will take some time to "
          "adjust.");
    }
    ctx.reply.Integer(ctx.txn->IdleMs(ctx.argv[2]) / 1000);
  } else {  // freq
    if (!LfuPolicy(ctx)) {
      return ctx.reply.Error(
          "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
          "note that when switching between policies at runtime LRU and LFU data will take "
          "some time to adjust.");
    }
    ctx.reply.Integer(ctx.txn->LfuFrequency(ctx.argv[2]));
  }
}

// MEMORY USAGE (an estimate: store/object.h EstimateUsage), DOCTOR, MALLOC-STATS, PURGE,
// STATS (redge's own figures: key count, on-disk bytes, clients; Redis's allocator
// breakdown has no meaning over RocksDB), HELP.
void Memory(CommandContext& ctx) {
  const std::string sub = CheckSubcommand(
      ctx,
      {{"usage", -3}, {"stats", 2}, {"doctor", 2}, {"malloc-stats", 2}, {"purge", 2}, {"help", 2}});
  if (sub.empty()) return;
  if (sub == "help") {
    return ReplyHelp(ctx,
                     {"DOCTOR", "    Return memory problems reports.", "MALLOC-STATS",
                      "    Return internal statistics report from the memory allocator.", "PURGE",
                      "    Attempt to purge dirty pages for reclamation by the allocator.", "STATS",
                      "    Return information about the memory usage of the server.",
                      "USAGE <key> [SAMPLES <count>]",
                      "    Return memory in bytes used by <key> and its value. Nested values are",
                      "    sampled up to <count> times (default: 5, 0 means sample all)."});
  }
  if (sub == "doctor") {
    return ctx.reply.Verbatim(
        "txt",
        "Hi Sam, I can't find any memory issue in your instance. I can only account for "
        "what occurs on this base.");
  }
  if (sub == "malloc-stats") {
    return ctx.reply.Verbatim("txt", "Stats not supported for the current allocator");
  }
  if (sub == "purge") return ctx.reply.Simple("OK");
  if (sub == "stats") {
    const auto st = ctx.server.store().GetStats();
    int64_t keys = 0;
    for (int db = 0; db < store::Store::kNumDbs; ++db) keys += ctx.server.store().DbSize(db);
    ctx.reply.MapHeader(3);
    ctx.reply.Bulk("keys.count");
    ctx.reply.Integer(keys);
    ctx.reply.Bulk("dataset.bytes");
    ctx.reply.Integer(static_cast<int64_t>(st.disk_bytes));
    ctx.reply.Bulk("clients.normal");
    ctx.reply.Integer(ctx.server.stats().connected_clients.load());
    return;
  }
  int64_t samples = 5;
  ArgReader args(ctx, 3);
  while (args.ok() && !args.done()) {
    if (args.remaining() >= 2 && args.Match("SAMPLES")) {
      if (args.Int64(&samples) && samples < 0) args.SyntaxError();
    } else {
      args.SyntaxError();
    }
  }
  if (!args.ok()) return;
  store::Txn::NoTouch no_touch(*ctx.txn);
  auto meta = ctx.txn->GetMeta(ctx.argv[2]);
  if (!meta.ok()) {
    if (meta.status().IsNotFound()) return ctx.reply.Null();
    return ReplyStatusError(ctx, meta.status());
  }
  auto usage =
      store::object::EstimateUsage(*ctx.txn, ctx.argv[2], *meta, static_cast<uint64_t>(samples));
  if (!usage.ok()) return ReplyStatusError(ctx, usage.status());
  ctx.reply.Integer(*usage);
}

}  // namespace

void RegisterObjectCommands() {
  RegisterCommands({
      {"object", -2, kReadOnly | kTxn, 2, 2, 1, &Object, "generic",
       "A container for object introspection commands.", "2.2.3"},
      {"memory", -2, kReadOnly | kTxn, 0, 0, 0, &Memory, "server",
       "A container for memory diagnostics commands.", "4.0.0"},
  });
}

}  // namespace redge::resp
