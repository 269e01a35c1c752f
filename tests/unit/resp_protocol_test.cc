// Unit tests of edge/resp/protocol.h: the request parser against Redis's
// processMultibulkBuffer / processInlineBuffer semantics and exact error texts (any split
// of the input gives the same result), its limits, and the byte-exact RESP2 / RESP3 reply
// encodings of ReplyWriter.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edge/resp/protocol.h"

namespace redge::resp {
namespace {

using Argv = std::vector<std::string>;
using State = RequestParser::State;

// Everything a parser produced from one input: the commands in order, then either
// "still waiting" or the error that ended the connection.
struct Outcome {
  std::vector<Argv> commands;
  bool failed = false;
  std::string error;

  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << "{";
  for (const Argv& argv : o.commands) {
    os << "[";
    for (const std::string& a : argv) os << '"' << a << "\" ";
    os << "] ";
  }
  if (o.failed) os << "error: " << o.error;
  return os << "}";
}

// Drains every ready command; false once the parser failed.
bool Drain(RequestParser* parser, Outcome* out) {
  Argv argv;
  for (;;) {
    switch (parser->Next(&argv)) {
      case State::kCommand:
        out->commands.push_back(argv);
        break;
      case State::kNeedMore:
        return true;
      case State::kError:
        out->failed = true;
        out->error = parser->error();
        return false;
    }
  }
}

// Feeds `input` cut at the given increasing offsets, draining after each piece.
Outcome ParseCuts(std::string_view input, const std::vector<size_t>& cuts,
                  ParserLimits limits = {}) {
  RequestParser parser(limits);
  Outcome out;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    parser.Feed(input.data() + from, end - from);
    from = end;
    if (!Drain(&parser, &out)) break;
  }
  return out;
}

Outcome ParseWhole(std::string_view input, ParserLimits limits = {}) {
  return ParseCuts(input, {}, limits);
}

Outcome ParseBytewise(std::string_view input, ParserLimits limits = {}) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
  return ParseCuts(input, cuts, limits);
}

Outcome Commands(std::vector<Argv> commands) { return Outcome{std::move(commands), false, ""}; }

Outcome Failure(std::vector<Argv> commands, std::string error) {
  return Outcome{std::move(commands), true, std::move(error)};
}

// Whole, byte by byte, and cut once at every offset: all must give `expected`.
void ExpectAllSplits(std::string_view input, const Outcome& expected, ParserLimits limits = {}) {
  EXPECT_EQ(ParseWhole(input, limits), expected) << "whole input";
  EXPECT_EQ(ParseBytewise(input, limits), expected) << "byte by byte";
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    ASSERT_EQ(ParseCuts(input, {cut}, limits), expected) << "cut at " << cut;
  }
}

