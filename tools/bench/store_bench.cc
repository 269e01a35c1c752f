// store_bench: in-process throughput of the redge store (no network, no protocol).
//
// For each fsync mode and each thread count it measures SET, GET, LPUSH and RPOP in
// ops/s and prints one table. Every mode gets a fresh store in its own subdirectory of
// the data dir. See tools/bench/README.md.
//
//   build/bench/store_bench [--duration-ms=N | --ops=N] [--dir=PATH] [--threads=1,8]
//                           [--fsync=always,everysec,no] [--value-size=N] [--keys=N] [--keep]

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/lists.h"
#include "store/status.h"
#include "store/store.h"
#include "store/strings.h"
#include "store/txn.h"

namespace {

namespace store = redge::store;
using Clock = std::chrono::steady_clock;

struct Flags {
  int64_t duration_ms = 1000;  // per measurement
  int64_t ops = 0;             // if > 0: a fixed number of ops per measurement instead
  std::string dir;             // default: a fresh directory under /tmp
  std::vector<int> threads = {1, 8};
  std::vector<store::Fsync> modes = {store::Fsync::kAlways, store::Fsync::kEverySec,
                                     store::Fsync::kNo};
  size_t value_size = 64;
  int64_t keys = 10000;
  bool keep = false;
};

void Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [options]\n"
               "  --duration-ms=N   run each measurement for N ms (default 1000)\n"
               "  --ops=N           run each measurement for N operations instead\n"
               "  --dir=PATH        data directory (default: a new /tmp/redge-bench-XXXXXX)\n"
               "  --threads=LIST    thread counts, comma separated (default 1,8)\n"
               "  --fsync=LIST      fsync modes, comma separated (default always,everysec,no)\n"
               "  --value-size=N    SET value and list element size in bytes (default 64)\n"
               "  --keys=N          key space of SET/GET (default 10000)\n"
               "  --keep            keep the data directory\n",
               argv0);
}

std::vector<std::string> SplitCommas(std::string_view s) {
  std::vector<std::string> out;
  std::stringstream in{std::string(s)};
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (a.substr(0, name.size()) == name && a.size() > name.size() && a[name.size()] == '=') {
        return std::string(a.substr(name.size() + 1));
      }
      return std::nullopt;
    };
    if (a == "--help" || a == "-h") {
      Usage(argv[0]);
      std::exit(0);
    } else if (a == "--keep") {
      f->keep = true;
    } else if (auto v = value("--duration-ms")) {
      f->duration_ms = std::atoll(v->c_str());
      f->ops = 0;
    } else if (auto v = value("--ops")) {
      f->ops = std::atoll(v->c_str());
    } else if (auto v = value("--dir")) {
      f->dir = *v;
    } else if (auto v = value("--value-size")) {
      f->value_size = static_cast<size_t>(std::atoll(v->c_str()));
    } else if (auto v = value("--keys")) {
      f->keys = std::atoll(v->c_str());
    } else if (auto v = value("--threads")) {
      f->threads.clear();
      for (const std::string& t : SplitCommas(*v)) f->threads.push_back(std::atoi(t.c_str()));
    } else if (auto v = value("--fsync")) {
      f->modes.clear();
      for (const std::string& m : SplitCommas(*v)) {
        auto mode = store::ParseFsync(m);
        if (!mode) {
          std::fprintf(stderr, "unknown fsync mode '%s'\n", m.c_str());
          return false;
        }
        f->modes.push_back(*mode);
      }
    } else {
      std::fprintf(stderr, "unknown argument '%s'\n", argv[i]);
      return false;
    }
  }
  if (f->duration_ms <= 0 && f->ops <= 0) return false;
  if (f->keys <= 0 || f->threads.empty() || f->modes.empty()) return false;
  for (int t : f->threads) {
    if (t < 1 || t > 1024) return false;
  }
  return true;
}

enum class Op { kSet, kGet, kLPush, kRPop };
constexpr Op kOps[] = {Op::kSet, Op::kGet, Op::kLPush, Op::kRPop};
const char* OpName(Op op) {
  switch (op) {
    case Op::kSet:
      return "SET";
    case Op::kGet:
      return "GET";
    case Op::kLPush:
      return "LPUSH";
    case Op::kRPop:
      return "RPOP";
  }
  return "?";
}

constexpr char kListKey[] = "bench:list";

std::string KeyName(int64_t i) { return "bench:key:" + std::to_string(i); }

