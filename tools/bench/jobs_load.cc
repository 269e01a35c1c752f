// jobs_load: a load generator for redge's jobs path in C++, so that the clients are not
// what limits the measurement (tools/bench/e2e's Python clients take 0.5-0.6 of the 2
// cores). Against a running redge:
//
//   build/bench/jobs_load --http PORT --resp PORT --pid PID [--jobs 10000] [--worker resp]
//
// Producers POST jobs over keep-alive connections (--pipeline requests in flight each);
// each job gets an SSE reader that opens a fresh connection to /v1/jobs/{id}/events, as a
// browser does, and reads until the terminal event; workers take the jobs and complete
// them: RESP workers as a legacy worker does (BRPOP the queue, PUBLISH --events progress
// messages, SET redge:response:{id}), HTTP workers with lease, --events events and
// complete. It prints jobs/s from the first enqueue to the last terminal event, and the
// CPU time redge (from /proc/PID/stat) and this process spent per job.
//
// Blocking sockets and one thread per connection: simple, and at these rates cheap
// enough (the report shows this process's own CPU next to redge's).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  int http_port = 0, resp_port = 0, pid = 0;
  int jobs = 10000, producers = 2, pipeline = 16, readers = 32, workers = 4, events = 0;
  std::string worker = "resp", queue = "load";
};

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "jobs_load: %s\n", why.c_str());
  std::exit(1);
}

