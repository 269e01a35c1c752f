// Helpers shared by the stream command files (stream_commands.cc, stream_read_commands.cc,
// stream_group_commands.cc): stream id arguments with Redis's error replies, entry
// replies, and the stream-node-max-entries / stream-node-max-bytes settings.
//
// Thread-safety: the settings are atomics (CONFIG SET on one loop, XADD on another); the
// rest are pure functions of their arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "edge/resp/args.h"
#include "edge/resp/command.h"
#include "edge/resp/protocol.h"
#include "store/streams.h"

namespace redge::resp::streams {

using store::streams::Entry;
using store::streams::StreamId;

// A stream id argument (streamParseIDOrReply / streamParseStrictIDOrReply); on failure
// writes "ERR Invalid stream ID specified as stream command argument".
bool ArgId(CommandContext& ctx, std::string_view arg, uint64_t missing_seq, bool strict,
           StreamId* out);
// The same for the next argument of `args` (see ArgReader: on failure it has written
// the error and every later call fails).
bool NextId(ArgReader& args, uint64_t missing_seq, bool strict, StreamId* out);
// A range bound (streamParseIntervalIDOrReply): "(" makes it exclusive, which moves it by
// one id ("ERR invalid start ID for the interval" / "... end ID ..." when it cannot).
bool ArgRangeStart(CommandContext& ctx, std::string_view arg, StreamId* out);
bool ArgRangeEnd(CommandContext& ctx, std::string_view arg, StreamId* out);

// [id, [field, value, ...]] (or [id, nil] for a pending entry that was deleted).
void WriteEntry(ReplyWriter& w, const Entry& e);
void WriteEntries(ReplyWriter& w, const std::vector<Entry>& entries);

// stream-node-max-entries and stream-node-max-bytes (CONFIG GET/SET).
store::streams::NodeLimits NodeLimits();
int64_t NodeMaxEntries();
int64_t NodeMaxBytes();
// Parse and apply a CONFIG SET value: "" on success, else Redis's reason ("argument
// couldn't be parsed into an integer", ...) and nothing changed.
std::string SetNodeMaxEntries(std::string_view value);
std::string SetNodeMaxBytes(std::string_view value);

}  // namespace redge::resp::streams
