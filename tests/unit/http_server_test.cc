// Tests of edge/http/http_server.h over real sockets on an ephemeral port: keep-alive,
// pipelining, chunked bodies, 100-continue, the error statuses, routing, replies and
// streams from other threads, OnClose, Stop().
//
// Waits for server-side events use futures with a generous timeout; client sockets have
// a receive timeout, so a broken server fails a test instead of hanging it.
#include "edge/http/http_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "edge/net/event_loop.h"
#include "tests/unit/http_test_client.h"

namespace redge::http {
namespace {

using namespace std::chrono_literals;
using testing_http::Client;
using testing_http::ClientResponse;

constexpr auto kWait = 5s;

std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

std::string Post(const std::string& target, const std::string& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

HttpOptions TestOptions() {
  HttpOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.io_threads = 2;
  return o;
}

Response Text(std::string body, int status = 200) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/plain");
  r.body = std::move(body);
  return r;
}

// GET /hello and POST /echo (the body back, with the request's Content-Type).
void AddBasicRoutes(HttpServer& server) {
  server.Route("GET", "/hello",
               [](Request&, std::shared_ptr<Exchange> ex) { ex->Reply(Text("hello world")); });
  server.Route("POST", "/echo", [](Request& req, std::shared_ptr<Exchange> ex) {
    Response r;
    r.headers.emplace_back("Content-Type", std::string(req.Header("content-type").value_or("")));
    r.body = req.body;
    ex->Reply(std::move(r));
  });
}

void ExpectJsonError(const std::optional<ClientResponse>& r, int status, const std::string& code) {
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, status);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_NE(r->body.find("{\"error\":{\"code\":\"" + code + "\",\"message\":"), std::string::npos)
      << r->body;
}

// ---------------------------------------------------------------------------------------
// Server

TEST(HttpServerTest, GetAndPostJson) {
  HttpServer server(TestOptions());
  AddBasicRoutes(server);
  ASSERT_TRUE(server.Start().ok());
  ASSERT_NE(server.port(), 0);

  Client c(server.port());
  ASSERT_TRUE(c.Send(Get("/hello")));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
  EXPECT_EQ(r->Header("content-length"), "11");
  EXPECT_TRUE(r->Header("date"));
  EXPECT_FALSE(r->Header("connection"));

  ASSERT_TRUE(c.Send(Post("/echo", R"({"a":[1,2,3]})")));
  r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_EQ(r->body, R"({"a":[1,2,3]})");
  EXPECT_EQ(server.stats().connections_accepted.load(), 1);  // both on one connection
  EXPECT_EQ(server.stats().requests.load(), 2);
}

TEST(HttpServerTest, KeepAliveRulesAndHead) {
  HttpServer server(TestOptions());
  AddBasicRoutes(server);
  ASSERT_TRUE(server.Start().ok());

  Client c(server.port());
  ASSERT_TRUE(c.Send("HEAD /hello HTTP/1.1\r\nHost: h\r\n\r\n"));
  auto r = c.ReadResponse(/*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-length"), "11");
  // No body was sent: the next response follows the head directly.
  ASSERT_TRUE(c.Send(Get("/hello", "Connection: close\r\n")));
  r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello world");
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(c.WaitEof());

  Client old(server.port());
  ASSERT_TRUE(old.Send("GET /hello HTTP/1.0\r\n\r\n"));
  r = old.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello world");
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(old.WaitEof());

  Client old_keep(server.port());
  ASSERT_TRUE(old_keep.Send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  r = old_keep.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("connection"), "keep-alive");
  ASSERT_TRUE(old_keep.Send("GET /hello HTTP/1.0\r\n\r\n"));
  r = old_keep.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello world");
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrderOneAtATime) {
  HttpServer server(TestOptions());
  std::promise<std::shared_ptr<Exchange>> parked;
  server.Route("GET", "/park", [&](Request&, std::shared_ptr<Exchange> ex) {
    parked.set_value(ex);  // answered later, from the test thread
  });
  server.Route("GET", "/n/{n}", [](Request& req, std::shared_ptr<Exchange> ex) {
    ex->Reply(Text("n=" + req.params[0]));
  });
  ASSERT_TRUE(server.Start().ok());

  Client c(server.port());
  ASSERT_TRUE(c.Send(Get("/park") + Get("/n/1") + Get("/n/2")));
  auto future = parked.get_future();
  ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
  // The requests behind the parked one are not even parsed yet.
  EXPECT_EQ(server.stats().requests.load(), 1);
  future.get()->Reply(Text("parked"));
  for (const char* expected : {"parked", "n=1", "n=2"}) {
    auto r = c.ReadResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, expected);
  }
}

TEST(HttpServerTest, ChunkedRequestBody) {
  HttpServer server(TestOptions());
  AddBasicRoutes(server);
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port());
  ASSERT_TRUE(
      c.Send("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Type: "
             "text/plain\r\n\r\n"
             "7\r\nHello, \r\n5;name=value\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Hello, world");
}

TEST(HttpServerTest, ExpectContinue) {
  HttpServer server(TestOptions());
  AddBasicRoutes(server);
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port());
  ASSERT_TRUE(
      c.Send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
             "Content-Type: text/plain\r\n\r\n"));
  EXPECT_EQ(c.ReadExactly(25), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.Send("12345"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "12345");
}

TEST(HttpServerTest, BodyOverMaxBodyIs413) {
  HttpOptions o = TestOptions();
  o.max_body = 1024;
  HttpServer server(o);
  AddBasicRoutes(server);
  ASSERT_TRUE(server.Start().ok());
  {
    // Refused from the header alone: no 100 Continue, no body read.
    Client c(server.port());
    ASSERT_TRUE(c.Send(
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r);
    ExpectJsonError(r, 413, "payload_too_large");
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(c.WaitEof());
  }
  {
    // A client that sends its whole body anyway still gets to read the 413.
    Client c(server.port());
    ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n" +
                       std::string(5000, 'x')));
    ExpectJsonError(c.ReadResponse(), 413, "payload_too_large");
  }
  {
    Client c(server.port());
    std::string chunk(600, 'y');
    ASSERT_TRUE(
        c.Send("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" +
               chunk + "\r\n258\r\n" + chunk + "\r\n"));
    ExpectJsonError(c.ReadResponse(), 413, "payload_too_large");
    EXPECT_TRUE(c.WaitEof());
  }
  {
    Client c(server.port());  // exactly max_body is fine
    ASSERT_TRUE(c.Send(Post("/echo", std::string(1024, 'z'))));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body.size(), 1024u);
  }
}

TEST(HttpServerTest, HeadersOverLimitAre431) {
  HttpOptions o = TestOptions();
  o.max_header_bytes = 1024;
  HttpServer server(o);
  AddBasicRoutes(server);
  ASSERT_TRUE(server.Start().ok());
  {
    Client c(server.port());
    ASSERT_TRUE(c.Send(Get("/hello", "X-Big: " + std::string(2000, 'a') + "\r\n")));
    ExpectJsonError(c.ReadResponse(), 431, "request_header_fields_too_large");
    EXPECT_TRUE(c.WaitEof());
  }
  {
    // A head that never ends is refused once it passes the limit, not buffered forever.
    Client c(server.port());
    ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nX-Endless: " + std::string(4000, 'a')));
    ExpectJsonError(c.ReadResponse(), 431, "request_header_fields_too_large");
  }
}

TEST(HttpServerTest, MalformedRequestsGetJsonErrorsAndClose) {
  HttpServer server(TestOptions());
  AddBasicRoutes(server);
  ASSERT_TRUE(server.Start().ok());
  struct Case {
    std::string input;
    int status;
    std::string code;
  };
  const Case cases[] = {
      {"GARBAGE\r\n\r\n", 400, "bad_request"},
      {"\x01\x02\x03 nonsense here\r\n\r\n", 400, "bad_request"},
      {"GET /hello HTTP/2.0\r\n\r\n", 505, "http_version_not_supported"},
      {"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not_implemented"},
      // Request smuggling shapes: a length two parties could read differently is refused.
      {"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n",
       400, "bad_request"},
      {"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400,
       "bad_request"},
      {"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\nabcd", 400, "bad_request"},
      {"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc", 400, "bad_request"},
      {"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 501,
       "not_implemented"},
      {"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
       "bad_request"},
      {"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 400,
       "bad_request"},
      {"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX", 400,
       "bad_request"},
      {"POST /echo HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400, "bad_request"},
  };
  for (const auto& c : cases) {
    Client client(server.port());
    ASSERT_TRUE(client.Send(c.input));
    auto r = client.ReadResponse();
    ASSERT_TRUE(r) << c.input;
    ExpectJsonError(r, c.status, c.code);
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(client.WaitEof()) << c.input;
  }
}

TEST(HttpServerTest, NotFoundAndMethodNotAllowed) {
  HttpServer server(TestOptions());
  AddBasicRoutes(server);
  server.Route("DELETE", "/hello",
               [](Request&, std::shared_ptr<Exchange> ex) { ex->Reply(Text("deleted")); });
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.Send(Get("/nope")));
  ExpectJsonError(c.ReadResponse(), 404, "not_found");
  ASSERT_TRUE(c.Send(Post("/hello", "{}")));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  ExpectJsonError(r, 405, "method_not_allowed");
  EXPECT_EQ(r->Header("allow"), "GET, DELETE, HEAD");
  // Neither closes the connection.
  ASSERT_TRUE(c.Send("DELETE /hello HTTP/1.1\r\nHost: h\r\n\r\n"));
  r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "deleted");
}

TEST(HttpServerTest, RouteParamsQueryAndFilter) {
  HttpServer server(TestOptions());
  std::promise<Request> seen;
  server.Route("GET", "/v1/jobs/{id}/events", [&](Request& req, std::shared_ptr<Exchange> ex) {
    seen.set_value(req);
    ex->Reply(Text("ok"));
  });
  server.Route("GET", "/v1/{a}/{b}", [](Request& req, std::shared_ptr<Exchange> ex) {
    ex->Reply(Text(req.params[0] + "|" + req.params[1]));
  });
  server.SetFilter([](Request& req) -> std::optional<Response> {
    if (req.Header("authorization") != "Bearer t") return Text("no", 401);
    req.headers.emplace_back("x-filtered", "yes");
    return std::nullopt;
  });
  ASSERT_TRUE(server.Start().ok());

  Client c(server.port());
  ASSERT_TRUE(
      c.Send(Get("/v1/jobs/abc%20d/events?after=3&x=a+b%21&flag", "Authorization: Bearer t\r\n")));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto future = seen.get_future();
  ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
  Request req = future.get();
  ASSERT_EQ(req.params.size(), 1u);
  EXPECT_EQ(req.params[0], "abc d");
  EXPECT_EQ(req.path, "/v1/jobs/abc d/events");
  EXPECT_EQ(req.target, "/v1/jobs/abc%20d/events?after=3&x=a+b%21&flag");
  EXPECT_EQ(req.Query("after"), "3");
  EXPECT_EQ(req.Query("x"), "a b!");
  EXPECT_EQ(req.Query("flag"), "");
  EXPECT_FALSE(req.Query("missing"));
  EXPECT_EQ(req.Header("X-Filtered"), "yes");
  EXPECT_NE(req.peer.find("127.0.0.1:"), std::string::npos);

  ASSERT_TRUE(c.Send(Get("/v1/x/y", "Authorization: Bearer t\r\n")));
  r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "x|y");
  ASSERT_TRUE(c.Send(Get("/v1/jobs//events", "Authorization: Bearer t\r\n")));
  ExpectJsonError(c.ReadResponse(), 404, "not_found");  // {id} needs a non-empty segment
  ASSERT_TRUE(c.Send(Get("/v1/x/y")));
  r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
}

TEST(HttpServerTest, DelayedReplyFromAnotherThread) {
  HttpServer server(TestOptions());
  std::mutex mu;
  std::vector<std::promise<std::shared_ptr<Exchange>>> parked(3);
  int next = 0;
  server.Route("GET", "/later", [&](Request&, std::shared_ptr<Exchange> ex) {
    std::lock_guard lock(mu);
    parked[next++].set_value(ex);
  });
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send(Get("/later")));
    auto future = parked[i].get_future();
    ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
    std::thread replier([ex = future.get()] {
      EXPECT_FALSE(ex->loop().InLoopThread());
      ex->Reply(Text("from a thread"));
      ex->Reply(Text("ignored"));  // only the first answer counts
    });
    auto r = c.ReadResponse();
    replier.join();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "from a thread");
  }
}

TEST(HttpServerTest, StreamFramesEachWriteAsOneChunk) {
  HttpServer server(TestOptions());
  std::promise<std::shared_ptr<Exchange>> started;
  server.Route("GET", "/stream", [&](Request&, std::shared_ptr<Exchange> ex) {
    ex->StartStream(200, {{"Content-Type", "text/event-stream"}});
    started.set_value(ex);
  });
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.Send(Get("/stream")));
  auto future = started.get_future();
  ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
  std::shared_ptr<Exchange> ex = future.get();
  // Written from this thread, not the loop's.
  EXPECT_TRUE(ex->Write("a"));
  EXPECT_TRUE(ex->Write("bc"));
  EXPECT_TRUE(ex->Write(""));  // ignored: an empty chunk would end the stream
  EXPECT_TRUE(ex->Write("def"));
  ex->End();
  EXPECT_FALSE(ex->Write("x"));
  std::string raw = c.ReadUntilEof();  // the server closes after the stream
  size_t body = raw.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  std::string head = raw.substr(0, body);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(head.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(head.find("Connection: close"), std::string::npos);
  EXPECT_EQ(raw.substr(body + 4), "1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n");
}

// Starts a stream on GET /stream and hands the exchange to the test; OnClose fulfils
// `closed` (recording whether it ran on the exchange's loop thread).
struct StreamProbe {
  std::mutex mu;
  std::vector<std::shared_ptr<Exchange>> exchanges;
  std::vector<std::promise<bool>> closed{8};
  std::promise<void> started[8];
  int next = 0;

  void Install(HttpServer& server) {
    server.Route("GET", "/stream", [this](Request&, std::shared_ptr<Exchange> ex) {
      std::lock_guard lock(mu);
      int i = next++;
      ex->StartStream(200, {{"Content-Type", "text/event-stream"}});
      ex->Write("hello\n\n");
      Exchange* raw = ex.get();
      ex->OnClose([this, i, raw] { closed[i].set_value(raw->loop().InLoopThread()); });
      exchanges.push_back(ex);
      started[i].set_value();
    });
  }
};

TEST(HttpServerTest, OnCloseFiresPromptlyWhenTheClientLeavesMidStream) {
  HttpServer server(TestOptions());
  StreamProbe probe;
  probe.Install(server);
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.Send(Get("/stream")));
  auto r = c.ReadExactly(10);
  ASSERT_EQ(r, "HTTP/1.1 2");
  ASSERT_EQ(probe.started[0].get_future().wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(server.stats().open_streams.load(), 1);
  auto closed = probe.closed[0].get_future();
  c.Close();
  ASSERT_EQ(closed.wait_for(kWait), std::future_status::ready);
  EXPECT_TRUE(closed.get());  // on the loop thread
  std::shared_ptr<Exchange> ex = probe.exchanges[0];
  EXPECT_TRUE(ex->closed());
  EXPECT_FALSE(ex->Write("more"));
  EXPECT_EQ(server.stats().open_streams.load(), 0);
  // Registered after the fact: runs at once (on the loop).
  std::promise<void> late;
  ex->OnClose([&late] { late.set_value(); });
  EXPECT_EQ(late.get_future().wait_for(kWait), std::future_status::ready);
}

TEST(HttpServerTest, StreamOverBufferLimitIsClosedWhenTheClientNeverReads) {
  HttpOptions o = TestOptions();
  o.max_stream_buffer = 64 << 10;
  HttpServer server(o);
  StreamProbe probe;
  probe.Install(server);
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port(), /*rcvbuf=*/4096);
  ASSERT_TRUE(c.Send(Get("/stream")));
  ASSERT_EQ(probe.started[0].get_future().wait_for(kWait), std::future_status::ready);
  std::shared_ptr<Exchange> ex = probe.exchanges[0];
  const std::string chunk(16 << 10, 'x');
  size_t written = 0;
  // Kernel buffers absorb a few MB at most; 256 MB means the limit never triggered.
  while (written < (256u << 20) && ex->Write(chunk)) written += chunk.size();
  EXPECT_LT(written, 256u << 20);
  auto closed = probe.closed[0].get_future();
  ASSERT_EQ(closed.wait_for(kWait), std::future_status::ready);
  EXPECT_TRUE(ex->closed());
  EXPECT_FALSE(ex->Write("x"));
}

TEST(HttpServerTest, StopClosesOpenStreamsAndRunsOnClose) {
  auto server = std::make_unique<HttpServer>(TestOptions());
  StreamProbe probe;
  probe.Install(*server);
  ASSERT_TRUE(server->Start().ok());
  Client a(server->port()), b(server->port());
  ASSERT_TRUE(a.Send(Get("/stream")));
  ASSERT_TRUE(b.Send(Get("/stream")));
  ASSERT_EQ(probe.started[0].get_future().wait_for(kWait), std::future_status::ready);
  ASSERT_EQ(probe.started[1].get_future().wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(server->stats().open_streams.load(), 2);
  server->Stop();
  // OnClose ran on the loops before Stop() returned.
  for (int i = 0; i < 2; ++i) {
    auto closed = probe.closed[i].get_future();
    ASSERT_EQ(closed.wait_for(0s), std::future_status::ready);
    EXPECT_TRUE(closed.get());
  }
  EXPECT_EQ(server->stats().open_streams.load(), 0);
  EXPECT_EQ(server->stats().open_connections.load(), 0);
  server->Stop();  // twice is fine
  EXPECT_TRUE(a.WaitEof());
  server.reset();
  // Exchanges kept past the server are inert.
  for (auto& ex : probe.exchanges) {
    EXPECT_TRUE(ex->closed());
    EXPECT_FALSE(ex->Write("x"));
    ex->End();
    ex->Reply(Text("late"));
  }
}

TEST(HttpServerTest, StopRunsOnCloseForParkedReplies) {
  HttpServer server(TestOptions());
  std::promise<void> parked, closed;
  std::shared_ptr<Exchange> kept;
  server.Route("GET", "/park", [&](Request&, std::shared_ptr<Exchange> ex) {
    kept = ex;
    ex->OnClose([&closed] { closed.set_value(); });
    parked.set_value();
  });
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.Send(Get("/park")));
  ASSERT_EQ(parked.get_future().wait_for(kWait), std::future_status::ready);
  server.Stop();
  EXPECT_EQ(closed.get_future().wait_for(0s), std::future_status::ready);
  kept->Reply(Text("too late"));  // harmless
  EXPECT_TRUE(c.WaitEof());
}

TEST(HttpServerTest, MaxConnectionsAnswers503) {
  HttpOptions o = TestOptions();
  o.max_connections = 1;
  HttpServer server(o);
  AddBasicRoutes(server);
  ASSERT_TRUE(server.Start().ok());
  Client first(server.port());
  ASSERT_TRUE(first.Send(Get("/hello")));
  ASSERT_TRUE(first.ReadResponse());
  Client second(server.port());
  ExpectJsonError(second.ReadResponse(), 503, "unavailable");
  EXPECT_TRUE(second.WaitEof());
  EXPECT_EQ(server.stats().rejected_connections.load(), 1);
  EXPECT_EQ(server.stats().open_connections.load(), 1);
}

TEST(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  HttpOptions o = TestOptions();
  o.keep_alive_idle_seconds = 1;
  HttpServer server(o);
  AddBasicRoutes(server);
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.Send(Get("/hello")));
  ASSERT_TRUE(c.ReadResponse());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.WaitEof());
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 3s);
}

}  // namespace
}  // namespace redge::http
