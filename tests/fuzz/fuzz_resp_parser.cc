// libFuzzer target: the RESP request parser (edge/resp/protocol.h RequestParser).
//
// Input: one options byte (auth required, small limits), one seed byte for how the rest is
// split into reads, then the bytes a client sends. The same bytes are parsed twice, all
// at once and in reads of 1..64 bytes, and must give the same commands and the same error:
// the parser promises "any split across reads". Also checked: no argument or argument count
// beyond the limits, an error is final, and the parser never holds more than the query
// buffer limit.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "edge/resp/protocol.h"

namespace {

using redge::resp::ParserLimits;
using redge::resp::RequestParser;

struct Outcome {
  std::vector<std::vector<std::string>> commands;
  std::string error;  // empty: no protocol error
};

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_resp_parser: invariant broken: %s\n", what);
    std::abort();
  }
}

// Drains the commands the parser has now; false once it failed.
bool Drain(RequestParser& p, const ParserLimits& limits, Outcome* out) {
  while (true) {
    std::vector<std::string> argv;
    RequestParser::State s = p.Next(&argv);
    if (s == RequestParser::State::kNeedMore) return true;
    if (s == RequestParser::State::kError) {
      out->error = p.error();
      Check(!out->error.empty(), "an error without a message");
      std::vector<std::string> again;
      Check(p.Next(&again) == RequestParser::State::kError, "an error is not final");
      return false;
    }
    Check(!argv.empty(), "an empty command was yielded");
    // A multibulk command is bounded by the multibulk and bulk limits, an inline one by
    // the length of its line.
    const int64_t inline_len = static_cast<int64_t>(limits.max_inline_len);
    Check(static_cast<int64_t>(argv.size()) <= std::max(limits.max_multibulk_len, inline_len),
          "too many arguments");
    const int64_t longest = std::max(limits.max_bulk_len, inline_len);
    for (const auto& a : argv) {
      Check(static_cast<int64_t>(a.size()) <= longest, "argument over the bulk limit");
    }
    out->commands.push_back(std::move(argv));
  }
}

Outcome Parse(const std::string& bytes, const ParserLimits& limits, bool auth, uint32_t seed,
              bool split) {
  RequestParser p(limits);
  p.set_auth_required(auth);
  Outcome out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t n = bytes.size() - pos;
    if (split) {
      seed = seed * 1103515245u + 12345u;
      n = std::min<size_t>(n, 1 + (seed >> 16) % 64);
    }
    p.Feed(bytes.data() + pos, n);
    pos += n;
    if (!Drain(p, limits, &out)) return out;
    // Waiting for more: what is held is below the limit plus the last read.
    if (split) Check(p.buffered() <= limits.max_query_buffer + 64, "buffered past the limit");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t options = data[0];
  const uint32_t seed = data[1];
  const std::string bytes(reinterpret_cast<const char*>(data) + 2, size - 2);

  ParserLimits limits;
  if (options & 1) {  // small limits, so every limit path is reachable with short inputs
    limits.max_bulk_len = 40;
    limits.max_multibulk_len = 6;
    limits.max_inline_len = 48;
    limits.max_query_buffer = 4096;
  }
  const bool auth = options & 2;
  const Outcome whole = Parse(bytes, limits, auth, seed, false);
  const Outcome pieces = Parse(bytes, limits, auth, seed, true);

  // Redis checks the inline and query-buffer limits against what is buffered when it
  // looks, so those two errors legitimately depend on how the bytes arrived.
  auto size_dependent = [](const std::string& e) {
    return e.find("too big inline request") != std::string::npos ||
           e.find("query buffer limit") != std::string::npos;
  };
  if (size_dependent(whole.error) || size_dependent(pieces.error)) return 0;
  Check(whole.error == pieces.error, "the error depends on how the bytes were split");
  Check(whole.commands == pieces.commands, "the commands depend on how the bytes were split");
  return 0;
}
