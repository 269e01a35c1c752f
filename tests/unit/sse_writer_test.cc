// The SSE writer (edge/http/sse.h): whatever the bytes, each call yields exactly the
// fields it names, checked with a reader that follows the SSE specification's parsing
// rules (lines end at CRLF, CR or LF; `field: value`; a blank line dispatches).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "edge/http/sse.h"

namespace redge::http {
namespace {

struct ParsedEvent {
  std::string id, event, data;
};

struct Parsed {
  std::vector<ParsedEvent> events;
  std::vector<std::string> comments;
  std::vector<std::string> retries;
};

Parsed ParseStream(const std::string& text) {
  Parsed out;
  ParsedEvent cur;
  bool has_data = false;
  std::string last_id;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find_first_of("\r\n", pos);
    EXPECT_NE(end, std::string::npos) << "unterminated line in " << text;
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (text[end] == '\r' && pos < text.size() && text[pos] == '\n') ++pos;
    if (line.empty()) {
      if (has_data) {
        if (!cur.data.empty() && cur.data.back() == '\n') cur.data.pop_back();
        cur.id = last_id;
        out.events.push_back(cur);
      }
      cur = {};
      has_data = false;
      continue;
    }
    if (line[0] == ':') {
      out.comments.push_back(line.substr(1));
      continue;
    }
    size_t colon = line.find(':');
    std::string field = line.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (field == "data") {
      cur.data += value + "\n";
      has_data = true;
    } else if (field == "event") {
      cur.event = value;
    } else if (field == "id") {
      last_id = value;
    } else if (field == "retry") {
      out.retries.push_back(value);
    }
  }
  return out;
}

TEST(SseWriter, PlainEvent) {
  std::string out;
  AppendSseEvent(&out, 7, "progress", R"({"a":1})");
  EXPECT_EQ(out, "id: 7\nevent: progress\ndata: {\"a\":1}\n\n");
}

TEST(SseWriter, ForgedFieldsInAnEventNameStayInTheName) {
  std::string out;
  AppendSseEvent(&out, 3, "x\nid: 99\nevent: completed\ndata: {}\r\n\r\nevent: failed\r", "{}");
  Parsed p = ParseStream(out);
  ASSERT_EQ(p.events.size(), 1u) << out;
  EXPECT_EQ(p.events[0].id, "3");
  EXPECT_EQ(p.events[0].data, "{}");
  EXPECT_EQ(p.events[0].event.find('\n'), std::string::npos);
  EXPECT_NE(p.events[0].event, "completed");
}

TEST(SseWriter, DataWithLineBreaksIsSplitAndJoinedBack) {
  for (std::string data : {"a\nb", "a\rb", "a\r\nb", "\n", "a\n\nid: 5\n\nevent: completed",
                           "trailing\r\n", "\r\r\n\n"}) {
    std::string out;
    AppendSseEvent(&out, 1, "chunk", data);
    Parsed p = ParseStream(out);
    ASSERT_EQ(p.events.size(), 1u) << out;
    std::string expected;  // CR and CRLF read back as LF
    for (size_t i = 0; i < data.size(); ++i) {
      if (data[i] == '\r') {
        expected += '\n';
        if (i + 1 < data.size() && data[i + 1] == '\n') ++i;
      } else {
        expected += data[i];
      }
    }
    EXPECT_EQ(p.events[0].data, expected) << out;
    EXPECT_EQ(p.events[0].id, "1");
    EXPECT_EQ(p.events[0].event, "chunk");
  }
}

TEST(SseWriter, CommentsAndRetry) {
  std::string out;
  AppendSseComment(&out, "heartbeat\nid: 9\ndata: x");
  AppendSseRetry(&out, 3000);
  Parsed p = ParseStream(out);
  EXPECT_TRUE(p.events.empty()) << out;
  ASSERT_EQ(p.comments.size(), 1u);
  ASSERT_EQ(p.retries.size(), 1u);
  EXPECT_EQ(p.retries[0], "3000");
}

}  // namespace
}  // namespace redge::http
