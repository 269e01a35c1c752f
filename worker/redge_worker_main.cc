// redge-worker: runs a command once per job of a redge queue (see kHelp and README.md).
//
// Each job gets its own process group (setpgid) so a timeout, a cancel or Stop()'s grace
// kills everything the command started, not just its first process. The child's pipes
// and its pidfd are read with one poll() loop per job, so nothing here sleeps waiting
// for something to happen.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "edge/json_input.h"
#include "worker/worker.h"

namespace {

using nlohmann::json;
using redge::worker::JobContext;
using redge::worker::Outcome;
using Clock = std::chrono::steady_clock;

constexpr char kHelp[] = R"(usage: redge-worker --queue Q [options] -- CMD [ARGS...]

Leases jobs from queue Q of a redge HTTP listener and runs CMD once per job.

  --url URL            redge's HTTP listener (default http://127.0.0.1:8080)
  --queue Q            queue to lease from (required)
  --concurrency N      jobs run at once (default 1)
  --token T            bearer token (redge --http-token); default $REDGE_TOKEN
  --name NAME          lease holder name (default <hostname>:<pid>)
  --timeout S          kill the command after S seconds (SIGTERM to its process group,
                       SIGKILL 2 s later) and fail the job with "timeout" (default: none)
  --retry-on-failure   failed jobs ask redge for a retry (until --max-attempts)
  --lease-wait S       long-poll duration of one lease request (default 20)
  --stop-grace S       on SIGTERM/SIGINT, seconds running jobs may finish before they
                       are killed and handed back with retry (default 10)
  --log-level L        trace, debug, info, warn, error (default info)

Per job, CMD gets:
  stdin    the job's payload as JSON (one line), then EOF
  env      REDGE_JOB_ID, REDGE_JOB_ATTEMPT, REDGE_CORRELATION_ID
Its output becomes job events:
  - a stdout line that is a JSON object with a string "event" field is an event of
    that type, its data the whole object;
  - any other stdout line is a "chunk" event {"text": line} (a line that is valid JSON
    is held back until the next line arrives, because it may be the result);
  - stderr lines go to redge-worker's log, tagged with the job id.
When CMD exits:
  - exit 0 completes the job; result = the last stdout line if it is JSON (and not an
    event line), else {"output": all stdout text};
  - a non-zero exit or a signal fails the job ("exit code N: <last stderr line>");
  - a cancel (DELETE /v1/jobs/{id}) kills the process group; nothing is reported.
)";

struct Config {
  redge::worker::Options options;
  double timeout_s = 0;
  bool retry_on_failure = false;
  std::vector<std::string> command;
  std::string log_level;
};

[[noreturn]] void Usage(const std::string& error) {
  std::fprintf(stderr, "redge-worker: %s\n\n%s", error.c_str(), kHelp);
  std::exit(2);
}

Config ParseArgs(int argc, char** argv) {
  Config c;
  c.options.name = "";
  if (const char* t = std::getenv("REDGE_TOKEN")) c.options.token = t;
  std::string level = "info";
  int i = 1;
  auto value = [&](const std::string& flag) -> std::string {
    if (i + 1 >= argc) Usage(flag + " needs a value");
    return argv[++i];
  };
  auto number = [&](const std::string& flag) -> double {
    std::string v = value(flag);
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || d < 0) Usage("bad value for " + flag + ": " + v);
    return d;
  };
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) c.command.push_back(argv[i]);
      break;
    }
    if (a == "-h" || a == "--help") {
      std::fputs(kHelp, stdout);
      std::exit(0);
    } else if (a == "--url") {
      c.options.url = value(a);
    } else if (a == "--queue") {
      c.options.queue = value(a);
    } else if (a == "--concurrency") {
      c.options.concurrency = static_cast<int>(number(a));
    } else if (a == "--token") {
      c.options.token = value(a);
    } else if (a == "--name") {
      c.options.name = value(a);
    } else if (a == "--timeout") {
      c.timeout_s = number(a);
    } else if (a == "--retry-on-failure") {
      c.retry_on_failure = true;
    } else if (a == "--lease-wait") {
      c.options.lease_wait_s = number(a);
    } else if (a == "--stop-grace") {
      c.options.stop_grace = std::chrono::milliseconds(static_cast<int64_t>(number(a) * 1000));
    } else if (a == "--log-level") {
      level = value(a);
    } else {
      Usage("unknown option " + a);
    }
  }
  if (c.options.queue.empty()) Usage("--queue is required");
  if (c.command.empty()) Usage("no command after --");
  if (c.options.concurrency < 1) Usage("--concurrency must be at least 1");
  c.log_level = level;
  return c;
}

