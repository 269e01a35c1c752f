// worker_example: a small worker built on the SDK (worker/worker.h).
//
//   build/worker_example --url http://127.0.0.1:8080 --queue demo [--token T]
//
// Per job: payload {"text": "a b c", "sleep_s": 0.0, "fail": false}. It streams each word
// of "text" as a chunk, reports progress, waits "sleep_s" seconds (ending early when
// the job is canceled), and completes with {"words": N, "attempt": A}; "fail": true fails
// the job with retry. SIGTERM/SIGINT stop it gracefully.
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>

#include "worker/worker.h"

int main(int argc, char** argv) {
  redge::worker::Options options;
  options.queue = "demo";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--url") {
      options.url = argv[i + 1];
    } else if (flag == "--queue") {
      options.queue = argv[i + 1];
    } else if (flag == "--token") {
      options.token = argv[i + 1];
    } else if (flag == "--concurrency") {
      options.concurrency = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: worker_example [--url URL] [--queue Q] [--token T]\n");
      return 2;
    }
  }
  // Signals go to a sigwait thread because Worker::Stop() takes a lock.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  spdlog::set_default_logger(spdlog::stderr_logger_mt("worker_example"));
  redge::worker::Worker worker(options);
  std::thread([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    worker.Stop();
  }).detach();

  worker.Run([](redge::worker::JobContext& job) -> redge::worker::Outcome {
    const auto& p = job.payload();
    std::istringstream words(p.is_object() ? p.value("text", "") : "");
    int count = 0;
    for (std::string word; words >> word; ++count) job.Chunk(word);
    job.Progress({{"words", count}});
    double sleep_s = p.is_object() ? p.value("sleep_s", 0.0) : 0.0;
    if (sleep_s > 0 &&
        job.WaitCanceled(std::chrono::milliseconds(static_cast<int64_t>(sleep_s * 1000)))) {
      spdlog::info("job {}: saw the cancel, giving up", job.id());
      return redge::worker::Outcome::Fail("canceled", false);
    }
    if (p.is_object() && p.value("fail", false)) {
      throw redge::worker::JobError("asked to fail", /*retry=*/true);
    }
    return nlohmann::json{{"words", count}, {"attempt", job.attempt()}};
  });
  return 0;
}
