#include "tests/fuzz/fuzz_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "edge/http/http_server.h"
#include "edge/http/jobs_api.h"
#include "edge/jobs/job_service.h"
#include "edge/log.h"
#include "edge/metrics.h"
#include "edge/resp/server.h"
#include "store/store.h"

namespace redge::fuzz {

TempDir::TempDir(const char* prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/" + prefix + ".XXXXXX";
  if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp " + templ);
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void QuietLogs() { (void)InitLogging("text", "off"); }

struct Server::Parts {
  TempDir dir{"redge-fuzz"};
  Metrics metrics;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<jobs::JobService> jobs;
  std::unique_ptr<http::HttpServer> http;
  std::unique_ptr<http::JobsApi> api;
  std::unique_ptr<resp::RespServer> resp;
};

namespace {
Server* g_server = nullptr;
}  // namespace

Server& Server::Get(const ServerOptions& options) {
  if (!g_server) {
    QuietLogs();
    g_server = new Server(options);
    std::atexit([] { g_server->Stop(); });
  }
  return *g_server;
}

Server::Server(const ServerOptions& options) : parts_(std::make_unique<Parts>()) {
  Parts& p = *parts_;
  store::Options so;
  so.dir = p.dir.path() + "/data";
  so.fsync = store::Fsync::kNo;
  so.block_cache_bytes = 8u << 20;
  so.write_buffer_bytes = 8u << 20;
  so.log = [](int, const std::string&) {};
  auto opened = store::Store::Open(so);
  if (!opened.ok()) throw std::runtime_error("store: " + opened.status().message());
  p.store = std::move(opened.value());

  jobs::JobsOptions jo;
  jo.lease_timeout_ms = options.lease_timeout_ms;
  jo.result_ttl_ms = 60'000;
  p.jobs = std::make_unique<jobs::JobService>(p.store.get(), jo, &p.metrics);
  if (auto s = p.jobs->Start(); !s.ok()) throw std::runtime_error("jobs: " + s.message());

  if (options.http) {
    http::HttpOptions ho;
    ho.port = 0;
    ho.io_threads = 1;
    ho.max_body = options.max_body;
    http::JobsApiOptions ao;
    ao.sse_heartbeat_ms = 50;  // heartbeats run while the fuzzer holds a stream open
    ao.sse_retry_ms = 100;
    ao.cors_origins = {"http://fuzz.example"};
    p.http = std::make_unique<http::HttpServer>(ho);
    p.api = std::make_unique<http::JobsApi>(p.jobs.get(), p.store.get(), ao, &p.metrics);
    p.api->Register(*p.http);
    if (auto s = p.http->Start(); !s.ok()) throw std::runtime_error("http: " + s.message());
    http_port_ = p.http->port();
  }
  if (options.resp) {
    resp::RespOptions ro;
    ro.port = 0;
    ro.io_threads = 1;
    ro.data_dir = so.dir;
    ro.fsync = "no";
    ro.output_limits.pubsub.hard = 1u << 20;  // bounded output in a fuzzing process
    p.resp = std::make_unique<resp::RespServer>(p.store.get(), ro);
    if (auto s = p.resp->Start(); !s.ok()) throw std::runtime_error("resp: " + s.message());
    resp_port_ = p.resp->port();
  }
}

// The order of redge's own shutdown (edge/main.cc).
void Server::Stop() {
  Parts& p = *parts_;
  if (p.api) {
    p.api->SetStopping();
    p.api->Drain(std::chrono::seconds(2));
  }
  if (p.http) p.http->Stop();
  if (p.resp) p.resp->Stop();
  p.jobs->Stop();
  p.resp.reset();
  p.api.reset();
  p.http.reset();
  p.jobs.reset();
  p.store.reset();
}

store::Store& Server::store() { return *parts_->store; }
jobs::JobService& Server::jobs() { return *parts_->jobs; }
resp::RespServer& Server::resp() { return *parts_->resp; }

Client::Client(int port) {
  // Loopback ports in TIME-WAIT (hundreds of connections a second) can run out for a
  // moment: EADDRNOTAVAIL is the client's limit, not the server's, so wait and retry.
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (Connect(port)) return;
    if (connect_error_ != EADDRNOTAVAIL) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

bool Client::Connect(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    connect_error_ = errno;
    return false;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) return true;
  // libFuzzer's SIGALRM (its -timeout watchdog, every 16 s) can interrupt a connect that
  // waits (a SYN answered late on a loaded machine). The connection then goes on in the
  // background (connect(2)): wait for it and read its outcome. Taken for a refusal, this is
  // the likeliest cause of a CI failure "cannot connect" 48 s (three alarms) into a run.
  int err = errno;
  if (err == EINTR) {
    pollfd pfd{fd_, POLLOUT, 0};
    int r;
    do {
      r = poll(&pfd, 1, static_cast<int>(kLiveness.count()));
    } while (r < 0 && errno == EINTR);
    socklen_t len = sizeof(err);
    if (r != 1) {
      err = ETIMEDOUT;
    } else if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      err = errno;
    }
    if (err == 0) return true;
  }
  connect_error_ = err;
  Close();
  return false;
}

std::string Client::connect_error() const {
  return connect_error_ == 0 ? "" : std::strerror(connect_error_);
}

Client::~Client() { Close(); }

void Client::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool Client::Send(std::string_view bytes) {
  while (!bytes.empty() && fd_ >= 0) {
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return fd_ >= 0;
}

bool Client::ReadSome(std::chrono::steady_clock::time_point deadline) {
  if (fd_ < 0) return false;
  // libFuzzer's SIGALRM (its -timeout watchdog) interrupts poll and recv: an EINTR is a
  // retry, not the end of the reply (taken for one, it failed inputs with the replies
  // sitting unread in the socket).
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    int r = poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char buf[16384];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    received_.append(buf, static_cast<size_t>(n));
    return true;
  }
}

namespace {

constexpr size_t kIncomplete = std::string_view::npos;
constexpr size_t kMalformed = kIncomplete - 1;

// Parses one reply at `pos`; returns the offset after it, kIncomplete or kMalformed.
size_t SkipReply(std::string_view b, size_t pos, int depth) {
  if (depth > 64) return kMalformed;
  if (pos >= b.size()) return kIncomplete;
  size_t eol = b.find("\r\n", pos);
  if (eol == std::string_view::npos) return kIncomplete;
  const char type = b[pos];
  std::string_view head = b.substr(pos + 1, eol - pos - 1);
  size_t next = eol + 2;
  auto number = [&head](int64_t* out) {
    if (head.empty() || head.size() > 20) return false;
    char* end = nullptr;
    std::string h(head);
    *out = std::strtoll(h.c_str(), &end, 10);
    return end == h.c_str() + h.size();
  };
  int64_t n = 0;
  switch (type) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
    case '(':
      return next;
    case '$':
    case '=':
    case '!':
      if (!number(&n)) return kMalformed;
      if (n < 0) return next;
      if (b.size() < next + static_cast<size_t>(n) + 2) return kIncomplete;
      return next + static_cast<size_t>(n) + 2;
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      if (!number(&n)) return kMalformed;
      if (n < 0) return next;
      int64_t items = (type == '%' || type == '|') ? 2 * n : n;
      for (int64_t i = 0; i < items; ++i) {
        next = SkipReply(b, next, depth + 1);
        if (next == kIncomplete || next == kMalformed) return next;
      }
      // An attribute precedes the reply it describes.
      return type == '|' ? SkipReply(b, next, depth + 1) : next;
    }
    default:
      return kMalformed;
  }
}

}  // namespace

std::string EncodeCommand(const std::vector<std::string>& argv) {
  std::string out = "*" + std::to_string(argv.size()) + "\r\n";
  for (const auto& a : argv) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

size_t CountRespReplies(std::string_view bytes, bool* malformed) {
  *malformed = false;
  size_t count = 0, pos = 0;
  while (pos < bytes.size()) {
    size_t next = SkipReply(bytes, pos, 0);
    if (next == kIncomplete) break;
    if (next == kMalformed) {
      *malformed = true;
      break;
    }
    pos = next;
    ++count;
  }
  return count;
}

void DumpThreadStacks() {
  const std::string pid = std::to_string(getpid());
  const pid_t child = fork();
  if (child == 0) {
    // stdout -> stderr: the fuzzer's log is stderr.
    dup2(2, 1);
    execlp("gdb", "gdb", "-batch", "-nx", "-p", pid.c_str(), "-ex", "thread apply all bt 16",
           static_cast<char*>(nullptr));
    _exit(127);
  }
  if (child > 0) {
    int status = 0;
    waitpid(child, &status, 0);
  }
}

}  // namespace redge::fuzz
