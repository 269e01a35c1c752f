// Crash test (issue 2's acceptance): no acknowledged write is lost when the process dies.
//
// Each cycle runs tests/crash_writer.cc as a child process (fork + exec) on the same data
// directory, with fsync=always, reads its acknowledgements from a pipe, and SIGKILLs it
// at a random moment 5-200 ms after it reported the store open (the moment is measured
// by the reading loop itself). The parent then reopens the store and checks, against a
// model built from the acknowledgements:
//  - every string holds its last acknowledged value, or the value of the one SET that
//    was in flight when the child died;
//  - every list holds exactly what the acknowledged RPUSH/LPOP sequence left, give or
//    take the one in-flight operation of its thread (pushes present unless popped);
//  - LLEN, LRANGE, TYPE, KEYS, DBSIZE and the raw element records agree.
// The verified state becomes the model for the next cycle. Select with
// --gtest_filter='CrashTest.*' (ctest -R CrashTest). REDGE_CRASH_CYCLES and
// REDGE_CRASH_SEED override the cycle count and the random seed.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "store/keys.h"
#include "store/lists.h"
#include "store/status.h"
#include "store/store.h"
#include "store/strings.h"
#include "store/txn.h"

#ifndef REDGE_CRASH_WRITER
#error "REDGE_CRASH_WRITER must be the path of the crash_writer executable"
#endif

namespace redge::store::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using Strings = std::vector<std::string>;

