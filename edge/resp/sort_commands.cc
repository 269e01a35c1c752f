// SORT and SORT_RO: argument parsing as Redis 7.0's sortCommandGeneric (options in any
// order, the last of each kind wins, LIMIT's integers checked as they come, STORE refused
// by SORT_RO) and the replies. The semantics are store/sort.h.
#include "edge/resp/args.h"
#include "edge/resp/command.h"
#include "store/sort.h"

namespace redge::resp {
namespace {

void SortGeneric(CommandContext& ctx, bool readonly) {
  store::sort::Options o;
  ArgReader args(ctx, 2);
  while (args.ok() && !args.done()) {
    const size_t left = args.remaining() - 1;  // arguments after this option word
    if (args.Match("ASC")) {
      o.desc = false;
    } else if (args.Match("DESC")) {
      o.desc = true;
    } else if (args.Match("ALPHA")) {
      o.alpha = true;
    } else if (left >= 2 && args.Match("LIMIT")) {
      args.Int64(&o.limit_offset) && args.Int64(&o.limit_count);
    } else if (!readonly && left >= 1 && args.Match("STORE")) {
      std::string dst;
      args.Next(&dst);
      o.store = std::move(dst);
    } else if (left >= 1 && args.Match("BY")) {
      std::string by;
      args.Next(&by);
      o.by = std::move(by);
    } else if (left >= 1 && args.Match("GET")) {
      std::string pattern;
      args.Next(&pattern);
      o.get.push_back(std::move(pattern));
    } else {
      args.SyntaxError();
    }
  }
  if (!args.ok()) return;
  auto r = store::sort::Sort(*ctx.txn, ctx.argv[1], o);
  if (!r.ok()) return ReplyStatusError(ctx, r.status());
  if (o.store) return ctx.reply.Integer(r->count);
  ctx.reply.ArrayHeader(static_cast<int64_t>(r->items.size()));
  for (const auto& item : r->items) {
    if (item) {
      ctx.reply.Bulk(*item);
    } else {
      ctx.reply.Null();
    }
  }
}

void Sort(CommandContext& ctx) { SortGeneric(ctx, false); }
void SortRo(CommandContext& ctx) { SortGeneric(ctx, true); }

}  // namespace

void RegisterSortCommands() {
  RegisterCommands({
      {"sort", -2, kWrite | kTxn | kDenyOom | kMovable, 1, 1, 1, &Sort, "generic",
       "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
       "1.0.0"},
      {"sort_ro", -2, kReadOnly | kTxn | kMovable, 1, 1, 1, &SortRo, "generic",
       "Returns the sorted elements of a list, a set, or a sorted set.", "7.0.0"},
  });
}

}  // namespace redge::resp