std::string Multibulk(const Argv& argv) {
  std::string s = "*" + std::to_string(argv.size()) + "\r\n";
  for (const std::string& a : argv) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

constexpr char kInvalidMultibulk[] = "ERR Protocol error: invalid multibulk length";
constexpr char kInvalidBulk[] = "ERR Protocol error: invalid bulk length";
constexpr char kTooBigMbulk[] = "ERR Protocol error: too big mbulk count string";
constexpr char kTooBigBulk[] = "ERR Protocol error: too big bulk count string";
constexpr char kTooBigInline[] = "ERR Protocol error: too big inline request";
constexpr char kUnbalanced[] = "ERR Protocol error: unbalanced quotes in request";
constexpr char kQueryBuffer[] = "ERR Protocol error: query buffer limit exceeded";

// ---------------------------------------------------------------------------------------
// Parser: well-formed input

TEST(RespParserTest, MultibulkCommand) {
  ExpectAllSplits("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
                  Commands({{"SET", "key", "value"}}));
}

TEST(RespParserTest, BulkIsBinarySafe) {
  const std::string value("a\r\nb\0c$*\n", 9);
  ExpectAllSplits(Multibulk({"SET", "k", value}), Commands({{"SET", "k", value}}));
}

TEST(RespParserTest, EmptyBulkArgument) {
  ExpectAllSplits("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", Commands({{"ECHO", ""}}));
}

TEST(RespParserTest, InlineCommands) {
  ExpectAllSplits("PING\r\n", Commands({{"PING"}}));
  ExpectAllSplits("SET a b\n", Commands({{"SET", "a", "b"}}));  // LF alone ends a line
  ExpectAllSplits("  GET \t  key  \r\n", Commands({{"GET", "key"}}));
  ExpectAllSplits("\x0bGET x\r\n", Commands({{"GET", "x"}}));  // isspace() skips \v
}

TEST(RespParserTest, EmptyCommandsAreSkipped) {
  ExpectAllSplits("\r\n\n   \r\n\t\n*0\r\n*-1\r\n*-7\r\nPING\r\n", Commands({{"PING"}}));
}

TEST(RespParserTest, TrailingBytesAreSkippedUncheckedLikeRedis) {
  // Redis skips the two bytes after "*N\r", "$N\r" and a payload without looking at them.
  ExpectAllSplits("*1\rX$4\rXPING\rX", Commands({{"PING"}}));
  ExpectAllSplits("*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", Commands({{"PING"}, {"PING"}}));
}

TEST(RespParserTest, PipelineIdenticalAtEveryCut) {
  const std::string input = Multibulk({"SET", "k", "v\r\n"}) + "GET k\r\n" +
                            Multibulk({"LPUSH", "list", "a", "b", std::string(40, 'z')}) +
                            "\r\n*0\r\n" + "ECHO \"quoted \\x41\" 'single'\n" +
                            Multibulk({"DEL", "k"}) + "*-1\r\n" + "PING\r\n";
  const Outcome expected = Commands({{"SET", "k", "v\r\n"},
                                     {"GET", "k"},
                                     {"LPUSH", "list", "a", "b", std::string(40, 'z')},
                                     {"ECHO", "quoted A", "single"},
                                     {"DEL", "k"},
                                     {"PING"}});
  ExpectAllSplits(input, expected);
  // Two cuts at every pair of offsets.
  for (size_t a = 0; a <= input.size(); a += 3) {
    for (size_t b = a; b <= input.size(); b += 5) {
      ASSERT_EQ(ParseCuts(input, {a, b}), expected) << a << "," << b;
    }
  }
  // Random chunkings.
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<size_t> cuts;
    size_t at = 0;
    while (true) {
      at += 1 + rng() % 12;
      if (at >= input.size()) break;
      cuts.push_back(at);
    }
    ASSERT_EQ(ParseCuts(input, cuts), expected) << "round " << round;
  }
}

TEST(RespParserTest, ArgvUntouchedWhileWaiting) {
  RequestParser parser;
  Argv argv = {"previous"};
  parser.Feed("*2\r\n$3\r\nGET\r\n", 13);
  EXPECT_EQ(parser.Next(&argv), State::kNeedMore);
  EXPECT_EQ(argv, Argv({"previous"}));
  parser.Feed("$1\r\nk\r\n", 7);
  EXPECT_EQ(parser.Next(&argv), State::kCommand);
  EXPECT_EQ(argv, Argv({"GET", "k"}));
  EXPECT_EQ(parser.Next(&argv), State::kNeedMore);
  EXPECT_EQ(parser.buffered(), 0u);
}

TEST(RespParserTest, BufferedCountsUnconsumedBytes) {
  RequestParser parser;
  parser.Feed("PING\r\nPI", 8);
  Argv argv;
  EXPECT_EQ(parser.buffered(), 8u);
  EXPECT_EQ(parser.Next(&argv), State::kCommand);
  EXPECT_EQ(parser.buffered(), 2u);
  EXPECT_EQ(parser.Next(&argv), State::kNeedMore);
  EXPECT_EQ(parser.buffered(), 2u);
  parser.Feed("NG\r\n", 4);
  EXPECT_EQ(parser.Next(&argv), State::kCommand);
  EXPECT_EQ(argv, Argv({"PING"}));
  EXPECT_EQ(parser.buffered(), 0u);
}

TEST(RespParserTest, LongPipelineOfSmallCommands) {
  // Many commands in one feed, drained while more arrive (exercises buffer compaction).
  RequestParser parser;
  const std::string cmd = Multibulk({"INCR", "counter"});
  Argv argv;
  int seen = 0;
  for (int batch = 0; batch < 200; ++batch) {
    std::string chunk;
    for (int i = 0; i < 500; ++i) chunk += cmd;
    // Deliver with a ragged edge so a partial command stays behind each time.
    const size_t keep = static_cast<size_t>(batch % 7);
    parser.Feed(chunk.data(), chunk.size() - keep);
    State s;
    while ((s = parser.Next(&argv)) == State::kCommand) {
      ASSERT_EQ(argv, Argv({"INCR", "counter"}));
      ++seen;
    }
    ASSERT_EQ(s, State::kNeedMore);
    parser.Feed(chunk.data() + chunk.size() - keep, keep);
  }
  while (parser.Next(&argv) == State::kCommand) ++seen;
  EXPECT_EQ(seen, 200 * 500);
  EXPECT_EQ(parser.buffered(), 0u);
}