// Splits a byte stream into lines; the last, unterminated piece comes out at EOF.
class LineBuffer {
 public:
  template <typename F>
  void Feed(const char* data, size_t n, F&& on_line) {
    buf_.append(data, n);
    size_t start = 0;
    for (size_t nl; (nl = buf_.find('\n', start)) != std::string::npos; start = nl + 1) {
      on_line(Trim(buf_.substr(start, nl - start)));
    }
    buf_.erase(0, start);
  }
  template <typename F>
  void Eof(F&& on_line) {
    if (!buf_.empty()) on_line(Trim(buf_));
    buf_.clear();
  }

 private:
  static std::string Trim(std::string s) {
    if (!s.empty() && s.back() == '\r') s.pop_back();
    return s;
  }
  std::string buf_;
};

// Turns stdout lines into events and remembers what the result rule needs.
class StdoutEvents {
 public:
  explicit StdoutEvents(JobContext* ctx) : ctx_(ctx) {}

  void Line(const std::string& line) {
    all_ += line;
    all_ += '\n';
    if (line.empty()) return;
    FlushHeld();
    json parsed;
    // Nested deeper than redge accepts (or not JSON): sent as text, never built into a
    // json whose dump would recurse that deep.
    if (redge::ParseJson(line, &parsed) != redge::JsonError::kNone) {
      ctx_->Chunk(line);
    } else if (parsed.is_object() && parsed.contains("event") && parsed["event"].is_string()) {
      ctx_->Event(parsed["event"].get<std::string>(), parsed);
    } else {
      held_ = std::move(parsed);  // maybe the result: decided by the next line or EOF
      held_text_ = line;
    }
  }
  // Exit 0: the held JSON line (the last line) is the result, else all stdout text.
  json Result() {
    if (held_) return *std::exchange(held_, std::nullopt);
    return {{"output", all_}};
  }
  void FlushHeld() {
    if (held_) ctx_->Chunk(held_text_);
    held_.reset();
  }

 private:
  JobContext* ctx_;
  std::string all_;
  std::optional<json> held_;
  std::string held_text_;
};

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

[[noreturn]] void ExecChild(const Config& cfg, JobContext& ctx, int in, int out, int err) {
  setpgid(0, 0);
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  // The parent blocks SIGTERM/SIGINT (its sigwait thread) and ignores SIGPIPE; the
  // command should start with the defaults.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  setenv("REDGE_JOB_ID", ctx.id().c_str(), 1);
  setenv("REDGE_JOB_ATTEMPT", std::to_string(ctx.attempt()).c_str(), 1);
  setenv("REDGE_CORRELATION_ID", ctx.correlation_id().c_str(), 1);
  std::vector<char*> args;
  for (const auto& a : cfg.command) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
  _exit(127);
}

