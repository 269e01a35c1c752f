// File descriptors: how redge splits RLIMIT_NOFILE between the store and the listeners,
// so that connections can never take the descriptors RocksDB needs to open a new WAL or
// table file (which failed every later write until a restart).
//
// Thread-safety: pure functions, except RaiseNofileLimit (process-wide; call at start).
#pragma once

#include <cstdint>

namespace redge {

struct FdPlan {
  uint64_t limit = 0;            // the soft RLIMIT_NOFILE the plan splits
  int store_table_files = 0;     // RocksDB's max_open_files
  int reserved = 0;              // the store's other files and the process's own
  int resp_max_clients = 0;      // RESP connections (0 when RESP is off)
  int http_max_connections = 0;  // HTTP connections (0 when HTTP is off)
  bool reduced = false;          // the configured connection limits did not fit
};

// Descriptors kept for everything but connections and table files: stdio, the log file,
// the listeners, two per event loop, /proc reads, and for RocksDB its WAL, MANIFEST, LOCK,
// directories and the files flushes and compactions write.
inline constexpr int kReservedFds = 64;
// Table files RocksDB may keep open: a quarter of what is left after kReservedFds, within
// [kMinStoreTableFiles, kMaxStoreTableFiles].
inline constexpr int kMinStoreTableFiles = 64;
inline constexpr int kMaxStoreTableFiles = 2048;

// Splits `limit` descriptors: the store's share first, then the connection limits as
// configured (`resp_wanted`, `http_wanted`; 0 = that listener is off), or, when they do
// not fit, what is left shared in their proportion. limit < kReservedFds +
// kMinStoreTableFiles + 2 leaves no room for connections: every limit is then 0.
FdPlan PlanFileDescriptors(uint64_t limit, int64_t resp_wanted, int64_t http_wanted);

// Raises the soft RLIMIT_NOFILE toward `want` (never above the hard limit, never lowers
// it) and returns the soft limit in force afterwards.
uint64_t RaiseNofileLimit(uint64_t want);

}  // namespace redge
