#include "edge/resp/stream_util.h"

#include <atomic>
#include <cctype>

#include "base/numbers.h"
#include "edge/resp/config_table.h"

namespace redge::resp::streams {
namespace {

std::atomic<int64_t> g_node_max_entries{100};
std::atomic<int64_t> g_node_max_bytes{4096};

}  // namespace

bool ArgId(CommandContext& ctx, std::string_view arg, uint64_t missing_seq, bool strict,
           StreamId* out) {
  auto id = store::streams::ParseId(arg, missing_seq, strict);
  if (!id) {
    ReplyStatusError(ctx, store::streams::InvalidIdError());
    return false;
  }
  *out = *id;
  return true;
}

bool NextId(ArgReader& args, uint64_t missing_seq, bool strict, StreamId* out) {
  std::string_view arg;
  if (!args.Next(&arg)) return false;
  auto id = store::streams::ParseId(arg, missing_seq, strict);
  if (!id) return args.Fail(store::streams::InvalidIdError().message());
  *out = *id;
  return true;
}

namespace {

bool ArgInterval(CommandContext& ctx, std::string_view arg, uint64_t missing_seq, StreamId* out,
                 bool* exclusive) {
  *exclusive = arg.size() > 1 && arg[0] == '(';
  if (*exclusive) return ArgId(ctx, arg.substr(1), missing_seq, /*strict=*/true, out);
  return ArgId(ctx, arg, missing_seq, /*strict=*/false, out);
}

}  // namespace

bool ArgRangeStart(CommandContext& ctx, std::string_view arg, StreamId* out) {
  bool exclusive = false;
  if (!ArgInterval(ctx, arg, 0, out, &exclusive)) return false;
  if (exclusive && !out->Incr()) {
    ctx.reply.Error("ERR invalid start ID for the interval");
    return false;
  }
  return true;
}

bool ArgRangeEnd(CommandContext& ctx, std::string_view arg, StreamId* out) {
  bool exclusive = false;
  if (!ArgInterval(ctx, arg, UINT64_MAX, out, &exclusive)) return false;
  if (exclusive && !out->Decr()) {
    ctx.reply.Error("ERR invalid end ID for the interval");
    return false;
  }
  return true;
}

void WriteEntry(ReplyWriter& w, const Entry& e) {
  w.ArrayHeader(2);
  w.Bulk(e.id.ToString());
  if (e.missing) {
    w.NullArray();
  } else {
    w.BulkArray(e.fields);
  }
}

void WriteEntries(ReplyWriter& w, const std::vector<Entry>& entries) {
  w.ArrayHeader(static_cast<int64_t>(entries.size()));
  for (const auto& e : entries) WriteEntry(w, e);
}

store::streams::NodeLimits NodeLimits() {
  return {g_node_max_entries.load(std::memory_order_relaxed),
          g_node_max_bytes.load(std::memory_order_relaxed)};
}
int64_t NodeMaxEntries() { return g_node_max_entries.load(); }
int64_t NodeMaxBytes() { return g_node_max_bytes.load(); }

std::string SetNodeMaxEntries(std::string_view value) {
  int64_t v = 0;
  if (!base::ParseInt64(value, &v)) return "argument couldn't be parsed into an integer";
  if (v < 0) return "argument must be between 0 and 9223372036854775807 inclusive";
  g_node_max_entries = v;
  return "";
}

std::string SetNodeMaxBytes(std::string_view value) {
  int64_t v = 0;
  if (!ParseMemory(value, &v)) return "argument must be a memory value";
  g_node_max_bytes = v;
  return "";
}

}  // namespace redge::resp::streams