// ---------------------------------------------------------------------------------------
// Parser: inline splitting (sdssplitargs)

struct InlineCase {
  std::string line;
  Argv argv;  // empty with `unbalanced`: the line is rejected
  bool unbalanced = false;
};

TEST(RespParserTest, InlineQuoting) {
  const std::vector<InlineCase> cases = {
      {R"(SET "a b" c)", {"SET", "a b", "c"}},
      {R"(ECHO "\x41\x4a\x6b\xfF")", {"ECHO", "AJk\xff"}},
      {R"(ECHO "\x00")", {"ECHO", std::string("\0", 1)}},
      {R"(ECHO "\xZZ")", {"ECHO", "xZZ"}},  // not hex: \x is just 'x'
      {R"(ECHO "\x4")", {"ECHO", "x4"}},
      {R"(ECHO "a\nb\rc\td\be\af\"g\\h\qi")", {"ECHO", "a\nb\rc\td\be\af\"g\\hqi"}},
      {R"(ECHO 'it\'s')", {"ECHO", "it's"}},
      {R"(ECHO 'a\nb\"')", {"ECHO", "a\\nb\\\""}},  // single quotes: only \' escapes
      {R"(ECHO 'a"b')", {"ECHO", "a\"b"}},
      {R"(ECHO "a'b")", {"ECHO", "a'b"}},
      {R"(ECHO foo"bar baz")", {"ECHO", "foobar baz"}},  // a quote may open mid-token
      {R"(ECHO "")", {"ECHO", ""}},
      {R"(ECHO '')", {"ECHO", ""}},
      {"ECHO \"a\"\tb", {"ECHO", "a", "b"}},  // closing quote then any isspace()
      {"ECHO \"a\"\x0b"
       "b",
       {"ECHO", "a", "b"}},
      {"ECHO a\x0b"
       "b",
       {"ECHO",
        "a\x0b"
        "b"}},                              // \v separates only between tokens
      {"ECHO a\rb", {"ECHO", "a", "b"}},    // a lone CR separates tokens
      {"ECHO \"a\rb\"", {"ECHO", "a\rb"}},  // but is kept inside quotes
      {"ECHO \xc3\xa9t\xc3\xa9", {"ECHO", "\xc3\xa9t\xc3\xa9"}},
      {R"(ECHO "a"b)", {}, true},  // closing quote must be followed by a space or the end
      {R"(ECHO 'a'b)", {}, true},
      {R"(ECHO "abc)", {}, true},
      {R"(ECHO 'abc)", {}, true},
      {R"(ECHO "abc\")", {}, true},
      {R"(ECHO "abc\)", {}, true},
      {R"(")", {}, true},
  };
  for (const InlineCase& c : cases) {
    SCOPED_TRACE(c.line);
    for (const char* eol : {"\r\n", "\n"}) {
      const std::string input = c.line + eol + "PING\r\n";
      if (c.unbalanced) {
        ExpectAllSplits(input, Failure({}, kUnbalanced));
      } else {
        ExpectAllSplits(input, Commands({c.argv, {"PING"}}));
      }
    }
  }
}

TEST(RespParserTest, InlineOnlyOneCarriageReturnIsStripped) {
  ExpectAllSplits("ECHO \"a\r\r\n", Failure({}, kUnbalanced));
  ExpectAllSplits("PING\r\r\n", Commands({{"PING"}}));
}

// ---------------------------------------------------------------------------------------
// Parser: protocol errors (Redis's texts; the commands before the error still come out)

struct ErrorCase {
  std::string input;
  std::string error;
};

