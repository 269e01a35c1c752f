// Numbers as Redis 7.0 reads and writes them. Shared by store/ (scores, increments) and
// edge/ (arguments, replies), so that both agree byte for byte with Redis.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace redge::base {

// Redis's string2ll: strict base 10, optional '-', no '+', no spaces, no leading zeros,
// at most 20 characters, within int64.
bool ParseInt64(std::string_view s, int64_t* out);

// Redis's getDoubleFromObject (zset scores, HINCRBYFLOAT's increment is long double, see
// below): strtod over the whole string; refused when empty, starting with a space,
// with trailing bytes, NaN, or out of range (overflow to +-inf or underflow to 0).
// "inf", "-inf" and "+inf" are accepted.
bool ParseDouble(std::string_view s, double* out);

// Redis's string2ld (INCRBYFLOAT, HINCRBYFLOAT): strtold over the whole string, at most
// 5000 bytes, no leading space, no NaN, no ERANGE.
bool ParseLongDouble(std::string_view s, long double* out);

// Redis 7.0's addReplyDouble text: "inf", "-inf", otherwise printf's "%.17g" (17
// significant digits: 0.1 -> "0.10000000000000001").
std::string FormatDouble(double v);

// Redis's ld2string in human mode (INCRBYFLOAT's result): "%.17Lf" with trailing zeros
// and a trailing '.' removed, "-0" as "0".
std::string FormatLongDouble(long double v);

}  // namespace redge::base
