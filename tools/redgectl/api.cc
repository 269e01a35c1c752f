#include "api.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace redgectl {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Plain requests answer at once (long-polls are not used here), so a short read timeout
// only matters when the server hangs. Streams get heartbeats every --sse-heartbeat seconds
// (15 by default): four missed ones mean the connection is dead even if TCP did not say so.
constexpr int kConnectTimeoutS = 5;
constexpr int kReadTimeoutS = 30;
constexpr int kStreamReadTimeoutS = 60;
// The server asks for `retry: 3000`; a CLI user waiting on a terminal should not wait more.
constexpr int kMaxRetryMs = 3000;

// httplib names its errors tersely ("Connection"); say what happened to the user.
std::string Describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "connection refused or failed";
    case httplib::Error::ConnectionTimeout:
      return "connect timed out";
    case httplib::Error::Read:
      return "connection lost while reading";
    case httplib::Error::Write:
      return "connection lost while writing";
    default:
      return httplib::to_string(e);
  }
}

bool IsTerminal(const std::string& event) {
  return event == "completed" || event == "failed" || event == "canceled";
}

// Incremental text/event-stream parser: feeds bytes, calls `emit` per complete event.
class SseParser {
 public:
  explicit SseParser(std::function<void(const SseEvent&)> emit) : emit_(std::move(emit)) {}

  void Feed(const char* data, size_t n) {
    buffer_.append(data, n);
    size_t start = 0;
    for (size_t nl; (nl = buffer_.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = buffer_.substr(start, nl - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      Line(line);
    }
    buffer_.erase(0, start);
  }

  int retry_ms() const { return retry_ms_; }

 private:
  void Line(const std::string& line) {
    if (line.empty()) {
      if (has_data_) {
        SseEvent ev;
        ev.id = id_;
        ev.event = event_.empty() ? "message" : event_;
        ev.data = json::parse(data_, nullptr, false);
        if (ev.data.is_discarded()) ev.data = data_;  // keep non-JSON data as a string
        emit_(ev);
      }
      event_.clear();
      data_.clear();
      has_data_ = false;
      return;
    }
    if (line[0] == ':') return;  // heartbeat comment
    size_t colon = line.find(':');
    std::string field = line.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (field == "id") {
      id_ = std::strtoll(value.c_str(), nullptr, 10);
    } else if (field == "event") {
      event_ = value;
    } else if (field == "data") {
      if (has_data_) data_ += '\n';
      data_ += value;
      has_data_ = true;
    } else if (field == "retry") {
      retry_ms_ = std::atoi(value.c_str());
    }
  }

  std::function<void(const SseEvent&)> emit_;
  std::string buffer_;
  std::string event_;
  std::string data_;
  bool has_data_ = false;
  int64_t id_ = 0;
  int retry_ms_ = 1000;
};

}  // namespace

json Reply::Json() const { return json::parse(body, nullptr, false); }

std::string Reply::ErrorText() const {
  if (!transport_error.empty()) return transport_error;
  json j = Json();
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const json& e = j["error"];
    return e.value("message", std::string("error")) + " (" + e.value("code", std::string("?")) +
           ", HTTP " + std::to_string(status) + ")";
  }
  return "HTTP " + std::to_string(status) + (body.empty() ? "" : ": " + body);
}

std::string EscapeSegment(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Api::Api(const std::string& url, const std::string& token, const std::string& ca_cert)
    : url_(url), token_(token), ca_cert_(ca_cert), client_(std::make_unique<httplib::Client>(url)) {
  client_->set_connection_timeout(kConnectTimeoutS, 0);
  client_->set_read_timeout(kReadTimeoutS, 0);
  if (!token_.empty()) client_->set_bearer_token_auth(token_.c_str());
  if (!ca_cert_.empty()) client_->set_ca_cert_path(ca_cert_.c_str());
}

Api::~Api() = default;

Reply Api::Wrap(const void* result) {
  const auto& res = *static_cast<const httplib::Result*>(result);
  Reply r;
  if (!res) {
    r.transport_error = "cannot reach redge at " + url_ + ": " + Describe(res.error());
    return r;
  }
  r.status = res->status;
  r.body = res->body;
  return r;
}

Reply Api::Get(const std::string& path) {
  auto res = client_->Get(path.c_str());
  return Wrap(&res);
}

Reply Api::Post(const std::string& path, const std::string& json_body) {
  auto res = client_->Post(path.c_str(), json_body, "application/json");
  return Wrap(&res);
}

Reply Api::Delete(const std::string& path) {
  auto res = client_->Delete(path.c_str());
  return Wrap(&res);
}

StreamEnd Api::FollowEvents(const std::string& job_id, int64_t after,
                            const std::function<void(const SseEvent&)>& on_event,
                            double give_up_seconds) {
  // A separate client: the stream's long read timeout must not apply to other requests.
  httplib::Client stream(url_);
  stream.set_connection_timeout(kConnectTimeoutS, 0);
  stream.set_read_timeout(kStreamReadTimeoutS, 0);
  if (!token_.empty()) stream.set_bearer_token_auth(token_.c_str());
  if (!ca_cert_.empty()) stream.set_ca_cert_path(ca_cert_.c_str());

  int64_t last_id = after;
  bool ever_connected = false;
  auto give_up_at = Clock::now() + std::chrono::duration<double>(give_up_seconds);
  const std::string base = "/v1/jobs/" + EscapeSegment(job_id) + "/events";
  for (;;) {
    std::string terminal;
    int status = 0;
    std::string error_body;
    SseParser parser([&](const SseEvent& ev) {
      if (ev.id > 0 && ev.id <= last_id) return;  // never show an event twice
      if (ev.id > 0) last_id = ev.id;
      on_event(ev);
      if (IsTerminal(ev.event)) terminal = ev.event;
    });
    httplib::Headers headers;
    // Resume with Last-Event-ID (the SSE way); the first connection asks for everything
    // after `after` with the query form, which is the same thing for the server.
    std::string path = base;
    if (last_id > 0) {
      headers.emplace("Last-Event-ID", std::to_string(last_id));
    } else {
      path += "?after=" + std::to_string(last_id);
    }
    auto res = stream.Get(
        path.c_str(), headers,
        [&](const httplib::Response& r) {
          status = r.status;
          if (status == 200) {
            ever_connected = true;
            give_up_at = Clock::now() + std::chrono::duration<double>(give_up_seconds);
          }
          return true;
        },
        [&](const char* data, size_t n) {
          if (status != 200) {
            error_body.append(data, n);
            return true;
          }
          parser.Feed(data, n);
          return terminal.empty();  // stop reading once the job has ended
        });
    if (!terminal.empty()) {
      return {terminal == "completed" ? kExitOk : kExitFailed, ""};
    }
    if (res && status != 200 && status != 503) {
      Reply r{status, error_body.empty() ? res->body : error_body, ""};
      return {kExitFailed, r.ErrorText()};
    }
    if (!res && !ever_connected) {
      return {kExitUnreachable, "cannot reach redge at " + url_ + ": " + Describe(res.error())};
    }
    if (Clock::now() >= give_up_at) {
      return {kExitUnreachable, "lost the event stream from " + url_ + " and could not resume"};
    }
    int wait_ms = std::min(std::max(parser.retry_ms(), 100), kMaxRetryMs);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  }
}

}  // namespace redgectl