TEST(RespParserTest, ProtocolErrors) {
  const std::vector<ErrorCase> cases = {
      {"*abc\r\n", kInvalidMultibulk},
      {"*1x\r\n", kInvalidMultibulk},
      {"*\r\n", kInvalidMultibulk},
      {"*01\r\n", kInvalidMultibulk},
      {"*+1\r\n", kInvalidMultibulk},
      {"*-0\r\n", kInvalidMultibulk},
      {"* 1\r\n", kInvalidMultibulk},
      {"*99999999999999999999\r\n", kInvalidMultibulk},
      {"*9223372036854775807\r\n", kInvalidMultibulk},
      {"*1048577\r\n", kInvalidMultibulk},        // default max_multibulk_len is 1024*1024
      {"*1\n$4\r\nPING\r\n", kInvalidMultibulk},  // "1\n$4" up to the first CR
      {"*1\r\nx3\r\nfoo\r\n", "ERR Protocol error: expected '$', got 'x'"},
      {"*2\r\n$4\r\nECHO\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'"},
      {"*1\r\n\xff\r\n", "ERR Protocol error: expected '$', got '\xff'"},
      {"*1\r\n\r\n", "ERR Protocol error: expected '$', got ' '"},  // CR shown as space
      {"*1\r\n\n\r\n", "ERR Protocol error: expected '$', got ' '"},
      {"*1\r\n$-1\r\n", kInvalidBulk},
      {"*1\r\n$abc\r\n", kInvalidBulk},
      {"*1\r\n$\r\n", kInvalidBulk},
      {"*1\r\n$01\r\nx\r\n", kInvalidBulk},
      {"*1\r\n$+1\r\nx\r\n", kInvalidBulk},
      {"*1\r\n$536870913\r\n", kInvalidBulk},  // default max_bulk_len is 512 MB
      {"*1\r\n$99999999999999999999\r\n", kInvalidBulk},
      {"ECHO \"x\r\n", kUnbalanced},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.input);
    ExpectAllSplits(c.input, Failure({}, c.error));
    ExpectAllSplits("PING\r\n" + c.input + "PING\r\n", Failure({{"PING"}}, c.error));
  }
}

TEST(RespParserTest, ErrorIsStickyAndReleasesTheBuffer) {
  RequestParser parser;
  const std::string input = "*x\r\nPING\r\n";
  parser.Feed(input.data(), input.size());
  Argv argv;
  EXPECT_EQ(parser.Next(&argv), State::kError);
  EXPECT_EQ(parser.error(), kInvalidMultibulk);
  EXPECT_EQ(parser.buffered(), 0u);
  parser.Feed("PING\r\n", 6);
  EXPECT_EQ(parser.buffered(), 0u);
  EXPECT_EQ(parser.Next(&argv), State::kError);
  EXPECT_EQ(parser.error(), kInvalidMultibulk);
}

TEST(RespParserTest, NulBeforeTheTerminatorStallsLikeStrchr) {
  // Redis searches line ends with strchr(): a NUL hides them, so the request waits until
  // the size limit turns it into an error.
  ParserLimits limits;
  limits.max_inline_len = 32;
  const std::string inline_nul("PING\0\r\nPING\r\n", 12);
  ExpectAllSplits(inline_nul, Commands({}), limits);
  ExpectAllSplits(inline_nul + std::string(20, 'x'), Commands({}), limits);  // 32 bytes
  ExpectAllSplits(inline_nul + std::string(21, 'x'), Failure({}, kTooBigInline), limits);
  const std::string mbulk_nul("*1\0\r\n$4\r\nPING\r\n", 15);
  ExpectAllSplits(mbulk_nul, Commands({}), limits);
  ExpectAllSplits(mbulk_nul + std::string(20, 'x'), Failure({}, kTooBigMbulk), limits);
  const std::string bulk_nul("*1\r\n$4\0\r\nPING\r\n", 15);
  ExpectAllSplits(bulk_nul + std::string(40, 'x'), Failure({}, kTooBigBulk), limits);
  // Inside a bulk payload a NUL is just data.
  ExpectAllSplits(Multibulk({std::string("a\0b", 3)}), Commands({{std::string("a\0b", 3)}}),
                  limits);
}

// ---------------------------------------------------------------------------------------
// Parser: limits

TEST(RespParserTest, BulkLengthLimit) {
  ParserLimits limits;
  limits.max_bulk_len = 10;
  ExpectAllSplits(Multibulk({"SET", "k", std::string(10, 'v')}),
                  Commands({{"SET", "k", std::string(10, 'v')}}), limits);
  ExpectAllSplits("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$11\r\n", Failure({}, kInvalidBulk), limits);
}

TEST(RespParserTest, MultibulkCountLimit) {
  ParserLimits limits;
  limits.max_multibulk_len = 3;
  ExpectAllSplits(Multibulk({"a", "b", "c"}), Commands({{"a", "b", "c"}}), limits);
  ExpectAllSplits("*4\r\n", Failure({}, kInvalidMultibulk), limits);
}