constexpr int kDefaultCycles = 50;
constexpr int kThreads = 4;
constexpr int kMinDelayMs = 5;
constexpr int kMaxDelayMs = 200;
// Bound on the child's start (open + WAL recovery); only reached when something is wrong.
constexpr milliseconds kStartPatience(20'000);

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

// What the acknowledgements say about the keys of one writer thread.
struct ThreadModel {
  enum class Op { kNone, kSet, kPush, kPop };
  std::optional<std::string> value;  // s:<t>
  std::deque<std::string> list;      // l:<t>
  Op pending = Op::kNone;            // the operation begun but not acknowledged
  std::string pending_value;
};

Strings SplitWords(const std::string& line) {
  Strings out;
  std::istringstream in(line);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/redge-crash-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    models_.resize(kThreads);
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "crash test data left in " << dir_ << "\n";
    } else {
      std::filesystem::remove_all(dir_);
    }
  }

  // Starts crash_writer with its stdout on a pipe; returns the read end.
  void Spawn(int cycle, pid_t* pid, int* fd) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0) << std::strerror(errno);
    const std::string path = REDGE_CRASH_WRITER;
    const std::string cycle_arg = std::to_string(cycle);
    const std::string threads_arg = std::to_string(kThreads);
    std::vector<char*> argv = {const_cast<char*>(path.c_str()), const_cast<char*>(dir_.c_str()),
                               const_cast<char*>(cycle_arg.c_str()),
                               const_cast<char*>(threads_arg.c_str()), nullptr};
    pid_t child = fork();
    ASSERT_GE(child, 0) << std::strerror(errno);
    if (child == 0) {
      // Only async-signal-safe calls between fork and exec.
      if (dup2(p[1], STDOUT_FILENO) < 0) _exit(126);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(p[1]);
    *pid = child;
    *fd = p[0];
  }

  // Applies one line of the child's report to the model.
  void HandleLine(const std::string& line) {
    const Strings w = SplitWords(line);
    if (w.size() < 2 || (w[0] != "B" && w[0] != "A" && w[0] != "N")) {
      ADD_FAILURE() << "bad line from crash_writer: '" << line << "'";
      return;
    }
    const int t = std::atoi(w[1].c_str());
    if (t < 0 || t >= kThreads) {
      ADD_FAILURE() << "bad thread in '" << line << "'";
      return;
    }
    ThreadModel& m = models_[t];
    using Op = ThreadModel::Op;
    if (w[0] == "N") {
      ADD_FAILURE() << "a write failed under fsync=always: " << line;
      m.pending = Op::kNone;  // a failed write did not happen
      return;
    }
    if (w.size() < 3) {
      ADD_FAILURE() << "bad line from crash_writer: '" << line << "'";
      return;
    }
    const std::string& op = w[2];
    if (w[0] == "B") {
      EXPECT_EQ(m.pending, Op::kNone) << "thread " << t << " began twice: " << line;
      if (op == "S" && w.size() == 4) {
        m.pending = Op::kSet;
        m.pending_value = w[3];
      } else if (op == "P" && w.size() == 4) {
        m.pending = Op::kPush;
        m.pending_value = w[3];
      } else if (op == "O" && w.size() == 3) {
        m.pending = Op::kPop;
        m.pending_value.clear();
      } else {
        ADD_FAILURE() << "bad line from crash_writer: '" << line << "'";
      }
      return;
    }
    // An acknowledgement: it must match the operation that began.
    ++acks_;
    ++cycle_acks_;
    if (op == "S" && w.size() == 4) {
      EXPECT_TRUE(m.pending == Op::kSet && m.pending_value == w[3]) << line;
      m.value = w[3];
    } else if (op == "P" && w.size() == 5) {
      EXPECT_TRUE(m.pending == Op::kPush && m.pending_value == w[3]) << line;
      m.list.push_back(w[3]);
      EXPECT_EQ(w[4], std::to_string(m.list.size()))
          << "RPUSH reply disagrees with the acknowledged history: " << line;
    } else if (op == "O" && w.size() == 4) {
      EXPECT_EQ(m.pending, Op::kPop) << line;
      if (w[3] == "-") {
        EXPECT_TRUE(m.list.empty()) << "LPOP returned nil on a list that should hold "
                                    << m.list.size() << " elements: " << line;
      } else if (m.list.empty()) {
        ADD_FAILURE() << "LPOP returned an element of a list that should be empty: " << line;
      } else {
        EXPECT_EQ(w[3], m.list.front()) << "LPOP did not return the head: " << line;
        m.list.pop_front();
      }
    } else {
      ADD_FAILURE() << "bad line from crash_writer: '" << line << "'";
    }
    m.pending = Op::kNone;
  }

  // Runs one child to its death; every line it managed to write is applied.
  void RunChild(int cycle, int delay_ms) {
    pid_t pid = -1;
    int fd = -1;
    Spawn(cycle, &pid, &fd);
    ASSERT_GT(pid, 0);
    const auto started = steady_clock::now();
    bool ready = false, killed = false;
    // If an assertion ends this function early, the child must not outlive it.
    bool reaped = false;
    struct Reaper {
      pid_t pid;
      int fd;
      bool* reaped;
      ~Reaper() {
        if (*reaped) return;
        kill(pid, SIGKILL);
        close(fd);
        waitpid(pid, nullptr, 0);
      }
    } reaper{pid, fd, &reaped};
    steady_clock::time_point kill_at;
    std::string buf;
    char chunk[1 << 16];
    for (;;) {
      int timeout_ms = 10'000;  // once killed: the rest of the pipe, then EOF
      if (!killed) {
        const auto target = ready ? kill_at : started + kStartPatience;
        const auto now = steady_clock::now();
        if (now >= target) {
          if (!ready) ADD_FAILURE() << "crash_writer did not report ready";
          ASSERT_EQ(kill(pid, SIGKILL), 0) << std::strerror(errno);
          killed = true;
          continue;
        }
        timeout_ms = static_cast<int>(std::chrono::ceil<milliseconds>(target - now).count());
      }
      pollfd p{fd, POLLIN, 0};
      const int rc = poll(&p, 1, timeout_ms);
      if (rc < 0 && errno == EINTR) continue;
      ASSERT_GE(rc, 0) << std::strerror(errno);
      if (rc == 0) {
        if (killed) {
          ADD_FAILURE() << "no EOF from a killed crash_writer";
          break;
        }
        continue;  // the kill deadline is checked at the top
      }
      const ssize_t n = read(fd, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      ASSERT_GE(n, 0) << std::strerror(errno);
      if (n == 0) break;  // EOF: the child is dead
      buf.append(chunk, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
        const std::string line = buf.substr(start, nl - start);
        if (line == "R") {
          EXPECT_FALSE(ready);
          ready = true;
          kill_at = steady_clock::now() + milliseconds(delay_ms);
        } else {
          HandleLine(line);
        }
      }
      buf.erase(0, start);
    }
    reaped = true;
    close(fd);
    // Each line is one write(2) of under PIPE_BUF bytes: no torn lines, even when killed.
    EXPECT_TRUE(buf.empty()) << "torn line: '" << buf << "'";
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(killed) << "crash_writer exited by itself";
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "crash_writer ended with status " << status << " (see its stderr above)";
  }

  // Reopens the store and checks it against the model; the verified state becomes the
  // model for the next cycle.
  void Verify() {
    Options options;
    options.dir = dir_;
    options.fsync = Fsync::kAlways;
    options.active_expire = false;
    auto opened = Store::Open(options);
    ASSERT_TRUE(opened.ok()) << "reopen after kill: " << opened.status().message();
    std::unique_ptr<Store> db = std::move(opened.value());
    using Op = ThreadModel::Op;

    Strings expected_keys;
    std::vector<std::deque<std::string>> lists(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      SCOPED_TRACE(::testing::Message() << "thread " << t);
      ThreadModel& m = models_[t];
      const std::string skey = "s:" + std::to_string(t);
      const std::string lkey = "l:" + std::to_string(t);

      // The string: its last acknowledged value, or the one in flight.
      auto got = db->Run(0, [&](Txn& txn) { return strings::Get(txn, skey); });
      std::optional<std::string> value;
      if (got.ok()) {
        value = got.value();
      } else {
        ASSERT_TRUE(got.status().IsNotFound()) << got.status().message();
      }
      const bool in_flight_set = m.pending == Op::kSet && value == m.pending_value;
      if (!in_flight_set) {
        EXPECT_EQ(value, m.value) << "SET lost or corrupted (" << skey << ")";
      } else {
        ++in_flight_applied_;
      }
      if (value.has_value()) expected_keys.push_back(skey);
      m.value = value;

      // The list: exactly the acknowledged history, give or take the op in flight.
      auto range = db->Run(0, [&](Txn& txn) { return lists::Range(txn, lkey, 0, -1); });
      ASSERT_TRUE(range.ok()) << range.status().message();
      const std::deque<std::string> actual(range->begin(), range->end());
      std::deque<std::string> with_push = m.list, with_pop = m.list;
      if (m.pending == Op::kPush) with_push.push_back(m.pending_value);
      if (m.pending == Op::kPop && !with_pop.empty()) with_pop.pop_front();
      if (actual == m.list) {
        // Nothing beyond the acknowledgements.
      } else if ((m.pending == Op::kPush && actual == with_push) ||
                 (m.pending == Op::kPop && actual == with_pop)) {
        ++in_flight_applied_;
      } else {
        std::ostringstream want, have;
        for (const auto& e : m.list) want << e << " ";
        for (const auto& e : actual) have << e << " ";
        ADD_FAILURE() << lkey << " disagrees with the acknowledged writes\n  expected: ["
                      << want.str() << "]\n  pending op: " << static_cast<int>(m.pending) << " "
                      << m.pending_value << "\n  found:    [" << have.str() << "]";
      }
      // Metadata and elements agree.
      auto len = db->Run(0, [&](Txn& txn) { return lists::Len(txn, lkey); });
      ASSERT_TRUE(len.ok()) << len.status().message();
      EXPECT_EQ(len.value(), static_cast<int64_t>(actual.size())) << "LLEN vs LRANGE";
      auto type = db->Run(0, [&](Txn& txn) -> Result<KeyType> { return keys::Type(txn, lkey); });
      ASSERT_TRUE(type.ok());
      EXPECT_EQ(type.value(), actual.empty() ? KeyType::kNone : KeyType::kList);
      for (int64_t i : {int64_t{0}, int64_t{-1}}) {
        auto at = db->Run(0, [&](Txn& txn) { return lists::Index(txn, lkey, i); });
        if (actual.empty()) {
          EXPECT_TRUE(at.status().IsNotFound()) << at.status().message();
        } else {
          ASSERT_TRUE(at.ok()) << at.status().message();
          EXPECT_EQ(at.value(), i == 0 ? actual.front() : actual.back());
        }
      }
      if (!actual.empty()) expected_keys.push_back(lkey);
      lists[t] = actual;
    }

    std::sort(expected_keys.begin(), expected_keys.end());
    auto all = db->Run(0, [&](Txn& txn) -> Result<Strings> { return keys::Keys(txn, "*"); });
    ASSERT_TRUE(all.ok());
    Strings listed = all.value();
    std::sort(listed.begin(), listed.end());
    EXPECT_EQ(listed, expected_keys) << "KEYS *";
    EXPECT_EQ(db->DbSize(0), static_cast<int64_t>(expected_keys.size())) << "DBSIZE";

    // Raw element records: after a compaction only the live elements remain.
    ASSERT_TRUE(db->CompactAll().ok());
    for (int t = 0; t < kThreads; ++t) {
      const std::string lkey = "l:" + std::to_string(t);
      EXPECT_EQ(db->CountElementRecordsForTest(0, lkey), static_cast<int64_t>(lists[t].size()))
          << "element records of " << lkey;
      models_[t].list = lists[t];
      models_[t].pending = Op::kNone;
    }
  }

  std::string dir_;
  std::vector<ThreadModel> models_;
  int64_t acks_ = 0;
  int64_t cycle_acks_ = 0;
  int64_t in_flight_applied_ = 0;
};

