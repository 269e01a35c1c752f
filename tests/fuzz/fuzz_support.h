// Shared parts of the libFuzzer targets in tests/fuzz: a temporary directory, a whole
// redge (store, jobs layer, RESP and HTTP listeners) running inside the fuzzing process on
// ephemeral loopback ports, and a blocking socket client with deadlines.
//
// The server targets drive that in-process redge over real sockets, so a finding is a
// finding of the code a user runs, not of a harness shortcut. It is created on first use
// and stopped by an atexit hook (libFuzzer ends with exit()).
//
// Thread-safety: Server::Get() from the fuzzing thread only; the server itself runs on
// its own threads, as in redge.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace redge {
namespace store {
class Store;
}
namespace jobs {
class JobService;
}
namespace resp {
class RespServer;
}
}  // namespace redge

namespace redge::fuzz {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on
// destruction.
class TempDir {
 public:
  explicit TempDir(const char* prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Silences redge's logs (a fuzzer prints only its own progress and findings).
void QuietLogs();

struct ServerOptions {
  bool resp = true;
  bool http = true;
  // Short leases, so the reaper's paths run while fuzzing too.
  int64_t lease_timeout_ms = 2'000;
  size_t max_body = 64u << 10;
};

// One redge inside this process: Store (fsync=no) in a TempDir, JobService, RespServer
// and HttpServer + JobsApi on 127.0.0.1 with ephemeral ports and one I/O thread each.
class Server {
 public:
  // The process's server, started on first call with `options` (later calls ignore them).
  static Server& Get(const ServerOptions& options = {});
  int resp_port() const { return resp_port_; }
  int http_port() const { return http_port_; }
  store::Store& store();
  jobs::JobService& jobs();
  resp::RespServer& resp();

 private:
  explicit Server(const ServerOptions& options);
  void Stop();
  struct Parts;
  std::unique_ptr<Parts> parts_;
  int resp_port_ = -1, http_port_ = -1;
};

// A blocking TCP client of 127.0.0.1:port. Every read has a deadline, so a request the
// server parks (a blocked pop, a long-poll, an SSE stream) costs the fuzzer at most that
// long; the caller then closes the socket, which is a path worth running too.
class Client {
 public:
  explicit Client(int port);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  bool connected() const { return fd_ >= 0; }
  // Why the connection could not be made (strerror), or "" if it was.
  std::string connect_error() const;
  // Sends everything (false once the peer closed).
  bool Send(std::string_view bytes);
  // Reads into received() until `done(received())` holds, the peer closes, or `timeout`
  // passes. Returns whether `done` held.
  template <typename Done>
  bool ReadUntil(Done done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(received_)) {
      if (!ReadSome(deadline)) return done(received_);
    }
    return true;
  }
  const std::string& received() const { return received_; }
  void ClearReceived() { received_.clear(); }
  void Close();

 private:
  // One connection attempt; sets connect_error_ when it fails.
  bool Connect(int port);
  // One read before `deadline`; false on EOF, error or timeout.
  bool ReadSome(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  int connect_error_ = 0;
  std::string received_;
};

// How long the server targets wait for an answer after an input. A deadlock never
// answers; 20 s (not less) because CI runs two targets at once on two cores, where 5 s
// was seen to pass on a loaded machine (reproducing such an input took 0.1 s).
inline constexpr std::chrono::milliseconds kLiveness{20000};

// A command in RESP's multibulk form, as clients send it.
std::string EncodeCommand(const std::vector<std::string>& argv);

// Counts complete RESP replies at the start of `bytes` (any RESP2/RESP3 type, nested
// aggregates included); sets *malformed when the bytes cannot be RESP.
size_t CountRespReplies(std::string_view bytes, bool* malformed);

// Prints every thread's stack of this process to stderr (gdb in batch mode, if installed),
// so a liveness failure shows what each loop and the store's writer were doing.
void DumpThreadStacks();

}  // namespace redge::fuzz