Outcome RunCommand(const Config& cfg, JobContext& ctx) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    return Outcome::Fail(std::string("pipe: ") + std::strerror(errno), true);
  }
  pid_t pid = fork();
  if (pid < 0) return Outcome::Fail(std::string("fork: ") + std::strerror(errno), true);
  if (pid == 0) ExecChild(cfg, ctx, in[0], out[1], err[1]);
  setpgid(pid, pid);  // also here: a kill right after fork must reach the group
  close(in[0]);
  close(out[1]);
  close(err[1]);
  SetNonBlocking(in[1]);
  SetNonBlocking(out[0]);
  SetNonBlocking(err[0]);
  int pidfd = PidfdOpen(pid);
  spdlog::info("job {}: started pid {}", ctx.id(), pid);

  std::string input = ctx.payload().dump() + "\n";
  size_t written = 0;
  int in_fd = in[1], out_fd = out[0], err_fd = err[0];
  LineBuffer out_lines, err_lines;
  StdoutEvents events(&ctx);
  std::string last_err;
  auto on_out = [&](const std::string& line) { events.Line(line); };
  auto on_err = [&](const std::string& line) {
    spdlog::info("job {} stderr: {}", ctx.id(), line);
    if (!line.empty()) last_err = line;
  };
  std::optional<int> status;
  std::optional<Clock::time_point> deadline;
  if (cfg.timeout_s > 0) {
    deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(cfg.timeout_s * 1e3));
  }
  std::optional<Clock::time_point> kill_at;  // SIGKILL time once SIGTERM was sent
  bool timed_out = false;
  auto terminate = [&] {
    if (kill_at) return;
    kill(-pid, SIGTERM);
    kill_at = Clock::now() + std::chrono::seconds(2);
  };
  char buf[65536];
  while (!status || out_fd >= 0 || err_fd >= 0) {
    std::vector<pollfd> fds;
    if (in_fd >= 0) fds.push_back({in_fd, POLLOUT, 0});
    if (out_fd >= 0) fds.push_back({out_fd, POLLIN, 0});
    if (err_fd >= 0) fds.push_back({err_fd, POLLIN, 0});
    if (!status) fds.push_back({pidfd, POLLIN, 0});
    if (!kill_at) fds.push_back({ctx.cancel_fd(), POLLIN, 0});
    int timeout_ms = -1;
    auto now = Clock::now();
    for (auto t : {deadline, kill_at}) {
      if (!t || status) continue;
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*t - now).count() + 1;
      timeout_ms = timeout_ms < 0
                       ? static_cast<int>(std::max<int64_t>(ms, 0))
                       : std::min(timeout_ms, static_cast<int>(std::max<int64_t>(ms, 0)));
    }
    int n = poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) {
      spdlog::error("job {}: poll: {}", ctx.id(), std::strerror(errno));
      terminate();
    }
    now = Clock::now();
    if (!status && kill_at && now >= *kill_at) kill(-pid, SIGKILL);
    if (!status && deadline && now >= *deadline && !kill_at) {
      spdlog::warn("job {}: timeout after {} s, killing process group {}", ctx.id(), cfg.timeout_s,
                   pid);
      timed_out = true;
      terminate();
    }
    for (const auto& p : fds) {
      if (!p.revents) continue;
      if (p.fd == in_fd) {
        ssize_t w = write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) written += w;
        if (w < 0 && errno != EAGAIN) written = input.size();  // EPIPE: it won't read
        if (written == input.size()) {
          close(in_fd);
          in_fd = -1;
        }
      } else if (p.fd == out_fd || p.fd == err_fd) {
        bool is_out = p.fd == out_fd;
        ssize_t r = read(p.fd, buf, sizeof(buf));
        if (r > 0) {
          is_out ? out_lines.Feed(buf, r, on_out) : err_lines.Feed(buf, r, on_err);
        } else if (r == 0 || errno != EAGAIN) {
          is_out ? out_lines.Eof(on_out) : err_lines.Eof(on_err);
          close(p.fd);
          (is_out ? out_fd : err_fd) = -1;
        }
      } else if (p.fd == pidfd) {
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == pid) {
          status = st;
          // Whatever the command left running in its group would hold our pipes open.
          kill(-pid, SIGKILL);
        }
      } else if (p.fd == ctx.cancel_fd()) {
        spdlog::info("job {}: canceled, killing process group {}", ctx.id(), pid);
        terminate();
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  close(pidfd);

  const bool retry = cfg.retry_on_failure;
  if (ctx.canceled()) return Outcome::Fail("canceled", false);
  if (timed_out) {
    events.FlushHeld();
    return Outcome::Fail("timeout", retry);
  }
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return events.Result();
  events.FlushHeld();
  std::string error = WIFEXITED(*status) ? "exit code " + std::to_string(WEXITSTATUS(*status))
                                         : "killed by signal " + std::to_string(WTERMSIG(*status));
  if (!last_err.empty()) error += ": " + last_err;
  return Outcome::Fail(error, retry);
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg = ParseArgs(argc, argv);
  // Logs on stderr: stdout is left to nothing, like redge's.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("redge-worker"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ redge-worker: %v");
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  signal(SIGPIPE, SIG_IGN);
  // SIGTERM/SIGINT are taken by a sigwait thread: Stop() locks a mutex, which a signal
  // handler must not do. Blocked before any thread starts so every thread inherits it.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  redge::worker::Worker worker(cfg.options);
  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("signal {}: stopping (running jobs may finish)", sig);
    worker.Stop();
  });
  signals.detach();  // Run() only returns after Stop(), i.e. after this thread's work
  spdlog::info("leasing from {} queue {} with concurrency {}", cfg.options.url, cfg.options.queue,
               cfg.options.concurrency);
  worker.Run([&cfg](JobContext& ctx) { return RunCommand(cfg, ctx); });
  spdlog::info("stopped");
  return 0;
}
