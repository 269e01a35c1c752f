// RESP wire format: a request parser (multibulk and inline commands) with Redis's limits
// and error texts, and a reply writer for RESP2 and RESP3.
//
// RequestParser promises: it consumes bytes incrementally (any split across reads),
// yields complete commands in order, never buffers more than the configured limits, and
// reports the first protocol violation with Redis's exact text ("ERR Protocol error:
// ..."), after which the connection must be closed (Redis replies with the error, then
// closes).
//
// ReplyWriter promises: byte-exact Redis encodings; RESP3-only types degrade to their
// RESP2 forms as Redis does (map -> flat array, set -> array, double -> bulk string,
// null -> $-1 or *-1, boolean -> integer 1/0, push -> array, verbatim -> bulk).
//
// Thread-safety: neither class is thread-safe; each connection owns its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace redge::resp {

struct ParserLimits {
  int64_t max_bulk_len = 512ll * 1024 * 1024;       // proto-max-bulk-len
  int64_t max_multibulk_len = 1024 * 1024;          // Redis's multibulk count limit
  size_t max_inline_len = 64 * 1024;                // PROTO_INLINE_MAX_SIZE
  size_t max_query_buffer = 1024ull * 1024 * 1024;  // client-query-buffer-limit (1 GB)
};

class RequestParser {
 public:
  enum class State { kNeedMore, kCommand, kError };

  explicit RequestParser(ParserLimits limits = {}) : limits_(limits) {}

  // While a password is required and not yet given, Redis caps a request at 10 arguments of
  // 16 KiB each so an unauthenticated peer cannot make the server buffer much.
  void set_auth_required(bool required) { auth_required_ = required; }
  // CONFIG SET proto-max-bulk-len / client-query-buffer-limit: applies from the next
  // request on (a bulk already being read keeps the limit it was checked against).
  void set_bulk_and_buffer_limits(int64_t max_bulk_len, size_t max_query_buffer) {
    limits_.max_bulk_len = max_bulk_len;
    limits_.max_query_buffer = max_query_buffer;
  }

  // Appends received bytes to the internal buffer.
  void Feed(const char* data, size_t len);
  // Parses the next command from the buffer. kCommand: `argv` holds it (an empty inline
  // line yields no command and parsing continues). kNeedMore: wait for more bytes.
  // kError: error() holds Redis's error line (without the leading '-' and CRLF).
  State Next(std::vector<std::string>* argv);
  const std::string& error() const { return error_; }
  // Bytes received but not yet consumed (for CLIENT LIST qbuf and memory limits).
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  enum class Scan { kFound, kNotYet, kTooBig };

  State ParseInline(std::vector<std::string>* argv);
  State ParseMultibulk(std::vector<std::string>* argv);
  State Fail(std::string message);
  // Looks for `term` in the unconsumed bytes like Redis's strchr: a NUL byte before it
  // hides it for good. Resumes where the previous call stopped (no rescans).
  Scan FindTerminator(char term, size_t* offset);
  void ConsumeLine(size_t n) {
    pos_ += n;
    scanned_ = 0;
    scan_blocked_ = false;
  }

  ParserLimits limits_;
  bool auth_required_ = false;
  std::string buf_;
  size_t pos_ = 0;  // start of unconsumed data in buf_
  // Bytes after pos_ already searched for the current line terminator; scan_blocked_: a
  // NUL came first, so the terminator can never be seen (Redis waits for the size limit).
  size_t scanned_ = 0;
  bool scan_blocked_ = false;
  // Multibulk in progress (kept across Next calls so a huge command is not re-scanned).
  int64_t multibulk_remaining_ = 0;
  int64_t bulk_len_ = -1;             // length of the argument being read (-1: reading "$len")
  std::vector<std::string> pending_;  // arguments so far; the last one may be partial
  size_t pending_bytes_ = 0;          // payload bytes held in pending_
  bool failed_ = false;
  std::string error_;
};

class ReplyWriter {
 public:
  explicit ReplyWriter(std::string* out, int protocol = 2) : out_(out), proto_(protocol) {}
  void set_protocol(int p) { proto_ = p; }
  int protocol() const { return proto_; }

  void Simple(std::string_view s);    // +OK
  void Error(std::string_view line);  // -ERR ... (line given without '-'; CR/LF replaced)
  void Integer(int64_t v);            // :1
  void Bulk(std::string_view s);      // $3\r\nfoo
  void Null();                        // RESP3 _ ; RESP2 $-1
  void NullArray();                   // RESP3 _ ; RESP2 *-1
  void ArrayHeader(int64_t n);        // *n
  void MapHeader(int64_t n);          // RESP3 %n ; RESP2 *2n
  void SetHeader(int64_t n);          // RESP3 ~n ; RESP2 *n
  void PushHeader(int64_t n);         // RESP3 >n ; RESP2 *n
  void Double(double v);              // RESP3 ,v ; RESP2 bulk; Redis 7.0's %.17g text
  void Boolean(bool v);               // RESP3 #t/#f ; RESP2 :1/:0
  void Verbatim(std::string_view format, std::string_view s);  // RESP3 =; RESP2 bulk
  void BulkArray(const std::vector<std::string>& items);       // *n of bulks
  void Raw(std::string_view bytes);                            // already-encoded bytes

  std::string* buffer() { return out_; }

  // Error replies written by any ReplyWriter on the calling thread so far (a command whose
  // handler wrote one "failed", for INFO commandstats).
  static uint64_t ErrorsWrittenOnThisThread();
  // One process-wide observer of every error line written (INFO errorstats); nullptr
  // stops it. Set it before serving and clear it before `arg` goes away.
  using ErrorObserver = void (*)(void* arg, std::string_view line);
  static void SetErrorObserver(ErrorObserver fn, void* arg);

 private:
  std::string* out_;
  int proto_;
};

}  // namespace redge::resp
