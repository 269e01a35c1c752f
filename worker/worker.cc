#include "worker/worker.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <thread>
#include <utility>

namespace redge::worker {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using std::chrono::milliseconds;

std::string DefaultName() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "worker") + ":" + std::to_string(getpid());
}

// One client per thread: httplib::Client must not run two requests at once.
std::unique_ptr<httplib::Client> MakeClient(const Options& o, double read_timeout_s) {
  auto cli = std::make_unique<httplib::Client>(o.url);
  cli->set_keep_alive(true);
  cli->set_connection_timeout(2, 0);
  auto read_s = static_cast<time_t>(read_timeout_s);
  cli->set_read_timeout(read_s, static_cast<time_t>((read_timeout_s - read_s) * 1e6));
  cli->set_write_timeout(10, 0);
  if (!o.token.empty()) cli->set_bearer_token_auth(o.token);
  if (!o.ca_cert.empty()) cli->set_ca_cert_path(o.ca_cert.c_str());
  return cli;
}

std::string ErrorCode(const httplib::Result& res) {
  if (!res) return httplib::to_string(res.error());
  try {
    return json::parse(res->body).at("error").at("code").get<std::string>();
  } catch (const std::exception&) {
    return "http " + std::to_string(res->status);
  }
}

}  // namespace

// A lease thread and the client it long-polls with (Stop() shuts its socket down so a
// parked lease request returns at once instead of after lease_wait_s).
struct Worker::Slot {
  int index = 0;
  std::unique_ptr<httplib::Client> lease_client;
  std::thread thread;
};

// ---------------------------------------------------------------------------------------
// JobContext
// ---------------------------------------------------------------------------------------

JobContext::JobContext(Worker* worker, const json& lease) : worker_(worker) {
  id_ = lease.value("id", "");
  payload_ = lease.value("payload", json());
  attempt_ = lease.value("attempt", 1);
  correlation_id_ = lease.value("correlation_id", "");
  lease_token_ = lease.value("lease_token", "");
  lease_timeout_ = milliseconds(std::max<int64_t>(lease.value("lease_timeout_ms", 60000), 30));
  cancel_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

JobContext::~JobContext() {
  if (cancel_fd_ >= 0) close(cancel_fd_);
}

void JobContext::MarkCanceled(const char* why) {
  if (canceled_.exchange(true)) return;
  spdlog::info("job {}: {}", id_, why);
  uint64_t one = 1;
  if (cancel_fd_ >= 0 && write(cancel_fd_, &one, sizeof(one)) < 0) {
    // An eventfd write only fails on counter overflow, impossible with one write.
  }
  std::lock_guard lock(worker_->mu_);
  worker_->cv_.notify_all();
}

bool JobContext::WaitCanceled(milliseconds timeout) {
  std::unique_lock lock(worker_->mu_);
  worker_->cv_.wait_for(lock, timeout, [this] { return canceled_.load(); });
  return canceled_.load();
}

bool JobContext::Event(const std::string& name, const json& data) {
  if (canceled_) return false;
  std::lock_guard lock(events_mu_);
  if (!events_client_) events_client_ = MakeClient(worker_->options_, 10);
  httplib::Headers headers = {{"X-Lease-Token", lease_token_}};
  json body = {{"event", name}, {"data", data}};
  auto res = events_client_->Post(("/v1/jobs/" + id_ + "/events").c_str(), headers, body.dump(),
                                  "application/json");
  if (res && res->status == 200) {
    try {
      if (json::parse(res->body).value("canceled", false)) {
        MarkCanceled("canceled (event refused)");
        return false;
      }
    } catch (const std::exception&) {
    }
    return true;
  }
  if (res && res->status == 409) MarkCanceled("lease lost");
  spdlog::warn("job {}: event {} not stored: {}", id_, name, ErrorCode(res));
  return false;
}

// ---------------------------------------------------------------------------------------
// Worker
// ---------------------------------------------------------------------------------------

Worker::Worker(Options options) : options_(std::move(options)) {
  if (options_.name.empty()) options_.name = DefaultName();
  options_.concurrency = std::max(1, options_.concurrency);
  options_.lease_wait_s = std::clamp(options_.lease_wait_s, 0.0, 60.0);
}

Worker::~Worker() {
  Stop();
  for (auto& slot : slots_) {
    if (slot->thread.joinable()) slot->thread.join();
  }
}

void Worker::Run(const Handler& handler) {
  {
    std::lock_guard lock(mu_);
    for (int i = 0; i < options_.concurrency; ++i) {
      auto slot = std::make_unique<Slot>();
      slot->index = i;
      // The read timeout outlasts the server-side wait so a parked lease is not cut.
      slot->lease_client = MakeClient(options_, options_.lease_wait_s + 10);
      slots_.push_back(std::move(slot));
    }
  }
  for (auto& slot : slots_) {
    slot->thread = std::thread([this, s = slot.get(), &handler] { SlotLoop(s, handler); });
  }
  for (auto& slot : slots_) slot->thread.join();
}

void Worker::Stop() {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  stop_deadline_ = Clock::now() + options_.stop_grace;
  stopping_ = true;
  for (auto& slot : slots_) slot->lease_client->stop();
  cv_.notify_all();
}

bool Worker::Backoff(milliseconds delay) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, delay, [this] { return stopping_.load(); });
  return !stopping_;
}

