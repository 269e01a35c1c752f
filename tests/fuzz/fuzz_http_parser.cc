// libFuzzer target: the HTTP/1.x request parser (edge/http/http_parser.h): request lines,
// headers, Content-Length and chunked bodies, trailers, 100-continue, pipelined requests.
//
// Input: a limits byte, a split seed byte, then the bytes a client sends on one
// connection. They are parsed twice, all at once and in reads of 1..64 bytes, the way
// HttpConnection drives the parser (the unconsumed input is passed again on every call,
// a finished request is taken and parsing goes on with what follows it). Both runs must
// yield the same requests and the same refusal. Also checked: a body never exceeds
// max_body, a head never exceeds max_header_bytes, `consumed` stays within the input, and
// the query/header accessors handlers use work on whatever the parser produced.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "edge/http/http_parser.h"

namespace {

using redge::http::internal::ParsedRequest;
using redge::http::internal::RequestParser;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_http_parser: invariant broken: %s\n", what);
    std::abort();
  }
}

// What a request looked like to the server: enough to compare two parses.
std::string Describe(const ParsedRequest& p) {
  std::string d = p.request.method + " " + p.request.target + " path=" + p.request.path +
                  " query=" + p.request.query + " minor=" + std::to_string(p.minor_version) +
                  " keep_alive=" + std::to_string(p.keep_alive) +
                  " head=" + std::to_string(p.head) + "\n";
  for (const auto& [k, v] : p.request.headers) d += k + ": " + v + "\n";
  d += "body=" + p.request.body;
  return d;
}

struct Outcome {
  std::vector<std::string> requests;
  int error_status = 0;
  std::string error_code;
};

Outcome Parse(const std::string& bytes, size_t max_header, size_t max_body, uint32_t seed,
              bool split) {
  RequestParser parser(max_header, max_body);
  Outcome out;
  std::string buffer;  // received, not yet consumed
  size_t fed = 0;
  while (true) {
    // Parse everything buffered (several pipelined requests may be there).
    while (true) {
      size_t consumed = 0;
      RequestParser::Result r = parser.Parse(buffer, &consumed);
      Check(consumed <= buffer.size(), "consumed more than the input");
      buffer.erase(0, consumed);
      if (r == RequestParser::Result::kError) {
        out.error_status = parser.error().status;
        out.error_code = parser.error().code;
        Check(out.error_status >= 400 && out.error_status < 600, "an error status below 400");
        return out;
      }
      // "100 Continue" is owed only while the body of a head that asked for it is awaited.
      if (parser.awaiting_continue()) Check(r == RequestParser::Result::kNeedMore, "continue");
      if (r == RequestParser::Result::kNeedMore) break;
      ParsedRequest p = parser.Take();
      Check(p.request.body.size() <= max_body, "a body over max_body");
      Check(!p.request.method.empty(), "a request without a method");
      // What every handler does with a request: look up headers and query parameters.
      for (const char* name : {"after", "wait", "access_token", "limit", "cursor", ""}) {
        (void)p.request.Query(name);
      }
      (void)p.request.Header("last-event-id");
      out.requests.push_back(Describe(p));
    }
    // The head being read is kept whole until complete (+1 for the byte that broke it).
    Check(buffer.size() <= max_header + max_body + 4096 + 64, "unbounded buffered input");
    if (fed == bytes.size()) return out;
    size_t n = bytes.size() - fed;
    if (split) {
      seed = seed * 1103515245u + 12345u;
      n = std::min<size_t>(n, 1 + (seed >> 16) % 64);
    }
    buffer.append(bytes, fed, n);
    fed += n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t limits = data[0];
  const uint32_t seed = data[1];
  const std::string bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  // Small limits half of the time, so 413/431 are reachable with short inputs.
  const size_t max_header = (limits & 1) ? 96 : 64u << 10;
  const size_t max_body = (limits & 2) ? 16 : 1u << 20;

  const Outcome whole = Parse(bytes, max_header, max_body, seed, false);
  const Outcome pieces = Parse(bytes, max_header, max_body, seed, true);
  Check(whole.requests.size() == pieces.requests.size(),
        "the number of requests depends on how the bytes were split");
  for (size_t i = 0; i < whole.requests.size(); ++i) {
    if (whole.requests[i] != pieces.requests[i]) {
      std::fprintf(stderr, "whole:\n%s\npieces:\n%s\n", whole.requests[i].c_str(),
                   pieces.requests[i].c_str());
      Check(false, "a request depends on how the bytes were split");
    }
  }
  if (whole.error_status != pieces.error_status || whole.error_code != pieces.error_code) {
    std::fprintf(stderr, "whole: %d %s, pieces: %d %s\n", whole.error_status,
                 whole.error_code.c_str(), pieces.error_status, pieces.error_code.c_str());
    Check(false, "the refusal depends on how the bytes were split");
  }
  return 0;
}
