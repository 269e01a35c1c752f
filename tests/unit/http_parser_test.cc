// Tests of edge/http/http_parser.h and http_response.h: any split of the input parses the
// same, the error statuses of malformed input, keep-alive rules, response framing.
#include "edge/http/http_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "edge/http/http_response.h"

namespace redge::http {
namespace {

// Feeds `input` in pieces of `step` bytes the way a connection does.
internal::RequestParser::Result FeedInPieces(internal::RequestParser& parser,
                                             const std::string& input, size_t step,
                                             internal::ParsedRequest* out) {
  std::string buffer;
  size_t pos = 0;
  for (size_t off = 0; off < input.size(); off += step) {
    buffer.append(input.substr(off, step));
    size_t consumed = 0;
    auto r = parser.Parse(std::string_view(buffer).substr(pos), &consumed);
    pos += consumed;
    if (r == internal::RequestParser::Result::kDone) {
      *out = parser.Take();
      return r;
    }
    if (r == internal::RequestParser::Result::kError) return r;
  }
  return internal::RequestParser::Result::kNeedMore;
}

TEST(HttpParserTest, AnySplitOfTheInputParsesTheSame) {
  const std::string input =
      "\r\nPOST /v1/a%20b/c?x=1&y=a+b HTTP/1.1\r\nHost: h\r\nX-Mixed-Case:  v1 \r\n"
      "Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\n \r\n0\r\nTrailer: t\r\n\r\n";
  for (size_t step = 1; step <= input.size(); ++step) {
    internal::RequestParser parser(1024, 1024);
    internal::ParsedRequest req;
    ASSERT_EQ(FeedInPieces(parser, input, step, &req), internal::RequestParser::Result::kDone)
        << "step " << step;
    EXPECT_EQ(req.request.method, "POST");
    EXPECT_EQ(req.request.target, "/v1/a%20b/c?x=1&y=a+b");
    EXPECT_EQ(req.request.path, "/v1/a b/c");
    EXPECT_EQ(req.request.query, "x=1&y=a+b");
    EXPECT_EQ(req.request.body, "hello ");
    EXPECT_EQ(req.request.Header("X-MIXED-CASE"), "v1");
    EXPECT_EQ(req.request.headers[1].first, "x-mixed-case");
    EXPECT_EQ(req.request.Query("y"), "a b");
    EXPECT_TRUE(req.keep_alive);
  }
}

// A chunk-size line (size plus extensions) over 4 KiB is refused the same way whether its
// newline arrives in the read that carries it or in a later one (the fuzzer found the
// first accepted and the second refused).
TEST(HttpParserTest, LongChunkLineIsRefusedHoweverSplit) {
  const std::string input = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;" +
                            std::string(4200, 'a') + "\r\nx\r\n0\r\n\r\n";
  for (size_t step : {input.size(), size_t{64}, size_t{1000}}) {
    internal::RequestParser parser(1 << 16, 1 << 16);
    internal::ParsedRequest req;
    ASSERT_EQ(FeedInPieces(parser, input, step, &req), internal::RequestParser::Result::kError)
        << "step " << step;
    EXPECT_EQ(parser.error().status, 400);
    EXPECT_EQ(parser.error().message, "chunk size line too long");
  }
  // A long extension under the limit is accepted, in any split.
  const std::string ok = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;" +
                         std::string(4000, 'a') + "\r\nx\r\n0\r\n\r\n";
  for (size_t step : {ok.size(), size_t{64}}) {
    internal::RequestParser parser(1 << 16, 1 << 16);
    internal::ParsedRequest req;
    ASSERT_EQ(FeedInPieces(parser, ok, step, &req), internal::RequestParser::Result::kDone);
    EXPECT_EQ(req.request.body, "x");
  }
}

TEST(HttpParserTest, ErrorsAndKeepAliveRules) {
  struct Case {
    std::string input;
    int status;  // 0: parses
  };
  const Case cases[] = {
      {"GARBAGE\r\n\r\n", 400},
      {"GET /\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\n\r\n", 505},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400},
      {"GET /%zz HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX", 400},
      {"GET http://example.com/p?q=1 HTTP/1.1\r\nHost: h\r\n\r\n", 0},
  };
  for (const auto& c : cases) {
    internal::RequestParser parser(1024, 100);
    size_t consumed = 0;
    auto r = parser.Parse(c.input, &consumed);
    if (c.status == 0) {
      EXPECT_EQ(r, internal::RequestParser::Result::kDone) << c.input;
      EXPECT_EQ(parser.Take().request.path, "/p");
    } else {
      ASSERT_EQ(r, internal::RequestParser::Result::kError) << c.input;
      EXPECT_EQ(parser.error().status, c.status) << c.input;
    }
  }
  auto keep_alive = [](const std::string& input) {
    internal::RequestParser parser(1024, 100);
    size_t consumed = 0;
    EXPECT_EQ(parser.Parse(input, &consumed), internal::RequestParser::Result::kDone);
    return parser.Take().keep_alive;
  };
  EXPECT_TRUE(keep_alive("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(keep_alive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
}

TEST(HttpResponseTest, Framing) {
  Response r;
  r.status = 200;
  r.headers = {{"Content-Type", "text/plain"},
               {"Content-Length", "999"},          // the server's own value wins
               {"X-Split", "a\r\nInjected: yes"},  // dropped: would split the response
               {"Date", "Thu, 01 Jan 1970 00:00:00 GMT"}};
  r.body = "hi";
  std::string out;
  internal::AppendResponse(&out, r, 1, /*close=*/false, /*head=*/false);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 2\r\n\r\nhi");
  out.clear();
  internal::AppendResponse(&out, r, 0, /*close=*/false, /*head=*/true);
  EXPECT_TRUE(
      out.ends_with("Content-Length: 2\r\nConnection: keep-alive\r\n\r\n"));  // HEAD: no body
  out.clear();
  r.status = 204;
  internal::AppendResponse(&out, r, 1, /*close=*/true, /*head=*/false);
  EXPECT_EQ(out.find("Content-Length"), std::string::npos);
  EXPECT_NE(out.find("HTTP/1.1 204 No Content\r\n"), std::string::npos);
  EXPECT_TRUE(out.ends_with("Connection: close\r\n\r\n"));

  out.clear();
  internal::AppendChunk(&out, std::string(26, 'z'), /*chunked=*/true);
  EXPECT_EQ(out, "1a\r\n" + std::string(26, 'z') + "\r\n");
  Response e = internal::ErrorResponse(404, "not_found", "no \"route\"");
  EXPECT_EQ(e.body, R"({"error":{"code":"not_found","message":"no \"route\""}})");
  EXPECT_TRUE(internal::WantsClose({{"connection", "Keep-Alive, Close"}}));
}

}  // namespace
}  // namespace redge::http
