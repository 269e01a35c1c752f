#include "edge/http/http_parser.h"

#include <algorithm>
#include <limits>

namespace redge::http {
namespace internal {
namespace {

// Longest chunk-size line (size, extensions, CRLF) accepted; real clients send a few bytes.
constexpr size_t kMaxChunkLine = 4096;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

// RFC 9110 token characters (method and header names).
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view StripCr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// Splits a comma-separated header value into trimmed, lower-cased, non-empty elements.
void SplitList(std::string_view value, std::vector<std::string>* out) {
  while (true) {
    size_t comma = value.find(',');
    std::string_view item = TrimOws(value.substr(0, comma));
    if (!item.empty()) out->push_back(ToLower(item));
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  bool ok = true;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      int hi = i + 2 < in.size() ? HexValue(in[i + 1]) : -1;
      int lo = hi >= 0 ? HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        ok = false;
        out->push_back(c);
        continue;
      }
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return ok;
}

RequestParser::Result RequestParser::Fail(int status, std::string code, std::string message) {
  error_ = ParseError{status, std::move(code), std::move(message)};
  return Result::kError;
}

RequestParser::Result RequestParser::Parse(std::string_view data, size_t* consumed) {
  size_t pos = 0;
  *consumed = 0;
  while (true) {
    switch (state_) {
      case State::kHead: {
        if (scan_ == 0) {
          // RFC 9112 2.2: ignore empty lines before the request line (some clients send
          // an extra CRLF after a body).
          while (pos < data.size() && (data[pos] == '\r' || data[pos] == '\n')) ++pos;
          *consumed = pos;
        }
        std::string_view rest = data.substr(pos);
        size_t end = std::string_view::npos;
        for (size_t i = scan_; i < rest.size(); ++i) {
          if (rest[i] != '\n') continue;
          size_t len = i - line_start_;
          if (len == 0 || (len == 1 && rest[line_start_] == '\r')) {
            end = i + 1;
            break;
          }
          line_start_ = i + 1;
        }
        if (end == std::string_view::npos) {
          scan_ = rest.size();
          if (rest.size() > max_header_bytes_) {
            return Fail(
                431, "request_header_fields_too_large",
                "request line and headers exceed " + std::to_string(max_header_bytes_) + " bytes");
          }
          return Result::kNeedMore;
        }
        if (end > max_header_bytes_) {
          return Fail(
              431, "request_header_fields_too_large",
              "request line and headers exceed " + std::to_string(max_header_bytes_) + " bytes");
        }
        Result r = ParseHead(rest.substr(0, line_start_));
        pos += end;
        *consumed = pos;
        scan_ = 0;
        line_start_ = 0;
        if (r == Result::kError) return r;
        if (StartBody() == Result::kError) return Result::kError;
        break;
      }
      case State::kBody:
      case State::kChunkData: {
        size_t take = static_cast<size_t>(
            std::min<uint64_t>(remaining_, static_cast<uint64_t>(data.size() - pos)));
        parsed_.request.body.append(data.data() + pos, take);
        pos += take;
        *consumed = pos;
        remaining_ -= take;
        if (remaining_ > 0) return Result::kNeedMore;
        state_ = state_ == State::kBody ? State::kDone : State::kChunkDataEnd;
        break;
      }
      case State::kChunkSize: {
        // The line limit holds whether or not its newline came in the same read, so a
        // request is accepted or refused the same way however the bytes were split.
        size_t nl = data.find('\n', pos);
        size_t line_len = (nl == std::string_view::npos ? data.size() : nl) - pos;
        if (line_len > kMaxChunkLine) return Fail(400, "bad_request", "chunk size line too long");
        if (nl == std::string_view::npos) return Result::kNeedMore;
        std::string_view line = StripCr(data.substr(pos, nl - pos));
        uint64_t size = 0;
        size_t i = 0;
        bool too_big = false;
        for (; i < line.size() && HexValue(line[i]) >= 0; ++i) {
          if (size > (std::numeric_limits<uint64_t>::max() >> 4)) too_big = true;
          size = (size << 4) | static_cast<uint64_t>(HexValue(line[i]));
        }
        std::string_view ext = TrimOws(line.substr(i));
        if (i == 0 || (!ext.empty() && ext.front() != ';')) {
          return Fail(400, "bad_request", "malformed chunk size");
        }
        if (too_big || size > max_body_ - parsed_.request.body.size()) {
          return Fail(413, "payload_too_large",
                      "request body exceeds " + std::to_string(max_body_) + " bytes");
        }
        pos = nl + 1;
        *consumed = pos;
        remaining_ = size;
        state_ = size == 0 ? State::kTrailers : State::kChunkData;
        break;
      }
      case State::kChunkDataEnd: {
        if (pos >= data.size()) return Result::kNeedMore;
        if (data[pos] == '\r') {
          if (pos + 1 >= data.size()) return Result::kNeedMore;
          if (data[pos + 1] != '\n') return Fail(400, "bad_request", "chunk not ended by CRLF");
          pos += 2;
        } else if (data[pos] == '\n') {
          pos += 1;
        } else {
          return Fail(400, "bad_request", "chunk not ended by CRLF");
        }
        *consumed = pos;
        state_ = State::kChunkSize;
        break;
      }
      case State::kTrailers: {
        // Trailer fields are read and dropped; they count against max_header_bytes.
        size_t nl = data.find('\n', pos);
        size_t len = nl == std::string_view::npos ? data.size() - pos : nl + 1 - pos;
        if (trailer_bytes_ + len > max_header_bytes_) {
          return Fail(431, "request_header_fields_too_large", "trailer fields too large");
        }
        if (nl == std::string_view::npos) return Result::kNeedMore;
        trailer_bytes_ += len;
        bool last = StripCr(data.substr(pos, nl - pos)).empty();
        pos = nl + 1;
        *consumed = pos;
        if (last) state_ = State::kDone;
        break;
      }
      case State::kDone:
        return Result::kDone;
    }
  }
}

ParsedRequest RequestParser::Take() {
  ParsedRequest out = std::move(parsed_);
  parsed_ = ParsedRequest{};
  state_ = State::kHead;
  scan_ = 0;
  line_start_ = 0;
  remaining_ = 0;
  trailer_bytes_ = 0;
  expect_continue_ = false;
  return out;
}

RequestParser::Result RequestParser::ParseHead(std::string_view head) {
  bool first = true;
  while (!head.empty()) {
    size_t nl = head.find('\n');
    std::string_view line = StripCr(head.substr(0, nl));
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
    Result r = first ? ParseRequestLine(line) : ParseHeaderLine(line);
    if (r == Result::kError) return r;
    first = false;
  }
  return Result::kNeedMore;
}

RequestParser::Result RequestParser::ParseRequestLine(std::string_view line) {
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Fail(400, "bad_request", "malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Fail(400, "bad_request", "malformed method");
  if (version.size() > 5 && version.substr(0, 5) == "HTTP/" && version[5] >= '0' &&
      version[5] <= '9' && version[5] != '1') {
    return Fail(505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are supported");
  }
  if (version.size() != 8 || version.substr(0, 6) != "HTTP/1" || version[6] != '.' ||
      version[7] < '0' || version[7] > '9') {
    return Fail(400, "bad_request", "malformed HTTP version");
  }
  parsed_.minor_version = version[7] == '0' ? 0 : 1;  // 1.x is answered as 1.1
  parsed_.request.method = std::string(method);
  parsed_.head = method == "HEAD";
  return ParseTarget(target);
}

RequestParser::Result RequestParser::ParseTarget(std::string_view target) {
  if (target.empty()) return Fail(400, "bad_request", "empty request target");
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return Fail(400, "bad_request", "malformed request target");
  }
  parsed_.request.target = std::string(target);
  std::string origin;
  if (target == "*") {
    parsed_.request.path = "*";  // OPTIONS *: matches no route, a filter may answer it
    return Result::kNeedMore;
  }
  if (target.front() == '/') {
    origin = std::string(target);
  } else {
    // absolute-form (sent to proxies, allowed to servers): keep only path and query.
    size_t scheme_end = target.find("://");
    std::string scheme = ToLower(target.substr(0, scheme_end));
    if (scheme_end == std::string_view::npos || (scheme != "http" && scheme != "https")) {
      return Fail(400, "bad_request", "malformed request target");
    }
    std::string_view rest = target.substr(scheme_end + 3);
    size_t path_start = rest.find_first_of("/?#");
    origin = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
    if (origin.front() != '/') origin.insert(origin.begin(), '/');
  }
  std::string_view view = origin;
  view = view.substr(0, view.find('#'));
  size_t q = view.find('?');
  if (q != std::string_view::npos) parsed_.request.query = std::string(view.substr(q + 1));
  if (!PercentDecode(view.substr(0, q), false, &parsed_.request.path)) {
    return Fail(400, "bad_request", "malformed percent-encoding in path");
  }
  if (parsed_.request.path.find('\0') != std::string::npos) {
    return Fail(400, "bad_request", "NUL in path");
  }
  return Result::kNeedMore;
}

RequestParser::Result RequestParser::ParseHeaderLine(std::string_view line) {
  if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    return Fail(400, "bad_request", "obsolete header line folding");
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
    return Fail(400, "bad_request", "malformed header line");
  }
  std::string_view value = TrimOws(line.substr(colon + 1));
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return Fail(400, "bad_request", "invalid character in header value");
    }
  }
  parsed_.request.headers.emplace_back(ToLower(line.substr(0, colon)), std::string(value));
  return Result::kNeedMore;
}

// RFC 9112 3.2: an HTTP/1.1 request must carry exactly one Host (HTTP/1.0 may omit it).
RequestParser::Result RequestParser::MissingHost(int hosts) {
  return Fail(400, "bad_request",
              hosts > 1 ? "more than one Host header" : "an HTTP/1.1 request needs a Host header");
}

RequestParser::Result RequestParser::StartBody() {
  std::vector<std::string> codings;
  std::vector<std::string> connection;
  int hosts = 0;
  bool has_length = false;
  bool length_too_big = false;
  uint64_t length = 0;
  for (const auto& [name, value] : parsed_.request.headers) {
    if (name == "transfer-encoding") {
      SplitList(value, &codings);
    } else if (name == "connection") {
      SplitList(value, &connection);
    } else if (name == "host") {
      hosts++;
    } else if (name == "expect") {
      // RFC 9110 10.1.1: 100-continue is the only expectation; any other gets 417. An
      // HTTP/1.0 client cannot expect 100-continue, so it is ignored there.
      if (!EqualsIgnoreCase(value, "100-continue")) {
        return Fail(417, "expectation_failed", "the only expectation supported is 100-continue");
      }
      expect_continue_ = parsed_.minor_version >= 1;
    } else if (name == "content-length") {
      // Repeated or listed values must agree (RFC 9112 6.3); anything else is a
      // request-smuggling vector, so it is refused.
      std::vector<std::string> values;
      SplitList(value, &values);
      if (values.empty()) return Fail(400, "bad_request", "malformed Content-Length");
      for (const auto& v : values) {
        uint64_t n = 0;
        bool big = false;
        for (char c : v) {
          if (c < '0' || c > '9') return Fail(400, "bad_request", "malformed Content-Length");
          if (n > (std::numeric_limits<uint64_t>::max() - 9) / 10) big = true;
          if (!big) n = n * 10 + static_cast<uint64_t>(c - '0');
        }
        if (has_length && (n != length || big != length_too_big)) {
          return Fail(400, "bad_request", "conflicting Content-Length values");
        }
        has_length = true;
        length = n;
        length_too_big = big;
      }
    }
  }
  bool close = false, keep_alive = false;
  for (const auto& token : connection) {
    if (token == "close") close = true;
    if (token == "keep-alive") keep_alive = true;
  }
  parsed_.keep_alive = !close && (parsed_.minor_version >= 1 || keep_alive);

  if (!codings.empty()) {
    if (has_length) {
      return Fail(400, "bad_request", "both Content-Length and Transfer-Encoding");
    }
    if (codings.size() != 1 || codings[0] != "chunked") {
      return Fail(501, "not_implemented", "only the chunked transfer coding is supported");
    }
    if (hosts > 1 || (hosts == 0 && parsed_.minor_version >= 1)) return MissingHost(hosts);
    state_ = State::kChunkSize;
    return Result::kNeedMore;
  }
  if (has_length && (length_too_big || length > max_body_)) {
    return Fail(413, "payload_too_large",
                "request body exceeds " + std::to_string(max_body_) + " bytes");
  }
  if (hosts > 1 || (hosts == 0 && parsed_.minor_version >= 1)) return MissingHost(hosts);
  remaining_ = length;
  state_ = length > 0 ? State::kBody : State::kDone;
  return Result::kNeedMore;
}

}  // namespace internal

std::optional<std::string_view> Request::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (internal::EqualsIgnoreCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view item = rest.substr(0, amp);
    size_t eq = item.find('=');
    std::string key;
    // Lenient: a malformed escape in a query is kept literally rather than refused.
    internal::PercentDecode(item.substr(0, eq), true, &key);
    if (!item.empty() && key == name) {
      std::string value;
      if (eq != std::string_view::npos) internal::PercentDecode(item.substr(eq + 1), true, &value);
      return value;
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace redge::http