TEST(RespParserTest, InlineLengthLimit) {
  ParserLimits limits;
  limits.max_inline_len = 16;
  // A terminator within the first max_inline_len + 1 bytes is seen (Redis rejects a
  // request once more than max_inline_len bytes are buffered without one).
  ExpectAllSplits(std::string(15, 'x') + "\r\n", Commands({{std::string(15, 'x')}}), limits);
  ExpectAllSplits(std::string(16, 'x') + "\n", Commands({{std::string(16, 'x')}}), limits);
  ExpectAllSplits(std::string(16, 'x') + "\r\n", Failure({}, kTooBigInline), limits);
  ExpectAllSplits(std::string(16, 'x'), Commands({}), limits);
  ExpectAllSplits(std::string(17, 'x'), Failure({}, kTooBigInline), limits);
  // The limit is per request, not per pipeline.
  std::string pipeline;
  std::vector<Argv> expected;
  for (int i = 0; i < 20; ++i) {
    pipeline += "GET key" + std::to_string(i) + "\r\n";
    expected.push_back({"GET", "key" + std::to_string(i)});
  }
  ExpectAllSplits(pipeline, Commands(expected), limits);
}

TEST(RespParserTest, CountStringLimits) {
  ParserLimits limits;
  limits.max_inline_len = 16;
  ExpectAllSplits("*" + std::string(15, '1'), Commands({}), limits);
  ExpectAllSplits("*" + std::string(16, '1'), Failure({}, kTooBigMbulk), limits);
  ExpectAllSplits("*" + std::string(16, '1') + "\r\n", Failure({}, kTooBigMbulk), limits);
  ExpectAllSplits("*" + std::string(15, '1') + "\r\n", Failure({}, kInvalidMultibulk), limits);
  ExpectAllSplits("*1\r\n$" + std::string(15, '1'), Commands({}), limits);
  ExpectAllSplits("*1\r\n$" + std::string(16, '1'), Failure({}, kTooBigBulk), limits);
  ExpectAllSplits("*1\r\n$" + std::string(15, '1') + "\r\n", Failure({}, kInvalidBulk), limits);
}

TEST(RespParserTest, DefaultCountStringLimitIs64KiB) {
  EXPECT_EQ(ParseWhole("*" + std::string(65535, '1')), Commands({}));
  EXPECT_EQ(ParseWhole("*" + std::string(65536, '1')), Failure({}, kTooBigMbulk));
  EXPECT_EQ(ParseWhole("*1\r\n$" + std::string(65535, '1')), Commands({}));
  EXPECT_EQ(ParseWhole("*1\r\n$" + std::string(65536, '1')), Failure({}, kTooBigBulk));
  EXPECT_EQ(ParseWhole(std::string(65536, 'x')), Commands({}));
  EXPECT_EQ(ParseWhole(std::string(65537, 'x')), Failure({}, kTooBigInline));
}

TEST(RespParserTest, QueryBufferLimit) {
  ParserLimits limits;
  limits.max_query_buffer = 100;
  // An incomplete command holding more than the limit (in the buffer or in arguments
  // already parsed) is an error...
  const std::string big = "*1\r\n$1000\r\n" + std::string(200, 'v');
  EXPECT_EQ(ParseWhole(big, limits), Failure({}, kQueryBuffer));
  EXPECT_EQ(ParseBytewise(big, limits), Failure({}, kQueryBuffer));
  EXPECT_EQ(ParseWhole("*3\r\n" + Multibulk({std::string(60, 'a')}).substr(4) + "$60\r\n" +
                           std::string(50, 'b'),
                       limits),
            Failure({}, kQueryBuffer));
  // ...while complete commands, however many arrive at once, are not.
  std::string pipeline;
  for (int i = 0; i < 50; ++i) pipeline += "PING\r\n";
  EXPECT_EQ(ParseWhole(pipeline, limits).commands.size(), 50u);
  EXPECT_FALSE(ParseWhole(pipeline, limits).failed);
  // Exactly at the limit is fine (parsed headers no longer count, payload bytes do).
  const std::string at_limit = "*1\r\n$1000\r\n" + std::string(100, 'v');
  EXPECT_EQ(ParseWhole(at_limit, limits), Commands({}));
  EXPECT_EQ(ParseWhole(at_limit + "v", limits), Failure({}, kQueryBuffer));
}