void Worker::SlotLoop(Slot* slot, const Handler& handler) {
  milliseconds backoff = options_.backoff_min;
  const std::string path =
      "/v1/queues/" + options_.queue + "/lease?wait=" + std::to_string(options_.lease_wait_s);
  const std::string body = json{{"worker", options_.name}}.dump();
  while (!stopping_) {
    auto res = slot->lease_client->Post(path.c_str(), body, "application/json");
    if (stopping_ && !(res && res->status == 200)) break;
    if (res && (res->status == 200 || res->status == 204)) {
      backoff = options_.backoff_min;
      if (res->status == 204) continue;
      json lease;
      try {
        lease = json::parse(res->body);
      } catch (const std::exception& e) {
        spdlog::error("lease reply is not JSON: {}", e.what());
        continue;
      }
      RunJob(slot, lease, handler);
      continue;
    }
    // Unreachable, restarting (503) or refusing us (401): wait and try again, longer
    // each time so a down redge is not hammered.
    spdlog::warn("lease on {} failed ({}); retrying in {} ms", options_.queue, ErrorCode(res),
                 backoff.count());
    if (!Backoff(backoff)) break;
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

void Worker::RunJob(Slot* slot, const json& lease, const Handler& handler) {
  JobContext ctx(this, lease);
  spdlog::info("job {}: leased (attempt {}, slot {})", ctx.id(), ctx.attempt(), slot->index);
  if (stopping_) {
    // Leased in the race with Stop(): hand it straight back.
    Finish(&ctx, "fail", {{"error", "worker stopping"}, {"retry", true}});
    return;
  }
  std::thread heartbeat([this, &ctx] { Heartbeat(&ctx); });
  Outcome outcome(nullptr);
  try {
    outcome = handler(ctx);
  } catch (const JobError& e) {
    outcome = Outcome::Fail(e.what(), e.retry());
  } catch (const std::exception& e) {
    outcome = Outcome::Fail(e.what(), options_.retry_on_exception);
  } catch (...) {
    outcome = Outcome::Fail("unknown exception", options_.retry_on_exception);
  }
  {
    std::lock_guard lock(mu_);
    ctx.done_ = true;
    cv_.notify_all();
  }
  heartbeat.join();
  if (ctx.canceled()) {
    // Canceled, lease lost or handed back by Stop(): redge refuses anything we send.
    spdlog::info("job {}: handler ended after cancellation; nothing reported", ctx.id());
    return;
  }
  if (outcome.ok) {
    if (Finish(&ctx, "complete", {{"result", outcome.result}})) {
      spdlog::info("job {}: completed", ctx.id());
    }
  } else if (Finish(&ctx, "fail", {{"error", outcome.error}, {"retry", outcome.retry}})) {
    spdlog::info("job {}: failed ({}){}", ctx.id(), outcome.error,
                 outcome.retry ? ", retry asked" : "");
  }
}

void Worker::Heartbeat(JobContext* ctx) {
  auto cli = MakeClient(options_, 10);
  const std::string path = "/v1/jobs/" + ctx->id() + "/heartbeat";
  httplib::Headers headers = {{"X-Lease-Token", ctx->lease_token_}};
  // A third of the lease: two beats may be lost before the lease runs out.
  const milliseconds period = std::max(ctx->lease_timeout_ / 3, milliseconds(10));
  auto next = Clock::now() + period;
  while (true) {
    {
      std::unique_lock lock(mu_);
      auto grace_over = [&] { return stopping_ && Clock::now() >= stop_deadline_; };
      while (!ctx->done_ && !grace_over() && Clock::now() < next) {
        auto until = stopping_ ? std::min(next, stop_deadline_) : next;
        cv_.wait_until(lock, until);
      }
      if (ctx->done_) return;
      if (grace_over()) break;
    }
    next = Clock::now() + period;
    if (ctx->canceled()) continue;  // nothing left to learn; just wait for the handler
    auto res = cli->Post(path.c_str(), headers, "", "application/json");
    if (res && res->status == 200) {
      try {
        if (json::parse(res->body).value("canceled", false)) ctx->MarkCanceled("canceled");
      } catch (const std::exception&) {
      }
    } else if (res && res->status == 409) {
      ctx->MarkCanceled("lease lost");
    } else {
      spdlog::warn("job {}: heartbeat failed ({})", ctx->id(), ErrorCode(res));
    }
  }
  // Stop()'s grace ran out with the handler still busy: give the job back so another
  // worker takes it, and tell the handler to give up.
  if (!ctx->canceled()) {
    ctx->handed_back_ = true;
    ctx->MarkCanceled("stop grace over, handing the job back");
    Finish(ctx, "fail", {{"error", "worker stopped"}, {"retry", true}});
  }
}

bool Worker::Finish(JobContext* ctx, const std::string& action, const json& body) {
  auto cli = MakeClient(options_, 10);
  const std::string path = "/v1/jobs/" + ctx->id() + "/" + action;
  httplib::Headers headers = {{"X-Lease-Token", ctx->lease_token_}};
  const std::string text = body.dump();
  const auto give_up = Clock::now() + options_.finish_retry_for;
  milliseconds backoff = options_.backoff_min;
  while (true) {
    auto res = cli->Post(path.c_str(), headers, text, "application/json");
    if (res && res->status == 200) return true;
    if (res && res->status >= 400 && res->status < 500) {
      spdlog::warn("job {}: {} refused ({})", ctx->id(), action, ErrorCode(res));
      return false;
    }
    if (Clock::now() + backoff > give_up) {
      spdlog::error("job {}: {} never got through ({}); redge's lease reaper will requeue it",
                    ctx->id(), action, ErrorCode(res));
      return false;
    }
    spdlog::warn("job {}: {} failed ({}); retrying in {} ms", ctx->id(), action, ErrorCode(res),
                 backoff.count());
    // Not Backoff(): a stopping worker still owes redge this job's outcome.
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

}  // namespace redge::worker
