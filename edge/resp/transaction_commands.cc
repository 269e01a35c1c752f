// Transactions: MULTI EXEC DISCARD WATCH UNWATCH. EXEC runs the queued commands in one
// store transaction (one atomic batch); WATCH aborts it when a watched key was written
// (by any client, an expiry or a flush) or expired since the WATCH.
#include "edge/resp/command.h"
#include "edge/resp/connection.h"
#include "edge/resp/server.h"

namespace redge::resp {
namespace {

void Multi(CommandContext& ctx) {
  if (ctx.conn.in_multi()) return ctx.reply.Error("ERR MULTI calls can not be nested");
  ctx.conn.BeginMulti();
  ctx.reply.Simple("OK");
}

void Exec(CommandContext& ctx) {
  if (!ctx.conn.in_multi()) return ctx.reply.Error("ERR EXEC without MULTI");
  ctx.conn.ExecMulti();
}

void Discard(CommandContext& ctx) {
  if (!ctx.conn.in_multi()) return ctx.reply.Error("ERR DISCARD without MULTI");
  ctx.conn.DiscardMulti();
  ctx.reply.Simple("OK");
}

void Watch(CommandContext& ctx) {
  if (ctx.conn.in_multi()) return ctx.reply.Error("ERR WATCH inside MULTI is not allowed");
  for (size_t i = 1; i < ctx.argv.size(); ++i) ctx.conn.Watch(*ctx.txn, ctx.argv[i]);
  ctx.reply.Simple("OK");
}

void Unwatch(CommandContext& ctx) {
  ctx.conn.UnwatchAll();
  ctx.reply.Simple("OK");
}

}  // namespace

void RegisterTransactionCommands() {
  RegisterCommands({
      {"multi", 1, kFast | kNoMulti, 0, 0, 0, &Multi, "transactions", "Starts a transaction.",
       "1.2.0"},
      {"exec", 1, kNoMulti, 0, 0, 0, &Exec, "transactions",
       "Executes all commands in a transaction.", "1.2.0"},
      {"discard", 1, kFast | kNoMulti, 0, 0, 0, &Discard, "transactions", "Discards a transaction.",
       "2.0.0"},
      {"watch", -2, kFast | kNoMulti | kTxn, 1, -1, 1, &Watch, "transactions",
       "Monitors changes to keys to determine the execution of a transaction.", "2.2.0"},
      {"unwatch", 1, kFast, 0, 0, 0, &Unwatch, "transactions",
       "Forgets about watched keys of a transaction.", "2.2.0"},
  });
}

}  // namespace redge::resp
