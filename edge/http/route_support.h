// Internal to edge/http: helpers shared by the JobsApi route files (producer_routes.cc,
// worker_routes.cc, operator_routes.cc, sse_routes.cc, channels_api.cc).
#pragma once

#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "edge/decimal.h"
#include "edge/http/http_server.h"
#include "edge/http/jobs_api.h"
#include "edge/jobs/job.h"
#include "edge/jobs/job_service.h"
#include "edge/json_input.h"
#include "edge/net/event_loop.h"

namespace redge::http::routes {

inline constexpr size_t kMaxIdempotencyKey = 256;
inline constexpr int kMaxListLimit = 1000;

inline bool PrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Seconds with fractions, in [lo, hi]; nullopt when malformed or out of range.
inline std::optional<double> ParseSeconds(const std::string& v, double lo, double hi) {
  double d = 0;
  if (!ParseDecimal(v, &d) || !(d >= lo && d <= hi)) return std::nullopt;
  return d;
}

// Parses a JSON request body; an empty body is `fallback`. Replies 400 and returns
// nullopt when it is not JSON or nests deeper than kMaxJsonInputDepth.
inline std::optional<nlohmann::json> BodyJson(const Request& req, Exchange& ex,
                                              const std::string& corr, nlohmann::json fallback) {
  if (req.body.empty()) return fallback;
  nlohmann::json j;
  if (JsonError e = ParseJson(req.body, &j); e != JsonError::kNone) {
    ReplyError(ex, 400, "invalid_json", "the request body is " + JsonErrorText(e), corr);
    return std::nullopt;
  }
  return j;
}

// A completion threw `what`: logs it and answers 500 as the server does for a handler that
// throws (ignored if the exchange already answered) (jobs_api.cc).
void CompletionFailed(Exchange& ex, const char* what);

inline std::string LeaseToken(const Request& req) {
  auto t = req.Header("x-lease-token");
  return t ? std::string(*t) : std::string();
}

// Runs `fn` on `ex`'s loop (posted, even from the loop itself: a reply never runs inside
// the caller's code; dropped once the server has stopped). As for a handler the server
// calls, an exception `fn` throws answers 500 (if nothing was sent yet) instead of escaping
// into the loop.
template <typename F>
void PostTo(const std::shared_ptr<Exchange>& ex, F fn) {
  ex->Post([ex, fn = std::move(fn)]() mutable {
    try {
      fn();
    } catch (const std::exception& e) {
      CompletionFailed(*ex, e.what());
    } catch (...) {
      CompletionFailed(*ex, "unknown exception");
    }
  });
}

// The completion of an asynchronous jobs operation for an exchange: `fn(outcome, result)`
// runs on the exchange's loop (PostTo), whatever thread the commit finished on. `fn` must
// own what it uses (the exchange, the correlation id, ...), never a Request.
template <typename R, typename F>
jobs::JobService::Done<R> OnLoop(const std::shared_ptr<Exchange>& ex, F fn) {
  return [ex, fn = std::move(fn)](jobs::Outcome out, R result) {
    PostTo(ex, [fn, out = std::move(out), result = std::move(result)]() mutable {
      fn(std::move(out), std::move(result));
    });
  };
}

}  // namespace redge::http::routes
