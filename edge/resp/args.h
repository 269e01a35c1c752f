// ArgReader: the one argument parser of the RESP command handlers. It walks argv left to
// right with Redis's number rules and error texts, so handlers say what they expect
// instead of indexing argv by hand:
//
//   ArgReader args(ctx, 2);                       // after the command name and the key
//   while (args.ok() && !args.done()) {
//     if (args.Match("NX")) nx = true;
//     else if (args.Match("LIMIT")) args.Int64(&offset) && args.Int64(&count);
//     else args.SyntaxError();
//   }
//   if (!args.ok()) return;                       // the error reply is already written
//
// Every reading method returns false and writes Redis's error reply on failure; once an
// error is written every later call fails without writing another, so a handler checks
// ok() once at the end.
//
// Thread-safety: one per handler call, on the handler's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "edge/resp/command.h"

namespace redge::resp {

class ArgReader {
 public:
  // Reads ctx.argv from index `first`.
  ArgReader(CommandContext& ctx, size_t first = 1) : ctx_(ctx), pos_(first) {}

  bool ok() const { return !failed_; }
  bool done() const { return pos_ >= ctx_.argv.size(); }
  size_t remaining() const { return done() ? 0 : ctx_.argv.size() - pos_; }
  size_t position() const { return pos_; }
  // The next argument without consuming it ("" when none is left).
  std::string_view Peek() const;
  // Consumes the next argument if it equals `word` case-insensitively.
  bool Match(std::string_view word);
  // Consumes and returns the next argument; a syntax error when none is left.
  bool Next(std::string* out);
  bool Next(std::string_view* out);

  // Integers: "ERR value is not an integer or out of range".
  bool Int64(int64_t* out);
  // An integer in [min, max]. `message` (without "ERR ") replaces both the
  // not-an-integer and the out-of-range texts when given (Redis's
  // getRangeLongFromObjectOrReply); otherwise "ERR value is out of range, must be
  // positive" style texts are the caller's choice via Fail().
  bool Int64InRange(int64_t min, int64_t max, const char* message, int64_t* out);
  // Scores and other doubles: "ERR value is not a valid float" (Redis 7.0 rules,
  // base::ParseDouble).
  bool Double(double* out);
  // A timeout of blocking commands in seconds (see ArgTimeout in command.h).
  bool Timeout(int64_t* timeout_ms);
  // A SCAN-family cursor (Redis's parseScanCursorOrReply: strtoul over the whole
  // argument, no leading space, no overflow; "" is 0, "-1" wraps): "ERR invalid cursor".
  bool ScanCursor(uint64_t* cursor);

  // Writes `error_line` (with its prefix, e.g. "ERR ...") unless an error was written
  // already; returns false.
  bool Fail(std::string_view error_line);
  bool SyntaxError() { return Fail("ERR syntax error"); }

 private:
  CommandContext& ctx_;
  size_t pos_;
  bool failed_ = false;
};

// The options of HSCAN/SSCAN/ZSCAN after the cursor, as Redis's scanGenericCommand parses
// them: COUNT n (an integer >= 1, else a syntax error) and MATCH pattern, in any order and
// repeated (the last wins); anything else (TYPE included) is a syntax error. `pattern`
// is left empty for "*" (everything matches).
bool ReadElementScanOptions(ArgReader& args, std::string* pattern, uint64_t* count);

}  // namespace redge::resp
