#include "edge/http/http_response.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "edge/http/http_parser.h"

namespace redge::http::internal {
namespace {

// A header the server may emit: token name, no CR, LF or NUL in the value (a handler
// echoing client input must not be able to split the response).
bool IsSafeHeader(const std::pair<std::string, std::string>& h) {
  if (!IsToken(h.first)) return false;
  for (char c : h.second) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), formatted at most once a second per
// thread. Written by hand because strftime's names follow the process locale.
const std::string& HttpDate() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local time_t cached_second = -1;
  thread_local std::string cached;
  time_t now = time(nullptr);
  if (now != cached_second) {
    struct tm tm {};
    gmtime_r(&now, &tm);
    char buf[64];
    snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7],
             tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    cached = buf;
    cached_second = now;
  }
  return cached;
}

void AppendStatusLine(std::string* out, int status) {
  out->append("HTTP/1.1 ");
  out->append(std::to_string(status));
  out->push_back(' ');
  out->append(ReasonPhrase(status));
  out->append("\r\n");
}

// Appends the handler's headers except those the server owns (framing and connection
// management), then Date unless the handler set one.
void AppendUserHeaders(std::string* out, const Headers& headers) {
  bool has_date = false;
  for (const auto& h : headers) {
    if (!IsSafeHeader(h)) continue;
    if (EqualsIgnoreCase(h.first, "content-length") ||
        EqualsIgnoreCase(h.first, "transfer-encoding") || EqualsIgnoreCase(h.first, "connection")) {
      continue;
    }
    if (EqualsIgnoreCase(h.first, "date")) has_date = true;
    out->append(h.first);
    out->append(": ");
    out->append(h.second);
    out->append("\r\n");
  }
  if (!has_date) {
    out->append("Date: ");
    out->append(HttpDate());
    out->append("\r\n");
  }
}

}  // namespace

std::string_view ReasonPhrase(int status) {
  static constexpr std::pair<int, std::string_view> kPhrases[] = {
      {100, "Continue"},
      {101, "Switching Protocols"},
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {204, "No Content"},
      {206, "Partial Content"},
      {301, "Moved Permanently"},
      {302, "Found"},
      {303, "See Other"},
      {304, "Not Modified"},
      {307, "Temporary Redirect"},
      {308, "Permanent Redirect"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {406, "Not Acceptable"},
      {408, "Request Timeout"},
      {409, "Conflict"},
      {410, "Gone"},
      {411, "Length Required"},
      {412, "Precondition Failed"},
      {413, "Payload Too Large"},
      {414, "URI Too Long"},
      {415, "Unsupported Media Type"},
      {416, "Range Not Satisfiable"},
      {417, "Expectation Failed"},
      {422, "Unprocessable Content"},
      {425, "Too Early"},
      {426, "Upgrade Required"},
      {428, "Precondition Required"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
      {505, "HTTP Version Not Supported"},
  };
  for (const auto& [code, phrase] : kPhrases) {
    if (code == status) return phrase;
  }
  return "Unknown";
}

Response ErrorResponse(int status, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  // `replace`: a message quoting client bytes must not make dump() throw on bad UTF-8.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

bool WantsClose(const Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (!EqualsIgnoreCase(name, "connection")) continue;
    std::vector<std::string> tokens;
    SplitList(value, &tokens);
    for (const auto& t : tokens) {
      if (t == "close") return true;
    }
  }
  return false;
}

void AppendResponse(std::string* out, const Response& response, int minor_version, bool close,
                    bool head) {
  AppendStatusLine(out, response.status);
  AppendUserHeaders(out, response.headers);
  // RFC 9110 6.4.1: 1xx, 204 and 304 responses never carry content.
  bool no_body = response.status < 200 || response.status == 204 || response.status == 304;
  if (!no_body) {
    out->append("Content-Length: ");
    out->append(std::to_string(response.body.size()));
    out->append("\r\n");
  }
  if (close) {
    out->append("Connection: close\r\n");
  } else if (minor_version == 0) {
    out->append("Connection: keep-alive\r\n");
  }
  out->append("\r\n");
  if (!no_body && !head) out->append(response.body);
}

void AppendStreamHead(std::string* out, int status, const Headers& headers, int minor_version) {
  AppendStatusLine(out, status);
  AppendUserHeaders(out, headers);
  if (minor_version >= 1) out->append("Transfer-Encoding: chunked\r\n");
  out->append("Connection: close\r\n\r\n");
}

void AppendChunk(std::string* out, std::string_view bytes, bool chunked) {
  if (chunked) {
    char size[24];
    int n = snprintf(size, sizeof(size), "%zx\r\n", bytes.size());
    out->append(size, static_cast<size_t>(n));
  }
  out->append(bytes);
  if (chunked) out->append("\r\n");
}

}  // namespace redge::http::internal
