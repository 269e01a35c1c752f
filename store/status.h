// Status and Result: errors as values across the store's boundary.
//
// The store never lets an exception escape. Every operation returns a Status (or a
// Result<T>, which is a T or a non-OK Status). For errors that Redis defines, message()
// is the exact Redis error line, prefix included ("WRONGTYPE Operation against ..."),
// so the RESP layer can send it verbatim and the HTTP layer can show it.
//
// Thread-safety: immutable values; safe to copy between threads.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace redge::store {

class Status {
 public:
  enum class Code {
    kOk,
    kNotFound,         // key or element absent (not an error for most commands)
    kWrongType,        // WRONGTYPE
    kNotInteger,       // ERR value is not an integer or out of range
    kOverflow,         // ERR increment or decrement would overflow
    kOutOfRange,       // ERR index out of range
    kNoSuchKey,        // ERR no such key
    kSyntax,           // ERR syntax error
    kInvalidArgument,  // ERR <message>
    kIOError,          // the write did not happen (disk full, I/O error); never acknowledged
    kCorruption,       // stored data could not be decoded
    kShutdown,         // the store is closing
    kTimeout,          // a blocking wait ended without data
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound() { return Status(Code::kNotFound, "not found"); }
  static Status WrongType() {
    return Status(Code::kWrongType,
                  "WRONGTYPE Operation against a key holding the wrong kind of value");
  }
  static Status NotInteger() {
    return Status(Code::kNotInteger, "ERR value is not an integer or out of range");
  }
  static Status Overflow() {
    return Status(Code::kOverflow, "ERR increment or decrement would overflow");
  }
  static Status OutOfRange() { return Status(Code::kOutOfRange, "ERR index out of range"); }
  static Status NoSuchKey() { return Status(Code::kNoSuchKey, "ERR no such key"); }
  static Status Syntax() { return Status(Code::kSyntax, "ERR syntax error"); }
  // `message` without the "ERR " prefix; it is added here.
  static Status InvalidArgument(const std::string& message) {
    return Status(Code::kInvalidArgument, "ERR " + message);
  }
  // An error whose prefix is not ERR ("NOGROUP ...", "BUSYGROUP ..."): `line` is the whole
  // Redis error line.
  static Status RedisError(const std::string& line) { return Status(Code::kInvalidArgument, line); }
  static Status IOError(const std::string& message) {
    return Status(Code::kIOError, "ERR store write failed: " + message);
  }
  static Status Corruption(const std::string& message) {
    return Status(Code::kCorruption, "ERR store data corrupted: " + message);
  }
  static Status Shutdown() { return Status(Code::kShutdown, "ERR server is shutting down"); }
  static Status Timeout() { return Status(Code::kTimeout, "timeout"); }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  Code code() const { return code_; }
  // The full Redis error line for Redis-defined codes.
  const std::string& message() const { return message_; }

  bool operator==(const Status& other) const { return code_ == other.code_; }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A T or a non-OK Status (an expected-like type; C++20 has no std::expected).
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace redge::store
