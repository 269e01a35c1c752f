// client-output-buffer-limit: how much unsent output a RESP client may hold, per client
// class, in Redis's format ("normal 1073741824 0 0 slave 268435456 67108864 60 pubsub
// 33554432 8388608 60"): a client at or over its class's hard limit is disconnected at
// once; one at or over the soft limit for more than soft_seconds in a row is too (0 = no
// limit). Parsed from --client-output-buffer-limit and CONFIG SET, printed by CONFIG GET.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace redge::resp {

struct OutputLimit {
  uint64_t hard = 0;
  uint64_t soft = 0;
  int64_t soft_seconds = 0;
};

struct OutputLimits {
  // Redis's default for normal clients is no limit at all; redge's is a 1 GiB hard limit:
  // above proto-max-bulk-len (512 MiB), so any single value can still be read, while
  // input backpressure (connection.cc) keeps a client that pipelines without reading far
  // below it.
  OutputLimit normal{1ull << 30, 0, 0};
  OutputLimit replica{256ull << 20, 64ull << 20, 60};  // kept for CONFIG GET only
  OutputLimit pubsub{32ull << 20, 8ull << 20, 60};     // Redis's default
};

// Applies `value` ("<class> <hard> <soft> <soft_seconds> ..."; classes normal, replica or
// slave, pubsub; sizes in bytes or with k/kb/m/mb/g/gb) to *limits: all of it, or nothing
// when it is malformed. Returns "" or Redis's error text for CONFIG SET.
std::string ParseOutputLimits(std::string_view value, OutputLimits* limits);
// CONFIG GET's form: "normal H S T slave H S T pubsub H S T".
std::string FormatOutputLimits(const OutputLimits& limits);

}  // namespace redge::resp
