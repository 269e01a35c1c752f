// The HTTP/1.x request parser of HttpServer: incremental, so it works on whatever a read
// returned. Internal to edge/http; no sockets, no threads, so it is tested byte by byte.
//
// The parser enforces the limits promised in http_server.h as soon as the bytes that break
// them arrive (a 2 GB Content-Length is refused before any body byte is read, an endless
// header is refused once it passes max_header_bytes), so one connection's buffered input
// stays below max_header_bytes + max_body + one read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "edge/http/http_server.h"

namespace redge::http::internal {

// Why a request was refused: the status and the JSON error body's code and message.
struct ParseError {
  int status = 400;
  std::string code;
  std::string message;
};

// A complete request plus what the connection needs to answer it.
struct ParsedRequest {
  Request request;
  int minor_version = 1;  // HTTP/1.<minor>
  bool keep_alive = true;
  bool head = false;  // a HEAD request: the response carries no body
};

class RequestParser {
 public:
  enum class Result { kNeedMore, kDone, kError };

  RequestParser(size_t max_header_bytes, size_t max_body)
      : max_header_bytes_(max_header_bytes), max_body_(max_body) {}

  // Consumes a prefix of `data` (the unconsumed input, starting where the previous call
  // stopped) and sets *consumed to its length. The head is only consumed once it is
  // complete, so `data` must still start with it on the next call. kDone: take() the
  // request; kError: error() says why, the connection answers it and closes.
  Result Parse(std::string_view data, size_t* consumed);

  // The finished request; resets the parser for the next one.
  ParsedRequest Take();
  const ParseError& error() const { return error_; }
  // True between a complete head carrying `Expect: 100-continue` and the end of its body:
  // the client waits for "100 Continue" before sending the body.
  bool awaiting_continue() const { return expect_continue_ && InBody(); }
  // True between a complete head and the end of its body.
  bool in_body() const { return InBody(); }

 private:
  enum class State { kHead, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kDone };

  bool InBody() const { return state_ != State::kHead && state_ != State::kDone; }
  Result Fail(int status, std::string code, std::string message);
  // Parses the complete head (request line and header lines, blank line excluded).
  Result ParseHead(std::string_view head);
  Result ParseRequestLine(std::string_view line);
  Result ParseTarget(std::string_view target);
  Result ParseHeaderLine(std::string_view line);
  // Chooses Content-Length, chunked or no body from the headers.
  Result StartBody();
  Result MissingHost(int hosts);

  const size_t max_header_bytes_;
  const size_t max_body_;
  State state_ = State::kHead;
  size_t scan_ = 0;         // head bytes already searched for the blank line
  size_t line_start_ = 0;   // start of the head line being scanned
  uint64_t remaining_ = 0;  // body or chunk bytes still expected
  size_t trailer_bytes_ = 0;
  bool expect_continue_ = false;
  ParsedRequest parsed_;
  ParseError error_;
};

// Percent-decodes `in`; '+' becomes a space when `plus_is_space`. Returns false on a
// malformed escape, which is then copied literally.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out);

// Shared text helpers (also used by the response side).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// RFC 9110 token: a method or header name.
bool IsToken(std::string_view s);
// Splits a comma-separated header value into trimmed, lower-cased, non-empty elements.
void SplitList(std::string_view value, std::vector<std::string>* out);

}  // namespace redge::http::internal