TEST_F(CrashTest, AcknowledgedWritesSurviveSigkill) {
  const int cycles = EnvInt("REDGE_CRASH_CYCLES", kDefaultCycles);
  unsigned seed = static_cast<unsigned>(EnvInt("REDGE_CRASH_SEED", 0));
  if (seed == 0) seed = std::random_device{}();
  RecordProperty("seed", std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay(kMinDelayMs, kMaxDelayMs);
  int cycles_with_acks = 0;
  const auto start = steady_clock::now();
  for (int cycle = 1; cycle <= cycles; ++cycle) {
    const int delay_ms = delay(rng);
    SCOPED_TRACE(::testing::Message() << "cycle " << cycle << " of " << cycles << ", kill after "
                                      << delay_ms << " ms, REDGE_CRASH_SEED=" << seed);
    cycle_acks_ = 0;
    ASSERT_NO_FATAL_FAILURE(RunChild(cycle, delay_ms));
    if (cycle_acks_ > 0) ++cycles_with_acks;
    ASSERT_NO_FATAL_FAILURE(Verify());
    ASSERT_FALSE(HasFailure()) << "stopping at the first failed cycle";
  }
  const double secs = std::chrono::duration<double>(steady_clock::now() - start).count();
  std::cout << "[ crash    ] " << cycles << " cycles in " << secs << " s, " << acks_
            << " acknowledged writes, " << cycles_with_acks << " cycles with acknowledgements, "
            << in_flight_applied_ << " in-flight writes found applied, seed " << seed << "\n";
  // The test must have tested something.
  EXPECT_GE(cycles_with_acks, cycles / 2);
  EXPECT_GE(acks_, cycles);
}

}  // namespace
}  // namespace redge::store::testing
