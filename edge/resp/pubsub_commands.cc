// Pub/sub: SUBSCRIBE PSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE PUBLISH PUBSUB. Delivery and the
// output-buffer policy live in store/pubsub.h; this file only shapes replies (push
// messages in RESP3, arrays in RESP2).
#include "edge/resp/command.h"
#include "edge/resp/connection.h"
#include "edge/resp/server.h"
#include "store/glob.h"

namespace redge::resp {
namespace {

void Confirm(CommandContext& ctx, const char* kind, const std::string* name, size_t count) {
  ctx.reply.PushHeader(3);
  ctx.reply.Bulk(kind);
  if (name) {
    ctx.reply.Bulk(*name);
  } else {
    ctx.reply.Null();
  }
  ctx.reply.Integer(static_cast<int64_t>(count));
}

void Subscribe(CommandContext& ctx) {
  auto& sub = ctx.conn.subscriber();
  for (size_t i = 1; i < ctx.argv.size(); ++i) {
    Confirm(ctx, "subscribe", &ctx.argv[i], sub.Subscribe(ctx.argv[i]));
  }
}

void PSubscribe(CommandContext& ctx) {
  auto& sub = ctx.conn.subscriber();
  for (size_t i = 1; i < ctx.argv.size(); ++i) {
    Confirm(ctx, "psubscribe", &ctx.argv[i], sub.PSubscribe(ctx.argv[i]));
  }
}

void Unsubscribe(CommandContext& ctx) {
  auto& sub = ctx.conn.subscriber();
  std::vector<std::string> names(ctx.argv.begin() + 1, ctx.argv.end());
  if (names.empty()) names = sub.Channels();
  if (names.empty()) return Confirm(ctx, "unsubscribe", nullptr, sub.SubscriptionCount());
  for (const auto& n : names) Confirm(ctx, "unsubscribe", &n, sub.Unsubscribe(n));
}

void PUnsubscribe(CommandContext& ctx) {
  auto& sub = ctx.conn.subscriber();
  std::vector<std::string> names(ctx.argv.begin() + 1, ctx.argv.end());
  if (names.empty()) names = sub.Patterns();
  if (names.empty()) return Confirm(ctx, "punsubscribe", nullptr, sub.SubscriptionCount());
  for (const auto& n : names) Confirm(ctx, "punsubscribe", &n, sub.PUnsubscribe(n));
}

void Publish(CommandContext& ctx) {
  // Inside the store transaction, so channel observers (the jobs bridge) commit their
  // writes atomically with this command.
  ctx.reply.Integer(ctx.server.store().PublishInTxn(*ctx.txn, ctx.argv[1], ctx.argv[2]));
}

void PubSubCmd(CommandContext& ctx) {
  std::string sub = ToLower(ctx.argv[1]);
  auto& broker = ctx.server.store().pubsub();
  if (sub == "channels" || sub == "shardchannels") {
    if (ctx.argv.size() > 3) {
      return ctx.reply.Error("ERR wrong number of arguments for 'pubsub|" + sub + "' command");
    }
    if (sub == "shardchannels") return ctx.reply.ArrayHeader(0);
    ctx.reply.BulkArray(
        broker.ActiveChannels(ctx.argv.size() == 3 ? std::string_view(ctx.argv[2]) : ""));
  } else if (sub == "numsub" || sub == "shardnumsub") {
    ctx.reply.MapHeader(static_cast<int64_t>(ctx.argv.size() - 2));
    for (size_t i = 2; i < ctx.argv.size(); ++i) {
      ctx.reply.Bulk(ctx.argv[i]);
      ctx.reply.Integer(sub == "numsub" ? broker.NumSub(ctx.argv[i]) : 0);
    }
  } else if (sub == "numpat") {
    if (ctx.argv.size() != 2) {
      return ctx.reply.Error("ERR wrong number of arguments for 'pubsub|numpat' command");
    }
    ctx.reply.Integer(broker.NumPat());
  } else if (sub == "help") {
    ctx.reply.BulkArray({"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                         "CHANNELS [<pattern>]", "NUMPAT", "NUMSUB [<channel> ...]", "HELP"});
  } else {
    ctx.reply.Error("ERR unknown subcommand '" + ctx.argv[1] + "'. Try PUBSUB HELP.");
  }
}

}  // namespace

void RegisterPubSubCommands() {
  constexpr uint32_t kSub = kPubSub | kPubSubCtx | kNoScript | kLoading | kStale;
  RegisterCommands({
      {"subscribe", -2, kSub, 0, 0, 0, &Subscribe, "pubsub",
       "Listens for messages published to channels.", "2.0.0"},
      {"psubscribe", -2, kSub, 0, 0, 0, &PSubscribe, "pubsub",
       "Listens for messages published to channels that match one or more patterns.", "2.0.0"},
      {"unsubscribe", -1, kSub, 0, 0, 0, &Unsubscribe, "pubsub",
       "Stops listening to messages posted to channels.", "2.0.0"},
      {"punsubscribe", -1, kSub, 0, 0, 0, &PUnsubscribe, "pubsub",
       "Stops listening to messages published to channels that match one or more patterns.",
       "2.0.0"},
      {"publish", 3, kPubSub | kFast | kTxn | kLoading | kStale | kMayReplicate, 0, 0, 0, &Publish,
       "pubsub", "Posts a message to a channel.", "2.0.0"},
      {"pubsub", -2, kPubSub | kLoading | kStale, 0, 0, 0, &PubSubCmd, "pubsub",
       "A container for Pub/Sub commands.", "2.8.0"},
  });
}

}  // namespace redge::resp