// One TCP connection to 127.0.0.1 with a read buffer.
class Conn {
 public:
  explicit Conn(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      Die("cannot connect to port " + std::to_string(port) + ": " + std::strerror(errno));
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  // Closed with a reset (SO_LINGER 0): a fresh connection per SSE stream would otherwise
  // leave one socket per job in TIME_WAIT and run out of ephemeral ports.
  ~Conn() {
    linger l{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  void Send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = write(fd_, s.data() + off, s.size() - off);
      if (n <= 0) Die(std::string("write: ") + std::strerror(errno));
      off += static_cast<size_t>(n);
    }
  }
  // Reads until `delim` is buffered; returns the text up to and including it.
  std::string ReadUntil(const std::string& delim) {
    size_t at;
    while ((at = buf_.find(delim)) == std::string::npos) Fill();
    std::string out = buf_.substr(0, at + delim.size());
    buf_.erase(0, at + delim.size());
    return out;
  }
  std::string ReadN(size_t n) {
    while (buf_.size() < n) Fill();
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    return out;
  }

 private:
  void Fill() {
    char tmp[16384];
    ssize_t n = read(fd_, tmp, sizeof tmp);
    if (n <= 0) Die(n == 0 ? "connection closed by redge" : std::strerror(errno));
    buf_.append(tmp, static_cast<size_t>(n));
  }
  int fd_;
  std::string buf_;
};

// Reads one HTTP response with a Content-Length body; returns {status, body}.
std::pair<int, std::string> ReadResponse(Conn& c) {
  std::string head = c.ReadUntil("\r\n\r\n");
  int status = std::atoi(head.c_str() + 9);
  size_t len = 0;
  for (const char* name : {"Content-Length: ", "content-length: "}) {
    size_t at = head.find(name);
    if (at != std::string::npos) len = std::strtoul(head.c_str() + at + 16, nullptr, 10);
  }
  return {status, c.ReadN(len)};
}

// The string value of "key": in a flat JSON text (ids and tokens have no escapes).
std::string JsonString(const std::string& text, const std::string& key) {
  const std::string pat = "\"" + key + "\":\"";
  size_t at = text.find(pat);
  if (at == std::string::npos) return "";
  at += pat.size();
  return text.substr(at, text.find('"', at) - at);
}

std::string Post(const std::string& path, const std::string& body, const std::string& extra = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string Resp(const std::vector<std::string>& argv) {
  std::string out = "*" + std::to_string(argv.size()) + "\r\n";
  for (const auto& a : argv) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// Reads one RESP reply whole (nested arrays included); returns its text.
std::string ReadReply(Conn& c) {
  std::string line = c.ReadUntil("\r\n");
  if (line[0] == '$') {
    long n = std::atol(line.c_str() + 1);
    return n < 0 ? line : line + c.ReadN(static_cast<size_t>(n) + 2);
  }
  if (line[0] == '*') {
    long n = std::atol(line.c_str() + 1);
    for (long i = 0; i < n; ++i) line += ReadReply(c);
  }
  if (line[0] == '-') Die("redge answered " + line);
  return line;
}

struct Shared {
  Options o;
  std::atomic<int> next_job{0};
  std::atomic<int> terminal{0};
  std::atomic<bool> done{false};
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> ids;  // enqueued jobs waiting for their SSE reader
};

void Producer(Shared& s) {
  Conn c(s.o.http_port);
  const std::string path = "/v1/queues/" + s.o.queue + "/jobs";
  while (true) {
    int first = s.next_job.fetch_add(s.o.pipeline);
    if (first >= s.o.jobs) return;
    int n = std::min(s.o.pipeline, s.o.jobs - first);
    std::string batch;
    for (int i = 0; i < n; ++i) batch += Post(path, "{\"n\":" + std::to_string(first + i) + "}");
    c.Send(batch);
    std::vector<std::string> got;
    for (int i = 0; i < n; ++i) {
      auto [status, body] = ReadResponse(c);
      if (status != 202) Die("enqueue answered " + std::to_string(status) + ": " + body);
      got.push_back(JsonString(body, "id"));
    }
    std::lock_guard lock(s.mu);
    for (auto& id : got) s.ids.push_back(std::move(id));
    s.cv.notify_all();
  }
}

void Reader(Shared& s) {
  while (true) {
    std::string id;
    {
      std::unique_lock lock(s.mu);
      s.cv.wait(lock, [&] { return !s.ids.empty() || s.done.load(); });
      if (s.ids.empty()) return;
      id = std::move(s.ids.front());
      s.ids.pop_front();
    }
    Conn c(s.o.http_port);  // a fresh connection per stream, as a browser's EventSource
    c.Send("GET /v1/jobs/" + id +
           "/events HTTP/1.1\r\nHost: load\r\nAccept: text/event-stream\r\n\r\n");
    std::string head = c.ReadUntil("\r\n\r\n");
    if (head.compare(9, 3, "200") != 0) Die("SSE answered " + head.substr(0, 12));
    while (true) {
      std::string line = c.ReadUntil("\n");
      if (line == "event: completed\n" || line == "event: failed\n" ||
          line == "event: canceled\n") {
        break;
      }
    }
    if (s.terminal.fetch_add(1) + 1 == s.o.jobs) {
      s.done = true;
      s.cv.notify_all();
    }
  }
}

void RespWorker(Shared& s) {
  Conn c(s.o.resp_port);
  const std::string key = "redge:queue:" + s.o.queue;
  while (!s.done) {
    c.Send(Resp({"BRPOP", key, "1"}));
    std::string reply = ReadReply(c);
    if (reply.rfind("*-1", 0) == 0) continue;
    std::string id = JsonString(reply, "id");
    std::string out;
    for (int e = 0; e < s.o.events; ++e) {
      out += Resp({"PUBLISH", "redge:progress:" + id, "{\"progress\":" + std::to_string(e) + "}"});
    }
    out += Resp({"SET", "redge:response:" + id, "{\"answer\":\"ok\",\"n\":42}"});
    c.Send(out);
    for (int e = 0; e <= s.o.events; ++e) ReadReply(c);
  }
}

void HttpWorker(Shared& s) {
  Conn c(s.o.http_port);
  const std::string lease = "/v1/queues/" + s.o.queue + "/lease?wait=1";
  while (!s.done) {
    c.Send(Post(lease, "{}"));
    auto [status, body] = ReadResponse(c);
    if (status == 204) continue;
    if (status != 200) Die("lease answered " + std::to_string(status) + ": " + body);
    const std::string id = JsonString(body, "id");
    const std::string token = "X-Lease-Token: " + JsonString(body, "lease_token") + "\r\n";
    std::string out;
    for (int e = 0; e < s.o.events; ++e) {
      out += Post("/v1/jobs/" + id + "/events",
                  "{\"data\":{\"progress\":" + std::to_string(e) + "}}", token);
    }
    out += Post("/v1/jobs/" + id + "/complete", "{\"result\":{\"answer\":\"ok\",\"n\":42}}", token);
    c.Send(out);
    for (int e = 0; e <= s.o.events; ++e) {
      auto [st, b] = ReadResponse(c);
      if (st != 200) Die("worker call answered " + std::to_string(st) + ": " + b);
    }
  }
}

// utime + stime of `pid` in seconds (/proc/PID/stat fields 14 and 15).
double ProcessCpu(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) Die("cannot read /proc/" + std::to_string(pid) + "/stat");
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i >= 14) ticks += std::atof(field.c_str());
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SelfCpu() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--http")
      o.http_port = std::atoi(value().c_str());
    else if (a == "--resp")
      o.resp_port = std::atoi(value().c_str());
    else if (a == "--pid")
      o.pid = std::atoi(value().c_str());
    else if (a == "--jobs")
      o.jobs = std::atoi(value().c_str());
    else if (a == "--producers")
      o.producers = std::atoi(value().c_str());
    else if (a == "--pipeline")
      o.pipeline = std::atoi(value().c_str());
    else if (a == "--readers")
      o.readers = std::atoi(value().c_str());
    else if (a == "--workers")
      o.workers = std::atoi(value().c_str());
    else if (a == "--events")
      o.events = std::atoi(value().c_str());
    else if (a == "--worker")
      o.worker = value();
    else if (a == "--queue")
      o.queue = value();
    else
      Die("unknown flag " + a + " (see the comment at the top of tools/bench/jobs_load.cc)");
  }
  if (o.http_port <= 0 || (o.worker == "resp" && o.resp_port <= 0))
    Die("--http and --resp are needed");
  if (o.worker != "resp" && o.worker != "http") Die("--worker is resp or http");
  if (o.jobs < 1 || o.producers < 1 || o.pipeline < 1 || o.readers < 1 || o.workers < 1 ||
      o.events < 0) {
    Die("--jobs, --producers, --pipeline, --readers and --workers must be positive");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Shared s;
  s.o = Parse(argc, argv);
  const double redge_cpu0 = s.o.pid ? ProcessCpu(s.o.pid) : 0;
  const double self_cpu0 = SelfCpu();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < s.o.workers; ++i) {
    threads.emplace_back(s.o.worker == "resp" ? RespWorker : HttpWorker, std::ref(s));
  }
  for (int i = 0; i < s.o.readers; ++i) threads.emplace_back(Reader, std::ref(s));
  std::vector<std::thread> producers;
  for (int i = 0; i < s.o.producers; ++i) producers.emplace_back(Producer, std::ref(s));
  for (auto& t : producers) t.join();
  {
    std::unique_lock lock(s.mu);
    s.cv.wait(lock, [&] { return s.done.load(); });
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double redge_cpu = s.o.pid ? ProcessCpu(s.o.pid) - redge_cpu0 : 0;
  const double self_cpu = SelfCpu() - self_cpu0;
  for (auto& t : threads) t.join();  // workers notice `done` within their 1 s wait
  std::printf(
      "jobs_load: %d jobs, %s workers x%d, %d events each, %d readers: %.2f s, %.0f jobs/s; "
      "CPU per job: redge %.0f us (%.2f cores), this client %.0f us (%.2f cores)\n",
      s.o.jobs, s.o.worker.c_str(), s.o.workers, s.o.events, s.o.readers, wall, s.o.jobs / wall,
      redge_cpu / s.o.jobs * 1e6, redge_cpu / wall, self_cpu / s.o.jobs * 1e6, self_cpu / wall);
  return 0;
}
