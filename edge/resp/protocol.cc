// RESP request parsing (Redis's processMultibulkBuffer / processInlineBuffer semantics)
// and reply encoding (Redis 7's addReply* byte forms for RESP2 and RESP3).
#include "edge/resp/protocol.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "base/numbers.h"

namespace redge::resp {
namespace {

// Consumed bytes are erased from the front of the buffer only past this size (or past
// half the buffer), so a pipeline is not memmoved once per command.
constexpr size_t kCompactThreshold = 64 * 1024;
// An empty buffer whose capacity grew past this is released (a burst must not pin memory).
constexpr size_t kShrinkCapacity = 1024 * 1024;
// PROTO_MBULK_BIG_ARG: arguments this large are moved out of the buffer as they arrive.
constexpr int64_t kBigArg = 32 * 1024;
// First reservation for a big argument; the untrusted "$len" header is never reserved
// up front, the argument grows (doubling) as its bytes actually arrive.
constexpr size_t kBulkReserveCap = 1024 * 1024;
// Redis preallocates argv for at most this many arguments of a "*N" header.
constexpr int64_t kArgvReserveCap = 1024;

constexpr char kInvalidMultibulk[] = "ERR Protocol error: invalid multibulk length";
constexpr char kInvalidBulk[] = "ERR Protocol error: invalid bulk length";
constexpr char kTooBigMbulk[] = "ERR Protocol error: too big mbulk count string";
constexpr char kTooBigBulk[] = "ERR Protocol error: too big bulk count string";
constexpr char kTooBigInline[] = "ERR Protocol error: too big inline request";
constexpr char kUnbalanced[] = "ERR Protocol error: unbalanced quotes in request";
constexpr char kQueryBufferLimit[] = "ERR Protocol error: query buffer limit exceeded";

// Redis's string2ll: strict base 10, optional '-', no '+', no leading zeros, no spaces,
// at most 20 characters, range of long long.
bool String2ll(const char* s, size_t len, int64_t* out) {
  constexpr size_t kLongStrSize = 21;
  if (len == 0 || len >= kLongStrSize) return false;
  if (len == 1 && s[0] == '0') {
    *out = 0;
    return true;
  }
  size_t i = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    if (++i == len) return false;
  }
  if (s[i] < '1' || s[i] > '9') return false;
  uint64_t v = static_cast<uint64_t>(s[i++] - '0');
  for (; i < len && s[i] >= '0' && s[i] <= '9'; ++i) {
    const uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (v > UINT64_MAX / 10) return false;
    v *= 10;
    if (v > UINT64_MAX - digit) return false;
    v += digit;
  }
  if (i < len) return false;
  if (negative) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

// isspace() in the C locale.
inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

inline int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// sdssplitargs() over line[0, len) (which holds no NUL: the terminator scan stops at one).
// Returns false on unbalanced quotes or a closing quote followed by a non-space.
bool SplitArgs(const char* line, size_t len, std::vector<std::string>* out) {
  // The C string Redis parses ends with a NUL right after the line.
  const auto at = [line, len](size_t k) -> char { return k < len ? line[k] : '\0'; };
  size_t i = 0;
  for (;;) {
    while (i < len && IsSpace(line[i])) ++i;
    if (i >= len) return true;
    std::string current;
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      const char c = at(i);
      if (in_double) {
        if (c == '\\' && at(i + 1) == 'x' && HexValue(at(i + 2)) >= 0 && HexValue(at(i + 3)) >= 0) {
          current.push_back(static_cast<char>(HexValue(at(i + 2)) * 16 + HexValue(at(i + 3))));
          i += 3;
        } else if (c == '\\' && at(i + 1) != '\0') {
          ++i;
          char e = at(i);
          switch (e) {
            case 'n':
              e = '\n';
              break;
            case 'r':
              e = '\r';
              break;
            case 't':
              e = '\t';
              break;
            case 'b':
              e = '\b';
              break;
            case 'a':
              e = '\a';
              break;
            default:
              break;
          }
          current.push_back(e);
        } else if (c == '"') {
          // A closing quote must be followed by a space or nothing at all.
          if (at(i + 1) != '\0' && !IsSpace(at(i + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;  // unterminated quotes
        } else {
          current.push_back(c);
        }
      } else if (in_single) {
        if (c == '\\' && at(i + 1) == '\'') {
          ++i;
          current.push_back('\'');
        } else if (c == '\'') {
          if (at(i + 1) != '\0' && !IsSpace(at(i + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          current.push_back(c);
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            current.push_back(c);
            break;
        }
      }
      if (i < len) ++i;
    }
    out->push_back(std::move(current));
  }
}

// Appends "<prefix><v>\r\n".
inline void AppendPrefixed(std::string* out, char prefix, int64_t v) {
  char tmp[24];
  tmp[0] = prefix;
  char* end = std::to_chars(tmp + 1, tmp + sizeof(tmp) - 2, v).ptr;
  end[0] = '\r';
  end[1] = '\n';
  out->append(tmp, end + 2 - tmp);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// RequestParser

void RequestParser::Feed(const char* data, size_t len) {
  if (failed_) return;  // the connection is closing; buffer nothing more
  if (pos_ == buf_.size()) {
    if (buf_.capacity() > kShrinkCapacity) {
      std::string().swap(buf_);
    } else {
      buf_.clear();
    }
    pos_ = 0;
  } else if (pos_ > kCompactThreshold || pos_ > buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(data, len);
}

RequestParser::State RequestParser::Fail(std::string message) {
  failed_ = true;
  error_ = std::move(message);
  std::string().swap(buf_);
  pos_ = 0;
  scanned_ = 0;
  std::vector<std::string>().swap(pending_);
  pending_bytes_ = 0;
  multibulk_remaining_ = 0;
  bulk_len_ = -1;
  return State::kError;
}

RequestParser::Scan RequestParser::FindTerminator(char term, size_t* offset) {
  const size_t avail = buf_.size() - pos_;
  if (!scan_blocked_) {
    // Redis only rejects a line once more than max_inline_len bytes sit in the buffer
    // without its terminator; with input split at every byte that means a terminator at
    // offset <= max_inline_len is seen, one beyond is not. Searching only that window
    // keeps the outcome independent of how the bytes were split across reads.
    const size_t window = std::min(avail, limits_.max_inline_len + 1);
    if (scanned_ < window) {
      const char* start = buf_.data() + pos_;
      const char* from = start + scanned_;
      const size_t n = window - scanned_;
      const char* hit = static_cast<const char*>(std::memchr(from, term, n));
      const size_t upto = hit != nullptr ? static_cast<size_t>(hit - from) : n;
      if (std::memchr(from, '\0', upto) != nullptr) {
        scan_blocked_ = true;  // strchr() stops at the NUL: the line never completes
      } else if (hit != nullptr) {
        *offset = static_cast<size_t>(hit - start);
        scanned_ = *offset;  // if the caller needs more bytes, resume right here
        return Scan::kFound;
      } else {
        scanned_ = window;
      }
    }
  }
  return avail > limits_.max_inline_len ? Scan::kTooBig : Scan::kNotYet;
}

RequestParser::State RequestParser::Next(std::vector<std::string>* argv) {
  if (failed_) return State::kError;
  for (;;) {
    State state;
    if (multibulk_remaining_ > 0) {
      state = ParseMultibulk(argv);
    } else if (pos_ == buf_.size()) {
      state = State::kNeedMore;
    } else if (buf_[pos_] == '*') {
      state = ParseMultibulk(argv);
    } else {
      state = ParseInline(argv);
    }
    if (state == State::kCommand) {
      if (argv->empty()) continue;  // empty inline line, "*0", "*-1": no command
      return state;
    }
    if (state == State::kNeedMore && buffered() + pending_bytes_ > limits_.max_query_buffer) {
      return Fail(kQueryBufferLimit);
    }
    return state;
  }
}

RequestParser::State RequestParser::ParseInline(std::vector<std::string>* argv) {
  size_t newline = 0;
  switch (FindTerminator('\n', &newline)) {
    case Scan::kNotYet:
      return State::kNeedMore;
    case Scan::kTooBig:
      return Fail(kTooBigInline);
    case Scan::kFound:
      break;
  }
  const char* line = buf_.data() + pos_;
  size_t len = newline;
  if (len > 0 && line[len - 1] == '\r') --len;
  argv->clear();
  if (!SplitArgs(line, len, argv)) return Fail(kUnbalanced);
  ConsumeLine(newline + 1);
  return State::kCommand;
}

RequestParser::State RequestParser::ParseMultibulk(std::vector<std::string>* argv) {
  if (multibulk_remaining_ == 0) {
    // "*<count>\r\n". As in Redis, the byte after '\r' is skipped unchecked.
    size_t cr = 0;
    switch (FindTerminator('\r', &cr)) {
      case Scan::kNotYet:
        return State::kNeedMore;
      case Scan::kTooBig:
        return Fail(kTooBigMbulk);
      case Scan::kFound:
        break;
    }
    if (buf_.size() - pos_ < cr + 2) return State::kNeedMore;
    int64_t count = 0;
    const bool parsed = String2ll(buf_.data() + pos_ + 1, cr - 1, &count);
    if (parsed && count > 10 && count <= INT32_MAX && auth_required_) {
      return Fail("ERR Protocol error: unauthenticated multibulk length");
    }
    if (!parsed || count > limits_.max_multibulk_len) return Fail(kInvalidMultibulk);
    ConsumeLine(cr + 2);
    if (count <= 0) {
      argv->clear();  // an empty command: skipped
      return State::kCommand;
    }
    multibulk_remaining_ = count;
    bulk_len_ = -1;
    pending_.clear();
    pending_.reserve(static_cast<size_t>(std::min(count, kArgvReserveCap)));
    pending_bytes_ = 0;
  }

  while (multibulk_remaining_ > 0) {
    if (bulk_len_ == -1) {
      // "$<len>\r\n"
      size_t cr = 0;
      switch (FindTerminator('\r', &cr)) {
        case Scan::kNotYet:
          return State::kNeedMore;
        case Scan::kTooBig:
          return Fail(kTooBigBulk);
        case Scan::kFound:
          break;
      }
      if (buf_.size() - pos_ < cr + 2) return State::kNeedMore;
      const char first = buf_[pos_];
      if (first != '$') {
        // addReplyErrorFormat() turns CR and LF into spaces.
        std::string message = "ERR Protocol error: expected '$', got '";
        message.push_back(first == '\r' || first == '\n' ? ' ' : first);
        message.push_back('\'');
        return Fail(std::move(message));
      }
      int64_t len = 0;
      const bool parsed = String2ll(buf_.data() + pos_ + 1, cr - 1, &len);
      if (parsed && len > 16384 && len <= limits_.max_bulk_len && auth_required_) {
        return Fail("ERR Protocol error: unauthenticated bulk length");
      }
      if (!parsed || len < 0 || len > limits_.max_bulk_len) return Fail(kInvalidBulk);
      ConsumeLine(cr + 2);
      bulk_len_ = len;
      pending_.emplace_back();
      if (len >= kBigArg) {
        pending_.back().reserve(static_cast<size_t>(std::min<int64_t>(len, kBulkReserveCap)));
      }
    }

    std::string& arg = pending_.back();
    const size_t missing = static_cast<size_t>(bulk_len_) - arg.size();
    const size_t avail = buf_.size() - pos_;
    if (avail >= missing + 2) {
      // Complete (the two bytes after the payload are skipped unchecked, as in Redis).
      arg.append(buf_, pos_, missing);
      pos_ += missing + 2;
      pending_bytes_ += missing;
      bulk_len_ = -1;
      --multibulk_remaining_;
      continue;
    }
    if (bulk_len_ >= kBigArg && avail > 0 && missing > 0) {
      // A big argument leaves the buffer as it arrives, so it is copied once and the
      // buffer stays small; its string grows geometrically up to exactly bulk_len_.
      const size_t take = std::min(avail, missing);
      const size_t needed = arg.size() + take;
      if (needed > arg.capacity()) {
        arg.reserve(std::min(static_cast<size_t>(bulk_len_), std::max(needed, 2 * arg.capacity())));
      }
      arg.append(buf_, pos_, take);
      pos_ += take;
      pending_bytes_ += take;
    }
    return State::kNeedMore;
  }

  argv->swap(pending_);
  pending_.clear();  // keeps the capacity of the caller's previous vector
  pending_bytes_ = 0;
  return State::kCommand;
}

// ---------------------------------------------------------------------------------------
// ReplyWriter

void ReplyWriter::Simple(std::string_view s) {
  out_->reserve(out_->size() + s.size() + 3);
  out_->push_back('+');
  out_->append(s);
  out_->append("\r\n", 2);
}

namespace {
thread_local uint64_t t_errors_written = 0;
struct ErrorObserverSlot {
  ReplyWriter::ErrorObserver fn;
  void* arg;
};
std::atomic<const ErrorObserverSlot*> g_error_observer{nullptr};
}  // namespace

uint64_t ReplyWriter::ErrorsWrittenOnThisThread() { return t_errors_written; }

void ReplyWriter::SetErrorObserver(ErrorObserver fn, void* arg) {
  // Old slots are kept, not freed: a writer on another thread may still be reading one
  // (this happens once per server start, so they stay few). Kept reachable here so that
  // they are not leaks to LeakSanitizer.
  static std::mutex mu;
  static std::vector<std::unique_ptr<ErrorObserverSlot>> slots;
  const ErrorObserverSlot* slot = nullptr;
  if (fn) {
    std::lock_guard lock(mu);
    slots.push_back(std::make_unique<ErrorObserverSlot>(ErrorObserverSlot{fn, arg}));
    slot = slots.back().get();
  }
  g_error_observer.store(slot);
}

void ReplyWriter::Error(std::string_view line) {
  if (!line.empty() && line.front() == '-') line.remove_prefix(1);
  ++t_errors_written;
  if (const ErrorObserverSlot* o = g_error_observer.load(std::memory_order_acquire)) {
    o->fn(o->arg, line);
  }
  const size_t start = out_->size() + 1;
  out_->reserve(out_->size() + line.size() + 3);
  out_->push_back('-');
  out_->append(line);
  for (size_t i = start; i < out_->size(); ++i) {
    char& c = (*out_)[i];
    if (c == '\r' || c == '\n') c = ' ';
  }
  out_->append("\r\n", 2);
}

void ReplyWriter::Integer(int64_t v) { AppendPrefixed(out_, ':', v); }

void ReplyWriter::Bulk(std::string_view s) {
  out_->reserve(out_->size() + s.size() + 24);
  AppendPrefixed(out_, '$', static_cast<int64_t>(s.size()));
  out_->append(s);
  out_->append("\r\n", 2);
}

void ReplyWriter::Null() {
  if (proto_ >= 3) {
    out_->append("_\r\n", 3);
  } else {
    out_->append("$-1\r\n", 5);
  }
}

void ReplyWriter::NullArray() {
  if (proto_ >= 3) {
    out_->append("_\r\n", 3);
  } else {
    out_->append("*-1\r\n", 5);
  }
}

void ReplyWriter::ArrayHeader(int64_t n) { AppendPrefixed(out_, '*', n); }

void ReplyWriter::MapHeader(int64_t n) {
  if (proto_ >= 3) {
    AppendPrefixed(out_, '%', n);
  } else {
    AppendPrefixed(out_, '*', n * 2);
  }
}

void ReplyWriter::SetHeader(int64_t n) { AppendPrefixed(out_, proto_ >= 3 ? '~' : '*', n); }

void ReplyWriter::PushHeader(int64_t n) { AppendPrefixed(out_, proto_ >= 3 ? '>' : '*', n); }

void ReplyWriter::Double(double v) {
  const std::string text = base::FormatDouble(v);
  if (proto_ >= 3) {
    out_->push_back(',');
    out_->append(text);
    out_->append("\r\n", 2);
  } else {
    Bulk(text);
  }
}

void ReplyWriter::Boolean(bool v) {
  if (proto_ >= 3) {
    out_->append(v ? "#t\r\n" : "#f\r\n", 4);
  } else {
    out_->append(v ? ":1\r\n" : ":0\r\n", 4);
  }
}

void ReplyWriter::Verbatim(std::string_view format, std::string_view s) {
  if (proto_ < 3) {
    Bulk(s);
    return;
  }
  // "=<len>\r\n<fmt>:<text>\r\n", the format being exactly three bytes (as addReplyVerbatim
  // copies three): shorter ones are padded with spaces, longer ones cut.
  char ext[4] = {' ', ' ', ' ', ':'};
  if (!format.empty()) std::memcpy(ext, format.data(), std::min<size_t>(format.size(), 3));
  out_->reserve(out_->size() + s.size() + 28);
  AppendPrefixed(out_, '=', static_cast<int64_t>(s.size() + 4));
  out_->append(ext, 4);
  out_->append(s);
  out_->append("\r\n", 2);
}

void ReplyWriter::BulkArray(const std::vector<std::string>& items) {
  ArrayHeader(static_cast<int64_t>(items.size()));
  for (const std::string& item : items) Bulk(item);
}

void ReplyWriter::Raw(std::string_view bytes) { out_->append(bytes); }

}  // namespace redge::resp
