#include "edge/resp/args.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "base/numbers.h"

namespace redge::resp {

std::string_view ArgReader::Peek() const {
  return done() ? std::string_view() : std::string_view(ctx_.argv[pos_]);
}

bool ArgReader::Match(std::string_view word) {
  if (failed_ || done() || !EqualsIgnoreCase(ctx_.argv[pos_], word)) return false;
  ++pos_;
  return true;
}

bool ArgReader::Next(std::string* out) {
  if (failed_) return false;
  if (done()) return SyntaxError();
  *out = ctx_.argv[pos_++];
  return true;
}

bool ArgReader::Next(std::string_view* out) {
  if (failed_) return false;
  if (done()) return SyntaxError();
  *out = ctx_.argv[pos_++];
  return true;
}

bool ArgReader::Int64(int64_t* out) {
  if (failed_) return false;
  if (done()) return SyntaxError();
  if (!base::ParseInt64(ctx_.argv[pos_], out)) {
    return Fail("ERR value is not an integer or out of range");
  }
  ++pos_;
  return true;
}

bool ArgReader::Int64InRange(int64_t min, int64_t max, const char* message, int64_t* out) {
  if (failed_) return false;
  if (done()) return SyntaxError();
  int64_t v = 0;
  if (!base::ParseInt64(ctx_.argv[pos_], &v)) {
    return Fail(message ? std::string("ERR ") + message
                        : std::string("ERR value is not an integer or out of range"));
  }
  if (v < min || v > max) {
    return Fail(message ? std::string("ERR ") + message
                        : "ERR value is out of range, value must between " + std::to_string(min) +
                              " and " + std::to_string(max));
  }
  ++pos_;
  *out = v;
  return true;
}

bool ArgReader::Double(double* out) {
  if (failed_) return false;
  if (done()) return SyntaxError();
  if (!base::ParseDouble(ctx_.argv[pos_], out)) return Fail("ERR value is not a valid float");
  ++pos_;
  return true;
}

bool ArgReader::Timeout(int64_t* timeout_ms) {
  if (failed_) return false;
  if (done()) return SyntaxError();
  if (!ArgTimeout(ctx_, ctx_.argv[pos_], timeout_ms)) {
    failed_ = true;  // ArgTimeout wrote the reply
    return false;
  }
  ++pos_;
  return true;
}

bool ArgReader::ScanCursor(uint64_t* cursor) {
  if (failed_) return false;
  if (done()) return SyntaxError();
  const std::string& s = ctx_.argv[pos_];
  if (!s.empty() && isspace(static_cast<unsigned char>(s[0]))) return Fail("ERR invalid cursor");
  errno = 0;
  char* end = nullptr;
  unsigned long long v = strtoull(s.c_str(), &end, 10);
  // A NUL inside the argument ends strtoull's view early: refused like trailing bytes.
  if (end != s.c_str() + s.size() || errno == ERANGE) return Fail("ERR invalid cursor");
  *cursor = v;
  ++pos_;
  return true;
}

bool ArgReader::Fail(std::string_view error_line) {
  if (!failed_) ctx_.reply.Error(error_line);
  failed_ = true;
  return false;
}

bool ReadElementScanOptions(ArgReader& args, std::string* pattern, uint64_t* count) {
  *count = 10;
  pattern->clear();
  while (args.ok() && !args.done()) {
    bool has_value = args.remaining() >= 2;
    if (has_value && args.Match("COUNT")) {
      int64_t n = 0;
      if (!args.Int64(&n)) return false;
      if (n < 1) return args.SyntaxError();
      *count = static_cast<uint64_t>(n);
    } else if (has_value && args.Match("MATCH")) {
      std::string p;
      args.Next(&p);
      *pattern = p == "*" ? std::string() : std::move(p);
    } else {
      return args.SyntaxError();
    }
  }
  return args.ok();
}

}  // namespace redge::resp