TEST(RespParserTest, QueryBufferLimitCountsABigArgumentInProgress) {
  // A big argument leaves the buffer as it arrives; it still counts against the limit.
  ParserLimits limits;
  limits.max_query_buffer = 50000;
  RequestParser parser(limits);
  const std::string head = "*2\r\n$3\r\nSET\r\n$100000\r\n";
  parser.Feed(head.data(), head.size());
  Argv argv;
  ASSERT_EQ(parser.Next(&argv), State::kNeedMore);
  const std::string chunk(4096, 'x');
  State s = State::kNeedMore;
  size_t sent = 0;
  while (s == State::kNeedMore && sent < 100000) {
    parser.Feed(chunk.data(), chunk.size());
    sent += chunk.size();
    s = parser.Next(&argv);
    EXPECT_LE(parser.buffered(), chunk.size());
  }
  EXPECT_EQ(s, State::kError);
  EXPECT_EQ(parser.error(), kQueryBuffer);
  EXPECT_GT(sent, 50000u);
  EXPECT_LE(sent, 50000u + chunk.size());
}

TEST(RespParserTest, LargeBulkStreamedInChunks) {
  constexpr size_t kSize = 10 * 1024 * 1024;
  std::string value(kSize, '\0');
  std::mt19937_64 rng(42);
  for (char& c : value) c = static_cast<char>(rng());
  const std::string input = Multibulk({"SET", "big", value}) + "PING\r\n";
  for (size_t chunk : {size_t{65536}, size_t{7919}, size_t{1} << 20}) {
    SCOPED_TRACE(chunk);
    RequestParser parser;
    std::vector<Argv> commands;
    Argv argv;
    size_t max_buffered = 0;
    for (size_t at = 0; at < input.size(); at += chunk) {
      parser.Feed(input.data() + at, std::min(chunk, input.size() - at));
      State s;
      while ((s = parser.Next(&argv)) == State::kCommand) commands.push_back(std::move(argv));
      ASSERT_EQ(s, State::kNeedMore);
      max_buffered = std::max(max_buffered, parser.buffered());
    }
    ASSERT_EQ(commands.size(), 2u);
    ASSERT_EQ(commands[0].size(), 3u);
    EXPECT_EQ(commands[0][0], "SET");
    EXPECT_EQ(commands[0][1], "big");
    EXPECT_TRUE(commands[0][2] == value);
    EXPECT_EQ(commands[1], Argv({"PING"}));
    // The payload leaves the buffer as it arrives: never much more than one chunk waits.
    EXPECT_LE(max_buffered, chunk + 64);
  }
}

TEST(RespParserTest, HugeDeclaredBulkDoesNotNeedTheMemoryUpFront) {
  // 1,000 connections each announcing a 512 MB argument and sending a little of it: the
  // parser must not reserve what the header claims (this would need 500 GB).
  std::vector<RequestParser> parsers(1000);
  const std::string head = "*2\r\n$3\r\nSET\r\n$536870912\r\n" + std::string(40000, 'x');
  Argv argv;
  for (RequestParser& p : parsers) {
    p.Feed(head.data(), head.size());
    ASSERT_EQ(p.Next(&argv), State::kNeedMore);
  }
}

// ---------------------------------------------------------------------------------------
// Parser: robustness (seeded random input never crashes, never exceeds the limits, and
// gives the same outcome whatever the chunking)

std::string RandomInput(std::mt19937_64& rng) {
  static const std::string kAlphabet = "*$\r\n0123456789-+\"' \\xaZ\t";
  std::string s;
  const size_t len = rng() % 200;
  const int mode = static_cast<int>(rng() % 3);
  if (mode == 0) {  // raw bytes
    for (size_t i = 0; i < len; ++i) s.push_back(static_cast<char>(rng()));
  } else if (mode == 1) {  // protocol-looking characters
    for (size_t i = 0; i < len; ++i) s.push_back(kAlphabet[rng() % kAlphabet.size()]);
  } else {  // valid commands with a few mutations
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) {
      Argv argv;
      const int argc = 1 + static_cast<int>(rng() % 5);
      for (int j = 0; j < argc; ++j) argv.push_back(std::string(rng() % 80, 'a' + j));
      s += (rng() % 4 == 0) ? argv[0] + " \"" + argv.back() + "\"\r\n" : Multibulk(argv);
    }
    const int mutations = static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations && !s.empty(); ++m) {
      const size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[at] = kAlphabet[rng() % kAlphabet.size()];
          break;
        case 1:
          s.erase(at, 1);
          break;
        default:
          s.insert(at, 1, static_cast<char>(rng()));
          break;
      }
    }
  }
  return s;
}

