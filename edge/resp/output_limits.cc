#include "edge/resp/output_limits.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <vector>

namespace redge::resp {
namespace {

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Redis's memtoull: digits, then an optional unit b, k, kb, m, mb, g, gb (any case).
bool ParseMemory(std::string_view s, uint64_t* out) {
  size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  std::string_view unit = s.substr(digits);
  uint64_t mul;
  if (unit.empty() || EqualsNoCase(unit, "b")) {
    mul = 1;
  } else if (EqualsNoCase(unit, "k")) {
    mul = 1000;
  } else if (EqualsNoCase(unit, "kb")) {
    mul = 1024;
  } else if (EqualsNoCase(unit, "m")) {
    mul = 1000 * 1000;
  } else if (EqualsNoCase(unit, "mb")) {
    mul = 1024 * 1024;
  } else if (EqualsNoCase(unit, "g")) {
    mul = 1000ull * 1000 * 1000;
  } else if (EqualsNoCase(unit, "gb")) {
    mul = 1024ull * 1024 * 1024;
  } else {
    return false;
  }
  // As in Redis, no digits at all ("" or "mb") reads as 0.
  if (digits > 20) return false;
  std::string number(s.substr(0, digits));
  errno = 0;
  uint64_t v = std::strtoull(number.c_str(), nullptr, 10);
  if (errno == ERANGE || (mul > 1 && v > UINT64_MAX / mul)) return false;
  *out = v * mul;
  return true;
}

std::vector<std::string_view> SplitSpaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

}  // namespace

std::string ParseOutputLimits(std::string_view value, OutputLimits* limits) {
  std::vector<std::string_view> args = SplitSpaces(value);
  if (args.size() % 4 != 0) return "Wrong number of arguments in buffer limit configuration.";
  OutputLimits next = *limits;  // all or nothing
  for (size_t i = 0; i < args.size(); i += 4) {
    OutputLimit* target;
    if (EqualsNoCase(args[i], "normal")) {
      target = &next.normal;
    } else if (EqualsNoCase(args[i], "replica") || EqualsNoCase(args[i], "slave")) {
      target = &next.replica;
    } else if (EqualsNoCase(args[i], "pubsub")) {
      target = &next.pubsub;
    } else {
      return "Invalid client class specified in buffer limit configuration.";
    }
    OutputLimit l;
    std::string seconds(args[i + 3]);
    char* end = nullptr;
    errno = 0;
    l.soft_seconds = std::strtoll(seconds.c_str(), &end, 10);
    if (!ParseMemory(args[i + 1], &l.hard) || !ParseMemory(args[i + 2], &l.soft) ||
        l.soft_seconds < 0 || *end != '\0' || errno == ERANGE) {
      return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
    }
    *target = l;
  }
  *limits = next;
  return "";
}

std::string FormatOutputLimits(const OutputLimits& limits) {
  auto one = [](const char* name, const OutputLimit& l) {
    return std::string(name) + " " + std::to_string(l.hard) + " " + std::to_string(l.soft) + " " +
           std::to_string(l.soft_seconds);
  };
  return one("normal", limits.normal) + " " + one("slave", limits.replica) + " " +
         one("pubsub", limits.pubsub);
}

}  // namespace redge::resp
