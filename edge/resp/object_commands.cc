// OBJECT ENCODING / FREQ / IDLETIME / REFCOUNT / HELP.
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

void ObjectHelp(CommandContext& ctx) {
  static const char* kLines[] = {
      "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "ENCODING <key>",
      "    Return the kind of internal representation used in order to store the value",
      "    associated with a <key>.",
      "FREQ <key>",
      "    Return the access frequency index of the <key>. The returned integer is",
      "    proportional to the logarithm of the recent access frequency of the key.",
      "IDLETIME <key>",
      "    Return the idle time of the <key>, that is the approximated number of",
      "    seconds elapsed since the last access to the key.",
      "REFCOUNT <key>",
      "    Return the number of references of the value associated with the specified",
      "    <key>.",
      "HELP",
      "    Prints this help.",
  };
  ctx.reply.ArrayHeader(static_cast<int64_t>(std::size(kLines)));
  for (const char* line : kLines) ctx.reply.Simple(line);
}

void Object(CommandContext& ctx) {
  const std::string sub = ToLower(ctx.argv[1]);
  const size_t argc = ctx.argv.size();
  const bool known =
      sub == "encoding" || sub == "freq" || sub == "idletime" || sub == "refcount" || sub == "help";
  if (!known) {
    return ctx.reply.Error("ERR unknown subcommand '" + ctx.argv[1].substr(0, 128) +
                           "'. Try OBJECT HELP.");
  }
  if (argc != (sub == "help" ? 2u : 3u)) {
    return ctx.reply.Error("ERR wrong number of arguments for 'object|" + sub + "' command");
  }
  if (sub == "help") return ObjectHelp(ctx);

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

}  // namespace

void RegisterObjectCommands() {
  RegisterCommands({
      {"object", -2, kReadOnly | kTxn, 2, 2, 1, &Object, "generic",
       "A container for object introspection commands.", "2.2.3"},
  });
}

}  // namespace redge::resp
