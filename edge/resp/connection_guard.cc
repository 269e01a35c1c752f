// Connection: what protects the server from its clients. Output limits
// (client-output-buffer-limit and the process-wide output budget), failed-AUTH replies
// held back, and the cross-protocol guard. The rest of Connection is in connection.cc.
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "edge/log.h"
#include "edge/resp/connection.h"
#include "edge/resp/server.h"

namespace redge::resp {

// Cross-protocol scripting: a web page can make a browser POST to the RESP port, and every
// line of that request would run as a command. A command named "POST" or "Host:" is such a
// request (no Redis client sends them): the connection is closed at once, before anything
// else of it runs, as Redis does. Logged at most once a minute (a page can send many).
bool Connection::IsHttpRequestLine(const std::vector<std::string>& argv) {
  return !argv.empty() && (EqualsIgnoreCase(argv[0], "post") || EqualsIgnoreCase(argv[0], "host:"));
}

void Connection::LogCrossProtocolAttempt(const std::string& peer) {
  static std::atomic<int64_t> last_logged_s{-1'000'000};
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
  int64_t last = last_logged_s.load();
  if (now_s - last < 60 || !last_logged_s.compare_exchange_strong(last, now_s)) return;
  Log(spdlog::level::warn,
      "possible cross-protocol attack: an HTTP request (POST or Host:) came in on the RESP "
      "port; connection closed (logged at most once a minute)",
      {{"peer", peer}});
}

void Connection::HoldErrorReply(std::chrono::milliseconds delay, std::string line) {
  waiting_ = true;
  std::weak_ptr<Connection> weak = weak_from_this();
  loop_->RunAfter(delay, [weak, line = std::move(line)] {
    auto c = weak.lock();
    if (!c || c->closed_) return;
    c->writer_.Error(line);
    c->waiting_ = false;
    c->Resume();
  });
}

bool Connection::CheckOutputLimits() {
  const bool pubsub = subscriber_ && subscriber_->SubscriptionCount() > 0;
  const uint64_t used = out_.size() - out_pos_ + (subscriber_ ? subscriber_->QueuedBytes() : 0);
  omem_ = static_cast<int64_t>(used);
  if (budget_) server_->options().output_budget->Update(*budget_, used);
  const OutputLimits all = server_->output_limits();
  const OutputLimit& limit = pubsub ? all.pubsub : all.normal;
  const char* why = nullptr;
  if (limit.hard != 0 && used >= limit.hard) {
    why = "hard";
  } else if (limit.soft != 0 && used >= limit.soft) {
    auto now = std::chrono::steady_clock::now();
    if (soft_limit_since_ == std::chrono::steady_clock::time_point{}) {
      soft_limit_since_ = now;
      // Nothing may happen on a stalled client: a timer checks the soft limit again.
      std::weak_ptr<Connection> weak = weak_from_this();
      loop_->RunAfter(std::chrono::seconds(limit.soft_seconds + 1), [weak] {
        if (auto c = weak.lock(); c && !c->closed_) c->CheckOutputLimits();
      });
    } else if (now - soft_limit_since_ > std::chrono::seconds(limit.soft_seconds)) {
      why = "soft";
    }
  } else {
    soft_limit_since_ = {};
  }
  if (why == nullptr) return false;
  server_->stats().output_limit_disconnections++;
  Log(spdlog::level::warn, "resp client closed for going over its output buffer limit",
      {{"peer", peer_},
       {"id", std::to_string(id_)},
       {"class", pubsub ? "pubsub" : "normal"},
       {"limit", why},
       {"output_bytes", std::to_string(used)}});
  Close();
  return true;
}

}  // namespace redge::resp
