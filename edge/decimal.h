// ParseDecimal: a plain decimal number as people write durations ("5", "0.25", ".5"), and
// nothing else: no sign, exponent, hex ("0x10"), inf or nan, which strtod would accept.
//
// Thread-safety: a pure function.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>

namespace redge {

inline bool ParseDecimal(std::string_view s, double* out) {
  size_t digits = 0, dots = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digits++;
    } else if (c == '.' && dots == 0) {
      dots++;
    } else {
      return false;
    }
  }
  if (digits == 0 || s.size() > 32) return false;
  *out = std::strtod(std::string(s).c_str(), nullptr);
  return true;
}

}  // namespace redge