struct Measurement {
  int64_t ops = 0;
  int64_t errors = 0;
  double seconds = 0;
  double ops_per_sec() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

// Runs `op` from `threads` threads until the duration passes, the op budget is spent, or
// (RPOP) the list is empty.
Measurement Measure(store::Store& db, Op op, int threads, const Flags& flags) {
  const std::string value(flags.value_size, 'x');
  std::atomic<bool> go{false}, stop{false};
  std::atomic<int64_t> budget{flags.ops > 0 ? flags.ops : INT64_MAX};
  std::atomic<int64_t> total_ops{0}, total_errors{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(t + 1);  // xorshift state
      int64_t ops = 0, errors = 0;
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      while (!stop.load(std::memory_order_relaxed)) {
        if (budget.fetch_sub(1, std::memory_order_relaxed) <= 0) break;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const std::string key = KeyName(static_cast<int64_t>(x % flags.keys));
        store::Status s;
        switch (op) {
          case Op::kSet:
            s = db.Run(0, [&](store::Txn& txn) {
                    return store::strings::Set(txn, key, value);
                  }).status();
            break;
          case Op::kGet:
            s = db.Run(0, [&](store::Txn& txn) { return store::strings::Get(txn, key); }).status();
            break;
          case Op::kLPush:
            s = db.Run(0, [&](store::Txn& txn) {
                    return store::lists::Push(txn, kListKey, store::ListEnd::kLeft, {value});
                  }).status();
            break;
          case Op::kRPop:
            s = db.Run(0, [&](store::Txn& txn) {
                    return store::lists::Pop(txn, kListKey, store::ListEnd::kRight, 1);
                  }).status();
            if (s.IsNotFound()) {  // drained: what LPUSH put there is used up
              stop.store(true, std::memory_order_relaxed);
              continue;
            }
            break;
        }
        if (s.ok()) {
          ++ops;
        } else {
          ++errors;
        }
      }
      total_ops += ops;
      total_errors += errors;
    });
  }
  const auto start = Clock::now();
  go.store(true, std::memory_order_release);
  if (flags.ops <= 0) {
    // The measurement's length, not a wait for an event: workers stop on this flag.
    const auto end = start + std::chrono::milliseconds(flags.duration_ms);
    while (!stop.load() && Clock::now() < end) {
      std::this_thread::sleep_for(
          std::min<Clock::duration>(std::chrono::milliseconds(10), end - Clock::now()));
    }
    stop = true;
  }
  for (auto& w : workers) w.join();
  Measurement m;
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  m.ops = total_ops.load();
  m.errors = total_errors.load();
  return m;
}

// Makes every key of the GET key space exist (not timed).
bool Preload(store::Store& db, const Flags& flags) {
  const std::string value(flags.value_size, 'x');
  constexpr int64_t kBatch = 1000;
  for (int64_t i = 0; i < flags.keys; i += kBatch) {
    store::Status s = db.Exec(0, [&](store::Txn& txn) {
      for (int64_t k = i; k < std::min(flags.keys, i + kBatch); ++k) {
        (void)store::strings::Set(txn, KeyName(k), value);
      }
    });
    if (!s.ok()) {
      std::fprintf(stderr, "preload failed: %s\n", s.message().c_str());
      return false;
    }
  }
  return true;
}

std::string Rate(double v) {
  char buf[32];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2fM", v / 1e6);
  } else if (v >= 1e4) {
    std::snprintf(buf, sizeof(buf), "%.1fk", v / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  }
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    Usage(argv[0]);
    return 2;
  }
  bool made_dir = false;
  if (flags.dir.empty()) {
    char tmpl[] = "/tmp/redge-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    flags.dir = tmpl;
    made_dir = true;
  }
  std::error_code ec;
  std::filesystem::create_directories(flags.dir, ec);

  std::printf("redge store benchmark: %s per measurement, %zu-byte values, %" PRId64
              " keys, %u hardware threads, dir %s\n",
              flags.ops > 0 ? (std::to_string(flags.ops) + " ops").c_str()
                            : (std::to_string(flags.duration_ms) + " ms").c_str(),
              flags.value_size, flags.keys, std::thread::hardware_concurrency(), flags.dir.c_str());
  std::printf("%-9s %7s %10s %10s %10s %10s %14s\n", "fsync", "threads", "SET/s", "GET/s",
              "LPUSH/s", "RPOP/s", "writes/fsync");
  std::fflush(stdout);

  int exit_code = 0;
  for (store::Fsync mode : flags.modes) {
    const std::string sub = flags.dir + "/" + store::FsyncName(mode);
    std::filesystem::remove_all(sub, ec);
    store::Options options;
    options.dir = sub;
    options.fsync = mode;
    auto opened = store::Store::Open(options);
    if (!opened.ok()) {
      std::fprintf(stderr, "open %s: %s\n", sub.c_str(), opened.status().message().c_str());
      return 1;
    }
    std::unique_ptr<store::Store> db = std::move(opened.value());
    if (!Preload(*db, flags)) return 1;
    for (int threads : flags.threads) {
      double rates[4] = {};
      const store::StoreStats before = db->GetStats();
      for (Op op : kOps) {
        Measurement m = Measure(*db, op, threads, flags);
        rates[static_cast<int>(op)] = m.ops_per_sec();
        if (m.errors > 0) {
          std::fprintf(stderr, "%s %s x%d: %" PRId64 " errors\n", store::FsyncName(mode),
                       OpName(op), threads, m.errors);
          exit_code = 1;
        }
      }
      const store::StoreStats after = db->GetStats();
      const int64_t writes = after.writes - before.writes;
      const int64_t fsyncs = after.fsyncs - before.fsyncs;
      char per_sync[32] = "-";
      if (fsyncs > 0) {
        std::snprintf(per_sync, sizeof(per_sync), "%.1f",
                      static_cast<double>(writes) / static_cast<double>(fsyncs));
      }
      std::printf("%-9s %7d %10s %10s %10s %10s %14s\n", store::FsyncName(mode), threads,
                  Rate(rates[0]).c_str(), Rate(rates[1]).c_str(), Rate(rates[2]).c_str(),
                  Rate(rates[3]).c_str(), per_sync);
      std::fflush(stdout);
      // RPOP stops when the list is empty; start the next row from an empty list too.
      (void)db->Exec(0, [&](store::Txn& txn) { (void)store::lists::Trim(txn, kListKey, 1, 0); });
    }
    db.reset();
    if (!flags.keep) std::filesystem::remove_all(sub, ec);
  }
  if (made_dir && !flags.keep) std::filesystem::remove_all(flags.dir, ec);
  return exit_code;
}