TEST(RespParserTest, RandomInputNeverCrashesOrExceedsLimits) {
  ParserLimits limits;
  limits.max_bulk_len = 64;
  limits.max_multibulk_len = 4;
  limits.max_inline_len = 48;
  limits.max_query_buffer = 1024;  // larger than any incomplete request can be here
  std::mt19937_64 rng(20240601);
  int errors = 0;
  int commands = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::string input = RandomInput(rng);
    RequestParser parser(limits);
    Outcome out;
    size_t at = 0;
    while (at < input.size()) {
      const size_t n = std::min<size_t>(1 + rng() % 40, input.size() - at);
      parser.Feed(input.data() + at, n);
      at += n;
      Argv argv;
      State s;
      while ((s = parser.Next(&argv)) == State::kCommand) {
        ASSERT_FALSE(argv.empty());
        // Inline requests have at most max_inline_len bytes, so as many words.
        ASSERT_LE(argv.size(), std::max<size_t>(4, limits.max_inline_len));
        for (const std::string& a : argv) ASSERT_LE(a.size(), 64u);
        out.commands.push_back(argv);
      }
      ASSERT_LE(parser.buffered(), limits.max_query_buffer);
      if (s == State::kError) {
        ASSERT_FALSE(parser.error().empty());
        ASSERT_EQ(parser.error().find_first_of("\r\n"), std::string::npos);
        out.failed = true;
        out.error = parser.error();
        break;
      }
    }
    errors += out.failed;
    commands += static_cast<int>(out.commands.size());
    ASSERT_EQ(out, ParseWhole(input, limits)) << "round " << round;
    ASSERT_EQ(out, ParseBytewise(input, limits)) << "round " << round;
  }
  // The generator reaches both outcomes.
  EXPECT_GT(errors, 100);
  EXPECT_GT(commands, 100);
}

// ---------------------------------------------------------------------------------------
// ReplyWriter

// Runs `write` against a RESP2 and a RESP3 writer and returns both outputs.
template <typename F>
std::pair<std::string, std::string> Both(F write) {
  std::string two;
  std::string three;
  ReplyWriter w2(&two, 2);
  ReplyWriter w3(&three, 3);
  write(w2);
  write(w3);
  return {two, three};
}

using Pair = std::pair<std::string, std::string>;

TEST(RespWriterTest, Simple) {
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Simple("OK"); }), Pair("+OK\r\n", "+OK\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Simple(""); }), Pair("+\r\n", "+\r\n"));
}

TEST(RespWriterTest, Error) {
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Error("ERR unknown command 'x'"); }),
            Pair("-ERR unknown command 'x'\r\n", "-ERR unknown command 'x'\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Error("WRONGTYPE Operation"); }),
            Pair("-WRONGTYPE Operation\r\n", "-WRONGTYPE Operation\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Error("ERR a\r\nb\nc\rd"); }),
            Pair("-ERR a  b c d\r\n", "-ERR a  b c d\r\n"));
  // Given with its '-' already, it is not doubled.
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Error("-ERR x"); }), Pair("-ERR x\r\n", "-ERR x\r\n"));
}

TEST(RespWriterTest, Integer) {
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Integer(0); }), Pair(":0\r\n", ":0\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Integer(-42); }), Pair(":-42\r\n", ":-42\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Integer(std::numeric_limits<int64_t>::min()); }),
            Pair(":-9223372036854775808\r\n", ":-9223372036854775808\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Integer(std::numeric_limits<int64_t>::max()); }),
            Pair(":9223372036854775807\r\n", ":9223372036854775807\r\n"));
}

TEST(RespWriterTest, Bulk) {
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Bulk("foo"); }), Pair("$3\r\nfoo\r\n", "$3\r\nfoo\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Bulk(""); }), Pair("$0\r\n\r\n", "$0\r\n\r\n"));
  const std::string binary("a\r\n\0b", 5);
  const std::string encoded = "$5\r\n" + binary + "\r\n";
  EXPECT_EQ(Both([&](ReplyWriter& w) { w.Bulk(binary); }), Pair(encoded, encoded));
}

TEST(RespWriterTest, Nulls) {
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Null(); }), Pair("$-1\r\n", "_\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.NullArray(); }), Pair("*-1\r\n", "_\r\n"));
}

TEST(RespWriterTest, AggregateHeaders) {
  EXPECT_EQ(Both([](ReplyWriter& w) { w.ArrayHeader(3); }), Pair("*3\r\n", "*3\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.ArrayHeader(0); }), Pair("*0\r\n", "*0\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.MapHeader(2); }), Pair("*4\r\n", "%2\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.MapHeader(0); }), Pair("*0\r\n", "%0\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.SetHeader(5); }), Pair("*5\r\n", "~5\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.PushHeader(3); }), Pair("*3\r\n", ">3\r\n"));
}

