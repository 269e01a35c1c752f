// crash_writer: the child process of the crash test (tests/unit/crash_test.cc).
//
// Usage: crash_writer DIR CYCLE [THREADS]
//
// Opens the store in DIR with fsync=always and, from THREADS threads (default 4), writes
// until it is killed. Thread t owns two keys: the string "s:<t>" and the list "l:<t>"; on
// each step it does one of SET s:<t> v<CYCLE>_<n>, RPUSH l:<t> e<CYCLE>_<n> or LPOP l:<t>.
// It reports on stdout, one line per write(2) call (atomic on a pipe), with the line
// written before the next step starts:
//   R                           the store is open
//   B <t> S <value>             thread t is about to SET s:<t> value
//   B <t> P <element>           ... about to RPUSH l:<t> element
//   B <t> O                     ... about to LPOP l:<t>
//   A <t> S <value>             the SET was acknowledged (it is durable)
//   A <t> P <element> <len>     the RPUSH was acknowledged; RPUSH replied <len>
//   A <t> O <element>|-         the LPOP was acknowledged; it popped <element>, or nil
//   N <t> <message>             the write failed (it did not happen)
// The parent SIGKILLs it at a random moment and checks every acknowledged write.
// Exits by itself (status 3) after 120 s in case the parent is gone.

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/lists.h"
#include "store/status.h"
#include "store/store.h"
#include "store/strings.h"
#include "store/txn.h"

namespace {

namespace store = redge::store;

std::mutex g_out_mu;

void Emit(const std::string& line) {
  std::lock_guard<std::mutex> lock(g_out_mu);
  std::string buf = line + "\n";
  const char* p = buf.data();
  size_t left = buf.size();
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::_Exit(5);  // the parent is gone
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "crash_writer: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(4);
}

void Writer(store::Store* db, int cycle, int t) {
  std::mt19937_64 rng(static_cast<uint64_t>(cycle) * 1000 + static_cast<uint64_t>(t));
  const std::string id = std::to_string(t);
  const std::string skey = "s:" + id;
  const std::string lkey = "l:" + id;
  const std::string suffix = std::to_string(cycle) + "_";
  for (uint64_t n = 0;; ++n) {
    const int dice = static_cast<int>(rng() % 10);
    if (dice < 2) {
      const std::string value = "v" + suffix + std::to_string(n);
      Emit("B " + id + " S " + value);
      auto r = db->Run(0, [&](store::Txn& txn) { return store::strings::Set(txn, skey, value); });
      if (r.ok() && r->written) {
        Emit("A " + id + " S " + value);
      } else if (r.status().code() == store::Status::Code::kIOError) {
        Emit("N " + id + " " + r.status().message());
      } else {
        Die("SET " + skey + ": " + (r.ok() ? "not written" : r.status().message()));
      }
    } else if (dice < 6) {
      const std::string element = "e" + suffix + std::to_string(n);
      Emit("B " + id + " P " + element);
      auto r = db->Run(0, [&](store::Txn& txn) {
        return store::lists::Push(txn, lkey, store::ListEnd::kRight, {element});
      });
      if (r.ok()) {
        Emit("A " + id + " P " + element + " " + std::to_string(r.value()));
      } else if (r.status().code() == store::Status::Code::kIOError) {
        Emit("N " + id + " " + r.status().message());
      } else {
        Die("RPUSH " + lkey + ": " + r.status().message());
      }
    } else {
      Emit("B " + id + " O");
      auto r = db->Run(0, [&](store::Txn& txn) {
        return store::lists::Pop(txn, lkey, store::ListEnd::kLeft, 1);
      });
      if (r.ok()) {
        if (r->size() != 1) Die("LPOP " + lkey + " returned " + std::to_string(r->size()));
        Emit("A " + id + " O " + r->front());
      } else if (r.status().IsNotFound()) {
        Emit("A " + id + " O -");
      } else if (r.status().code() == store::Status::Code::kIOError) {
        Emit("N " + id + " " + r.status().message());
      } else {
        Die("LPOP " + lkey + ": " + r.status().message());
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DIR CYCLE [THREADS]\n", argv[0]);
    return 2;
  }
  const int cycle = std::atoi(argv[2]);
  const int threads = argc > 3 ? std::atoi(argv[3]) : 4;
  if (threads < 1 || threads > 64) Die("bad thread count");

  store::Options options;
  options.dir = argv[1];
  options.fsync = store::Fsync::kAlways;
  auto opened = store::Store::Open(options);
  if (!opened.ok()) Die("open " + options.dir + ": " + opened.status().message());
  std::unique_ptr<store::Store> db = std::move(opened.value());
  Emit("R");

  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) workers.emplace_back(Writer, db.get(), cycle, t);
  // Never returns normally: the parent kills us. A safety net if it does not.
  std::this_thread::sleep_for(std::chrono::seconds(120));
  std::fprintf(stderr, "crash_writer: not killed after 120 s, exiting\n");
  std::_Exit(3);
}
