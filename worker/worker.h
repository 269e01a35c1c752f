// redge::worker::Worker: a client of redge's HTTP worker API (docs/http-api.md, "Workers").
//
// A Worker leases jobs from one queue and runs a handler on each:
//
//   redge::worker::Options options;
//   options.url = "http://127.0.0.1:8080";
//   options.queue = "chat";
//   redge::worker::Worker worker(options);
//   worker.Run([](redge::worker::JobContext& job) -> redge::worker::Outcome {
//     job.Chunk("hello");
//     return nlohmann::json{{"answer", 42}};  // completes the job with this result
//   });
//
// What it promises:
// - `concurrency` threads each long-poll `POST /v1/queues/{queue}/lease?wait=S` and run
//   the handler on the job they got, so at most `concurrency` handlers run at once.
// - While a handler runs, a heartbeat thread keeps its lease alive (every
//   lease_timeout/3) and learns whether the job was canceled: JobContext::canceled()
//   turns true and cancel_fd() becomes readable. A handler that ignores cancellation
//   still runs to its end; its result is then dropped (redge refuses it anyway).
// - The handler's return value completes the job; a returned Outcome::Fail or a thrown
//   exception fails it (JobError carries the retry flag; any other exception fails with
//   Options::retry_on_exception).
// - When redge is unreachable or restarting, leasing retries with exponential backoff
//   (Options::backoff_min .. backoff_max); complete/fail calls are retried the same way
//   for up to Options::finish_retry_for, after which the job is left to redge's lease
//   reaper (it comes back as `retrying`).
// - Stop() (from any thread, e.g. a SIGTERM watcher; not from a signal handler) stops
//   leasing at once, lets running handlers finish, and after Options::stop_grace fails
//   the jobs still running with retry=true (so another worker takes them) and signals
//   their cancel_fd. Run() returns once every thread is done.
//
// Thread-safety: Run() may be called once per Worker. Stop() is safe from any thread at
// any time. A JobContext belongs to the handler call it was given to; its methods may be
// called from that thread and any threads the handler starts, but not after the handler
// returned.
#ifndef REDGE_WORKER_WORKER_H_
#define REDGE_WORKER_WORKER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace httplib {
class Client;
}  // namespace httplib

namespace redge::worker {

struct Options {
  std::string url = "http://127.0.0.1:8080";  // redge's --http listener
  std::string queue;
  std::string name;   // lease holder name; empty: "<hostname>:<pid>"
  std::string token;  // a bearer credential (API key, --http-token), empty: none
  // PEM CA certificates that sign redge's TLS certificate (https:// URLs); empty: the
  // system's trusted CAs.
  std::string ca_cert;
  int concurrency = 1;
  double lease_wait_s = 20;  // long-poll duration of one lease request (0..60)
  bool retry_on_exception = false;
  std::chrono::milliseconds stop_grace{10000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds finish_retry_for{30000};
};

// What a handler produced. Implicit from a json value so `return json{...};` completes.
struct Outcome {
  Outcome(nlohmann::json value) : result(std::move(value)) {}  // NOLINT: implicit on purpose
  static Outcome Fail(std::string error, bool retry) {
    Outcome o(nullptr);
    o.ok = false;
    o.error = std::move(error);
    o.retry = retry;
    return o;
  }
  bool ok = true;
  nlohmann::json result;
  std::string error;
  bool retry = false;
};

// Thrown by a handler to fail its job with an explicit retry decision.
class JobError : public std::runtime_error {
 public:
  JobError(const std::string& message, bool retry) : std::runtime_error(message), retry_(retry) {}
  bool retry() const { return retry_; }

 private:
  bool retry_;
};

class Worker;

class JobContext {
 public:
  ~JobContext();
  JobContext(const JobContext&) = delete;
  JobContext& operator=(const JobContext&) = delete;

  const std::string& id() const { return id_; }
  const nlohmann::json& payload() const { return payload_; }
  int attempt() const { return attempt_; }
  const std::string& correlation_id() const { return correlation_id_; }

  // Append an event to the job (extends the lease). False when it was not stored: the
  // job was canceled, the lease is lost, or redge could not be reached.
  bool Progress(const nlohmann::json& data) { return Event("progress", data); }
  bool Chunk(const std::string& text) { return Event("chunk", {{"text", text}}); }
  bool Event(const std::string& name, const nlohmann::json& data);

  // True once redge said the job was canceled, the lease was lost, or Stop()'s grace ran
  // out: the handler should give up; whatever it returns is not reported.
  bool canceled() const { return canceled_.load(); }
  // Readable (an eventfd) once canceled() is true: for handlers that poll() on fds.
  int cancel_fd() const { return cancel_fd_; }
  // Blocks until canceled() or `timeout` passed; returns canceled().
  bool WaitCanceled(std::chrono::milliseconds timeout);

 private:
  friend class Worker;
  JobContext(Worker* worker, const nlohmann::json& lease);
  void MarkCanceled(const char* why);

  Worker* worker_;
  std::string id_;
  nlohmann::json payload_;
  int attempt_ = 0;
  std::string correlation_id_;
  std::string lease_token_;
  std::chrono::milliseconds lease_timeout_{60000};
  std::atomic<bool> canceled_{false};
  std::atomic<bool> handed_back_{false};  // failed with retry by Stop()'s grace timeout
  int cancel_fd_ = -1;
  // Event() keeps one connection for the job (a chat streams many chunks) and serializes
  // calls from the handler's threads on it.
  std::mutex events_mu_;
  std::unique_ptr<httplib::Client> events_client_;
  bool done_ = false;  // the handler returned: ends the heartbeat thread (Worker::mu_)
};

using Handler = std::function<Outcome(JobContext&)>;

class Worker {
 public:
  explicit Worker(Options options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Leases and handles jobs until Stop(); returns once all slots are idle.
  void Run(const Handler& handler);
  // Stops leasing, interrupts backoff waits and lease long-polls; see the header comment.
  void Stop();
  bool stopping() const { return stopping_.load(); }

  const Options& options() const { return options_; }

 private:
  friend class JobContext;
  struct Slot;

  void SlotLoop(Slot* slot, const Handler& handler);
  void RunJob(Slot* slot, const nlohmann::json& lease, const Handler& handler);
  void Heartbeat(JobContext* ctx);
  // POSTs a terminal call with retries; false if it never got through.
  bool Finish(JobContext* ctx, const std::string& action, const nlohmann::json& body);
  // Waits `delay` or until Stop(); false when stopping.
  bool Backoff(std::chrono::milliseconds delay);

  Options options_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  // Wakes backoff waits, heartbeat threads (Stop(), a job ending) and WaitCanceled().
  std::condition_variable cv_;
  std::chrono::steady_clock::time_point stop_deadline_;
  std::vector<std::unique_ptr<Slot>> slots_;
};

}  // namespace redge::worker

#endif  // REDGE_WORKER_WORKER_H_