TEST(RespWriterTest, Boolean) {
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Boolean(true); }), Pair(":1\r\n", "#t\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Boolean(false); }), Pair(":0\r\n", "#f\r\n"));
}

TEST(RespWriterTest, Verbatim) {
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Verbatim("txt", "Some string"); }),
            Pair("$11\r\nSome string\r\n", "=15\r\ntxt:Some string\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Verbatim("mkd", ""); }),
            Pair("$0\r\n\r\n", "=4\r\nmkd:\r\n"));
}

TEST(RespWriterTest, BulkArrayAndRaw) {
  EXPECT_EQ(
      Both([](ReplyWriter& w) {
        w.BulkArray({"a", "", "bc"});
      }),
      Pair("*3\r\n$1\r\na\r\n$0\r\n\r\n$2\r\nbc\r\n", "*3\r\n$1\r\na\r\n$0\r\n\r\n$2\r\nbc\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.BulkArray({}); }), Pair("*0\r\n", "*0\r\n"));
  EXPECT_EQ(Both([](ReplyWriter& w) { w.Raw("+PONG\r\n"); }), Pair("+PONG\r\n", "+PONG\r\n"));
}

TEST(RespWriterTest, SubscribePushInBothProtocols) {
  const auto out = Both([](ReplyWriter& w) {
    w.PushHeader(3);
    w.Bulk("message");
    w.Bulk("ch");
    w.Bulk("hi");
  });
  EXPECT_EQ(out.first, "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
  EXPECT_EQ(out.second, ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
}

TEST(RespWriterTest, ProtocolCanChange) {
  std::string out;
  ReplyWriter w(&out);
  EXPECT_EQ(w.protocol(), 2);
  w.Null();
  w.set_protocol(3);
  EXPECT_EQ(w.protocol(), 3);
  w.Null();
  EXPECT_EQ(out, "$-1\r\n_\r\n");
  EXPECT_EQ(w.buffer(), &out);
}

// Redis 7's d2string(): integers as integers, otherwise fpconv_dtoa's shortest round-trip
// digits.
struct DoubleCase {
  double value;
  std::string text;
};

// Redis 7.0's addReplyDouble: "%.17g" (17 significant digits), "inf"/"-inf".
TEST(RespWriterTest, Double) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<DoubleCase> cases = {
      {0.0, "0"},
      {-0.0, "-0"},
      {3.0, "3"},
      {-3.0, "-3"},
      {1.5, "1.5"},
      {-2.25, "-2.25"},
      {0.1, "0.10000000000000001"},
      {1.0 / 3, "0.33333333333333331"},
      {3.14159, "3.1415899999999999"},
      {123456.789, "123456.789"},
      {1e15, "1000000000000000"},
      {9223372036854775808.0, "9.2233720368547758e+18"},
      {1e19, "1e+19"},
      {-1e19, "-1e+19"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {0.000001, "9.9999999999999995e-07"},
      {1e-7, "9.9999999999999995e-08"},
      {5e-324, "4.9406564584124654e-324"},
      {inf, "inf"},
      {-inf, "-inf"},
  };
  for (const DoubleCase& c : cases) {
    SCOPED_TRACE(c.text);
    const std::string bulk = "$" + std::to_string(c.text.size()) + "\r\n" + c.text + "\r\n";
    EXPECT_EQ(Both([&](ReplyWriter& w) { w.Double(c.value); }), Pair(bulk, "," + c.text + "\r\n"));
  }
}

TEST(RespWriterTest, DoubleRoundTrips) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100000; ++i) {
    uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof(v));
    if (!std::isfinite(v)) continue;
    std::string out;
    ReplyWriter w(&out, 3);
    w.Double(v);
    ASSERT_EQ(out.front(), ',');
    ASSERT_EQ(out.substr(out.size() - 2), "\r\n");
    const std::string text = out.substr(1, out.size() - 3);
    ASSERT_LE(text.size(), 25u) << text;
    ASSERT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
  }
}

TEST(RespWriterTest, AppendsToExistingOutput) {
  std::string out = "+PONG\r\n";
  ReplyWriter w(&out, 2);
  w.Integer(1);
  w.Bulk("x");
  EXPECT_EQ(out, "+PONG\r\n:1\r\n$1\r\nx\r\n");
}

}  // namespace
}  // namespace redge::resp
