#include "edge/http/sse.h"

namespace redge::http {
namespace {

// A single-line field value: CR and LF become spaces.
void AppendOneLine(std::string* out, std::string_view value) {
  size_t start = out->size();
  out->append(value);
  for (size_t i = start; i < out->size(); ++i) {
    if ((*out)[i] == '\r' || (*out)[i] == '\n') (*out)[i] = ' ';
  }
}

}  // namespace

void AppendSseEvent(std::string* out, int64_t id, std::string_view event, std::string_view data) {
  if (id >= 0) out->append("id: ").append(std::to_string(id)).push_back('\n');
  if (!event.empty()) {
    out->append("event: ");
    AppendOneLine(out, event);
    out->push_back('\n');
  }
  // One `data:` line per line of `data`; CRLF, CR and LF all end a line (SSE spec 9.2.6).
  size_t pos = 0;
  while (true) {
    size_t end = data.find_first_of("\r\n", pos);
    out->append("data: ").append(data.substr(pos, end - pos)).push_back('\n');
    if (end == std::string_view::npos) break;
    pos = end + 1;
    if (data[end] == '\r' && pos < data.size() && data[pos] == '\n') ++pos;
  }
  out->push_back('\n');
}

void AppendSseComment(std::string* out, std::string_view text) {
  out->append(": ");
  AppendOneLine(out, text);
  out->append("\n\n");
}

void AppendSseRetry(std::string* out, int64_t ms) {
  out->append("retry: ").append(std::to_string(ms)).append("\n\n");
}

}  // namespace redge::http
