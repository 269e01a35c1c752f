// The readers of a job's events: the SSE stream (GET /v1/jobs/{id}/events) and the
// long-poll (GET /v1/jobs/{id}?after=N&wait=S). Both are parked exchanges woken by the
// JobService watcher of their job; neither re-reads the store on a timer. Their reads are
// asynchronous (JobService::ReadAsync, completions posted back to the loop): each has at
// most one read in flight, and wake-ups during it are coalesced into one more read.
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "edge/decimal.h"
#include "edge/http/jobs_api.h"
#include "edge/http/route_support.h"
#include "edge/http/sse.h"
#include "edge/json_input.h"
#include "edge/log.h"
#include "edge/net/event_loop.h"

namespace redge::http {

using jobs::Event;
using jobs::Job;
using jobs::Outcome;
using nlohmann::json;

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;
using CommittedEventPtr = std::shared_ptr<const jobs::JobService::CommittedEvent>;

// A non-negative event id; nullopt when malformed.
std::optional<int64_t> ParseEventId(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

void AppendEvent(std::string* out, const Event& e) {
  AppendSseEvent(out, e.id, e.type, DumpJson(e.data));
}

// Pacing of a stream: events are written while it holds less than kSseHighWater unsent
// bytes; then it waits until its reader has taken all but kSseLowWater, and reads what
// is left from the store. So a slow reader costs at most kSseHighWater plus one event
// (<= --max-event-bytes), never its backlog, and any stored event can be delivered.
constexpr size_t kSseHighWater = 64 * 1024;
constexpr size_t kSseLowWater = 16 * 1024;

bool IsTerminalEventType(std::string_view type) {
  return type == "completed" || type == "failed" || type == "canceled";
}

// One open SSE stream. Lives on its exchange's loop; the watcher only posts Pump().
struct Stream : std::enable_shared_from_this<Stream> {
  jobs::JobService* jobs = nullptr;
  std::shared_ptr<Exchange> ex;
  std::string id, correlation;
  int64_t last_sent = 0;
  uint64_t watch = 0;
  net::EventLoop::TimerId heartbeat = 0;
  int64_t heartbeat_ms = 0;
  bool pump_pending = false;    // a Pump is already posted: coalesce wake-ups
  bool reading = false;         // a read is in flight (see Pump)
  bool reread = false;          // woken while it was: read once more when it completes
  bool waiting_reader = false;  // an OnDrain is registered
  bool finished = false;
  std::atomic<int64_t>* open = nullptr;
  Histogram* delivery = nullptr;  // redge_event_delivery_seconds, or null
  CounterFamily* sent = nullptr;  // redge_sse_events_sent_total, or null
  // Commit time of the oldest change notified since the last Pump; empty when the Pump
  // is a replay rather than a wake-up.
  std::optional<SteadyTime> woken_at;
  JobsApi* api = nullptr;
  uint64_t drain_hook = 0;
  // The credential that opened the stream: when it expires (a JWT's exp, a stream token's
  // expiry) or a reload revokes it (an API key removed), the stream sends `auth_expired`
  // and ends; the client resumes with a fresh credential and Last-Event-ID.
  std::shared_ptr<const auth::Principal> principal;
  net::EventLoop::TimerId expiry_timer = 0;
  uint64_t auth_hook = 0;
  // The stream owns itself until Finish: watchers, timers and OnClose hold it weakly, so
  // no cycle through the exchange keeps a finished stream alive.
  std::shared_ptr<Stream> self;

  // The in-memory tail: events handed over by the watcher as they commit, by id. While
  // they follow last_sent without a gap they are written as they are, and the store is
  // not read; a wake-up without an event (the job was deleted), a gap, or a tail grown
  // past kMaxTail events or kSseHighWater bytes (a reader too slow to keep up: what it
  // holds stays bounded as before) sets `must_read`, and the next Pump reads the store as
  // a replay does. The watcher is registered before the first read, so between them the
  // two see every event.
  std::map<int64_t, CommittedEventPtr> tail;
  size_t tail_bytes = 0;
  bool must_read = true;  // the first Pump reads (the replay and the job's state)
  static constexpr size_t kMaxTail = 256;

  void Remember(CommittedEventPtr event) {
    if (!event) {
      must_read = true;
      return;
    }
    if (event->id <= last_sent) return;
    const size_t bytes = event->data_json.size() + event->type.size();
    if (tail.size() >= kMaxTail || (!tail.empty() && tail_bytes + bytes > kSseHighWater)) {
      DropTail();
      must_read = true;
      return;
    }
    if (tail.emplace(event->id, std::move(event)).second) tail_bytes += bytes;
  }

  void DropTail() {
    tail.clear();
    tail_bytes = 0;
  }
  void EraseFront() {
    const auto& e = *tail.begin()->second;
    tail_bytes -= e.data_json.size() + e.type.size();
    tail.erase(tail.begin());
  }

  // The stream has sent the job's end: log it, note the delivery of the terminal event
  // when this stream wrote it, and end.
  void Done(const std::string& corr, bool delivered) {
    Log(spdlog::level::debug, "sse stream done",
        {{"job_id", std::string(id)},
         {"correlation_id", corr},
         {"peer", std::string(ex->peer())},
         {"last_event_id", std::to_string(last_sent)}});
    if (delivered) jobs->RecordDelivery(id, "sse", ex->peer());
    Finish(true);
  }

  // Writes the tail's events that follow last_sent. False if the store must be read.
  bool PumpFromTail() {
    while (!tail.empty() && tail.begin()->first <= last_sent) EraseFront();
    if (must_read) return false;
    if (tail.empty()) {  // nothing new
      woken_at.reset();
      return true;
    }
    if (tail.begin()->first != last_sent + 1) return false;  // a gap: read it
    std::string batch;
    bool terminal = false;
    int64_t count = 0;
    while (!tail.empty() && tail.begin()->first == last_sent + 1 &&
           ex->buffered() + batch.size() < kSseHighWater) {
      const jobs::JobService::CommittedEvent& e = *tail.begin()->second;
      AppendSseEvent(&batch, e.id, e.type, e.data_json);
      last_sent = e.id;
      terminal = IsTerminalEventType(e.type);
      EraseFront();
      count++;
      if (terminal) break;
    }
    if (sent) sent->With("memory").Inc(count);
    const std::optional<SteadyTime> woken = std::exchange(woken_at, std::nullopt);
    if (!ex->Write(batch)) {
      Finish(false);
      return true;
    }
    if (woken && delivery) delivery->ObserveSince(*woken);
    if (terminal) {
      Done(correlation, /*delivered=*/true);
      return true;
    }
    if (!tail.empty()) {
      if (tail.begin()->first != last_sent + 1) return false;
      WaitForReader();  // over the high-water mark: the drain pumps the rest
    }
    return true;
  }

  // Writes what came after last_sent: from the tail when it has it, else read from the
  // store. The read is asynchronous: while one is in flight, wake-ups only set `reread`
  // (exactly one read in flight per stream, so writes never interleave), and its
  // completion pumps once more if any came.
  void Pump() {
    pump_pending = false;
    if (finished || waiting_reader) return;  // the reader's drain pumps next
    if (reading) {
      reread = true;
      return;
    }
    const size_t buffered = ex->buffered();
    if (buffered >= kSseHighWater) return WaitForReader();
    if (PumpFromTail()) return;
    must_read = false;  // this read covers every change notified so far
    // Taken before the read: that read sees every change notified so far.
    const std::optional<SteadyTime> woken = std::exchange(woken_at, std::nullopt);
    reading = true;
    reread = false;
    std::weak_ptr<Stream> weak = shared_from_this();
    using Result = jobs::JobService::ReadResult;
    // Holds the stream weakly: one finished (or closed) meanwhile is simply gone.
    jobs->ReadAsync(id, last_sent, kSseHighWater - buffered,
                    routes::OnLoop<Result>(ex, [weak, woken](Outcome out, Result r) {
                      if (auto s = weak.lock()) s->OnRead(out, std::move(r), woken);
                    }));
  }

  void OnRead(const Outcome& out, jobs::JobService::ReadResult r, std::optional<SteadyTime> woken) {
    reading = false;
    if (finished) return;
    if (out.code == Outcome::Code::kNotFound) {
      // The job was deleted (DEL, FLUSHALL over RESP) or expired under the stream: say so
      // in a terminal `gone` event rather than leave the reader waiting or reconnecting.
      std::string gone;
      AppendSseEvent(
          &gone, -1, "gone",
          DumpJson({{"error",
                     {{"code", "not_found"},
                      {"message", "job " + id + " no longer exists (deleted or expired)"}}}}));
      ex->Write(gone);
      return Finish(true);
    }
    if (!out.ok()) {
      // The store failed: end the stream; EventSource reconnects and learns.
      return Finish(true);
    }
    const Job& job = r.job;
    bool terminal = false;
    std::string batch;
    int64_t count = 0;
    for (const auto& e : r.events) {
      AppendEvent(&batch, e);
      last_sent = e.id;
      count++;
      if (IsTerminalEventType(e.type)) {
        terminal = true;
        break;
      }
    }
    if (sent && count) sent->With("store").Inc(count);
    if (!batch.empty()) {
      if (!ex->Write(batch)) return Finish(false);
      if (woken && delivery) delivery->ObserveSince(*woken);
    }
    if (terminal || (jobs::IsTerminal(job.state) && last_sent >= job.last_event_id)) {
      return Done(job.correlation_id, /*delivered=*/terminal);
    }
    if (last_sent < job.last_event_id) {  // more is stored than was read: read it next
      must_read = true;
      return WaitForReader();
    }
    if (reread) Pump();  // woken while the read was in flight: it may have missed that
  }

  void WaitForReader() {
    if (waiting_reader || finished) return;
    waiting_reader = true;
    std::weak_ptr<Stream> weak = shared_from_this();
    ex->OnDrain(kSseLowWater, [weak] {
      auto s = weak.lock();
      if (!s) return;
      s->waiting_reader = false;
      s->Pump();
    });
  }

  void Heartbeat() {
    heartbeat = 0;
    if (finished) return;
    std::string comment;
    AppendSseComment(&comment, "heartbeat");
    if (!ex->Write(comment)) return Finish(false);
    ScheduleHeartbeat();
  }

  void ScheduleHeartbeat() {
    std::weak_ptr<Stream> weak = shared_from_this();
    heartbeat = ex->loop().RunAfter(std::chrono::milliseconds(heartbeat_ms), [weak] {
      if (auto s = weak.lock()) s->Heartbeat();
    });
  }

  // The credential is no longer valid: a terminal `auth_expired` event (no id, so the
  // reader's Last-Event-ID stays on the last real event), then the end of the stream.
  void AuthExpired(std::string_view why) {
    if (finished) return;
    std::string out;
    AppendSseEvent(&out, -1, "auth_expired",
                   DumpJson({{"error", {{"code", "auth_expired"}, {"message", why}}}}));
    ex->Write(out);
    Log(spdlog::level::debug, "sse stream ended: credential no longer valid",
        {{"job_id", std::string(id)}, {"peer", std::string(ex->peer())}});
    Finish(true);
  }

  // Releases the watcher, the timers and the stream slot; ends the response if `end`.
  void Finish(bool end) {
    if (finished) return;
    finished = true;
    jobs->Unwatch(id, watch);
    if (heartbeat) ex->loop().CancelTimer(heartbeat);
    heartbeat = 0;
    if (expiry_timer) ex->loop().CancelTimer(expiry_timer);
    expiry_timer = 0;
    if (auth_hook) api->RemoveAuthHook(auth_hook);
    auth_hook = 0;
    open->fetch_sub(1);
    if (end) ex->End();
    if (drain_hook) api->RemoveDrainHook(drain_hook);
    drain_hook = 0;
    auto release = std::move(self);
  }
};

// One parked long-poll.
struct Poll : std::enable_shared_from_this<Poll> {
  jobs::JobService* jobs = nullptr;
  std::shared_ptr<Exchange> ex;
  std::string id, correlation;
  int64_t after = 0;
  bool include_events = false;
  uint64_t watch = 0;
  net::EventLoop::TimerId timer = 0;
  bool done = false;
  bool check_pending = false;
  bool reading = false;                     // a read is in flight (see Check)
  bool recheck = false;                     // checked again while it was
  bool force_pending = false;               // ... with force (the timeout, a drain)
  std::atomic<int64_t>* waiting = nullptr;  // JobsApi's count of parked polls
  Histogram* delivery = nullptr;            // redge_event_delivery_seconds, or null
  std::optional<SteadyTime> woken_at;       // as in Stream
  JobsApi* api = nullptr;
  uint64_t drain_hook = 0;

  // Answers if there is something newer than `after` (or `force`, at the timeout). The
  // read is asynchronous; while one is in flight further checks only set `recheck` (and
  // `force_pending`), and its completion checks once more if any came.
  void Check(bool force) {
    check_pending = false;
    if (done) return;
    if (reading) {
      recheck = true;
      force_pending = force_pending || force;
      return;
    }
    const std::optional<SteadyTime> woken = std::exchange(woken_at, std::nullopt);
    reading = true;
    recheck = false;
    using Result = jobs::JobService::ReadResult;
    // Holds the poll until the read completes (a timer's last check must answer); a poll
    // answered or closed meanwhile ignores the result.
    jobs->ReadAsync(id, after, SIZE_MAX,
                    routes::OnLoop<Result>(
                        ex, [self = shared_from_this(), force, woken](Outcome out, Result r) {
                          self->OnRead(force, out, std::move(r), woken);
                        }));
  }

  void OnRead(bool force, const Outcome& out, jobs::JobService::ReadResult r,
              std::optional<SteadyTime> woken) {
    reading = false;
    if (done) return;
    if (!out.ok()) {
      Release();
      return ReplyOutcome(*ex, out, correlation);
    }
    const Job& job = r.job;
    if (!force && r.events.empty() && !jobs::IsTerminal(job.state)) {
      if (recheck) {
        const bool f = std::exchange(force_pending, false);
        Check(f);
      }
      return;
    }
    Release();
    json body = job.ToApi();
    if (include_events) {
      json list = json::array();
      for (const auto& e : r.events) list.push_back(e.ToApi());
      body["events"] = std::move(list);
    }
    ReplyJson(*ex, 200, body, correlation);
    if (jobs::IsTerminal(job.state)) jobs->RecordDelivery(id, "poll", ex->peer());
    if (woken && delivery && !r.events.empty()) delivery->ObserveSince(*woken);
  }

  void Release() {
    if (done) return;
    done = true;
    waiting->fetch_sub(1);
    jobs->Unwatch(id, watch);
    if (timer) ex->loop().CancelTimer(timer);
    timer = 0;
    if (drain_hook) api->RemoveDrainHook(drain_hook);
    drain_hook = 0;
  }
};

}  // namespace

void JobsApi::Events(Request& req, std::shared_ptr<Exchange> ex, const std::string& id) {
  const std::string corr = CorrelationOf(req);
  int64_t after = 0;
  if (auto h = req.Header("last-event-id")) {
    auto v = ParseEventId(*h);
    if (!v) return ReplyError(*ex, 400, "bad_request", "Last-Event-ID must be an event id", corr);
    after = *v;
  } else if (auto q = req.Query("after")) {
    auto v = ParseEventId(*q);
    if (!v) return ReplyError(*ex, 400, "bad_request", "after must be an event id", corr);
    after = *v;
  }
  // The job first (an unknown one gets the 404 of GetJob), without waiting for the store;
  // the stream opens from the completion.
  jobs_->GetAsync(id, routes::OnLoop<Job>(ex, [this, ex, id, corr, after, peer = req.peer,
                                               principal = req.principal](Outcome out, Job job) {
                    if (!out.ok()) return ReplyOutcome(*ex, out, corr);
                    OpenStream(ex, id, corr, after, peer, principal, job);
                  }));
}

void JobsApi::OpenStream(const std::shared_ptr<Exchange>& ex, const std::string& id,
                         const std::string& corr, int64_t after, const std::string& peer,
                         const std::shared_ptr<const auth::Principal>& principal, const Job& job) {
  if (stopping_) {
    return ReplyError(*ex, 503, "unavailable", "redge is shutting down; reconnect", corr,
                      {{"Retry-After", "1"}});
  }
  if (!StartEventStream(*ex, corr)) return;

  auto stream = std::make_shared<Stream>();
  stream->jobs = jobs_;
  stream->ex = ex;
  stream->id = id;
  stream->correlation = job.correlation_id;
  stream->last_sent = after;
  stream->heartbeat_ms = options_.sse_heartbeat_ms;
  stream->open = &open_streams_;
  stream->delivery = metrics_ ? metrics_->event_delivery_seconds : nullptr;
  stream->sent = metrics_ ? metrics_->sse_events_sent : nullptr;
  Log(spdlog::level::debug, "sse stream open",
      {{"job_id", std::string(id)},
       {"correlation_id", std::string(job.correlation_id)},
       {"peer", peer},
       {"after", std::to_string(after)}});
  std::weak_ptr<Stream> weak = stream;
  net::EventLoop* loop = &ex->loop();
  // Watch first, then read: an event committed in between is not missed.
  stream->watch = jobs_->Watch(id, [weak, ex](SteadyTime committed, CommittedEventPtr event) {
    ex->Post([weak, committed, event = std::move(event)]() mutable {
      auto s = weak.lock();
      if (!s) return;
      if (!s->woken_at) s->woken_at = committed;
      s->Remember(std::move(event));
      if (s->pump_pending) return;
      s->pump_pending = true;
      s->Pump();
    });
  });
  stream->self = stream;
  stream->api = this;
  // Shutdown: a short `retry:` so EventSource comes back soon (to this instance once it
  // restarts, or another behind the same address), then the end of the stream.
  stream->drain_hook = AddDrainHook([weak, loop] {
    loop->Post([weak] {
      auto s = weak.lock();
      if (!s || s->finished) return;
      std::string retry;
      AppendSseRetry(&retry, 1000);
      s->ex->Write(retry);
      s->Finish(true);
    });
  });
  ex->OnClose([weak] {
    auto s = weak.lock();
    if (!s) return;
    Log(spdlog::level::debug, "sse stream closed by peer",
        {{"job_id", std::string(s->id)}, {"peer", std::string(s->ex->peer())}});
    s->Finish(false);
  });
  stream->principal = principal;
  if (stream->principal && stream->principal->expires_at_ms > 0) {
    const int64_t left = stream->principal->expires_at_ms - WallClockMs();
    stream->expiry_timer =
        loop->RunAfter(std::chrono::milliseconds(std::max<int64_t>(left, 0)), [weak] {
          if (auto s = weak.lock()) {
            s->expiry_timer = 0;
            s->AuthExpired("the credential of this stream has expired; reconnect with a fresh one");
          }
        });
  }
  if (stream->principal && access() != nullptr) {
    auth::AccessControl* ac = access();
    stream->auth_hook = AddAuthHook([weak, loop, ac] {
      loop->Post([weak, ac] {
        auto s = weak.lock();
        if (s && !s->finished && !ac->StillValid(*s->principal)) {
          s->AuthExpired("the credential of this stream was revoked");
        }
      });
    });
  }
  stream->ScheduleHeartbeat();
  stream->Pump();
}

void JobsApi::GetJob(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  const std::string id = req.params[0];
  std::optional<int64_t> after;
  if (auto q = req.Query("after")) {
    after = ParseEventId(*q);
    if (!after) return ReplyError(*ex, 400, "bad_request", "after must be an event id", corr);
  }
  double wait_s = 0;
  if (auto w = req.Query("wait")) {
    if (!ParseDecimal(*w, &wait_s) || !(wait_s > 0 && wait_s <= 60)) {
      return ReplyError(*ex, 400, "bad_request", "wait must be in (0, 60] seconds", corr);
    }
  }
  using Result = jobs::JobService::ReadResult;
  jobs_->ReadAsync(id, after.value_or(-1), SIZE_MAX,
                   routes::OnLoop<Result>(ex, [this, ex, id, corr, after, wait_s, peer = req.peer,
                                               principal = req.principal](Outcome out, Result r) {
                     if (!out.ok()) return ReplyOutcome(*ex, out, corr);
                     AnswerOrPark(ex, id, corr, after, wait_s, peer, principal, r.job, r.events);
                   }));
}

void JobsApi::AnswerOrPark(const std::shared_ptr<Exchange>& ex, const std::string& id,
                           const std::string& corr, std::optional<int64_t> after, double wait_s,
                           const std::string& peer,
                           const std::shared_ptr<const auth::Principal>& principal, const Job& job,
                           const std::vector<Event>& events) {
  const int64_t since = after.value_or(job.last_event_id);
  if (wait_s <= 0 || jobs::IsTerminal(job.state) || since < job.last_event_id) {
    json body = job.ToApi();
    if (after) {
      json list = json::array();
      for (const auto& e : events) list.push_back(e.ToApi());
      body["events"] = std::move(list);
    }
    if (jobs::IsTerminal(job.state)) jobs_->RecordDelivery(id, "poll", peer);
    return ReplyJson(*ex, 200, body, corr);
  }
  if (stopping_) {
    return ReplyError(*ex, 503, "unavailable", "redge is shutting down", corr,
                      {{"Retry-After", "1"}});
  }
  if (principal && principal->expires_at_ms > 0) {
    // A parked poll answers (with what there is) no later than its credential expires;
    // the next poll then needs a fresh one.
    const double left_s = static_cast<double>(principal->expires_at_ms - WallClockMs()) / 1000;
    wait_s = std::max(0.001, std::min(wait_s, left_s));
  }
  auto poll = std::make_shared<Poll>();
  poll->jobs = jobs_;
  poll->ex = ex;
  poll->id = id;
  poll->correlation = corr;
  poll->after = since;
  poll->include_events = after.has_value();
  poll->delivery = metrics_ ? metrics_->event_delivery_seconds : nullptr;
  poll->waiting = &waiting_polls_;
  waiting_polls_.fetch_add(1);  // until Release
  std::weak_ptr<Poll> weak = poll;
  net::EventLoop* loop = &ex->loop();
  poll->watch = jobs_->Watch(id, [weak, ex](SteadyTime committed, CommittedEventPtr) {
    ex->Post([weak, committed] {
      auto p = weak.lock();
      if (!p) return;
      if (!p->woken_at) p->woken_at = committed;
      if (p->check_pending) return;
      p->check_pending = true;
      p->Check(false);
    });
  });
  // The timer holds the poll alive until it answers; the watcher only holds it weakly.
  poll->timer =
      loop->RunAfter(std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000)), [poll] {
        poll->timer = 0;
        poll->Check(true);
      });
  ex->OnClose([weak] {
    if (auto p = weak.lock()) p->Release();
  });
  poll->api = this;
  poll->drain_hook = AddDrainHook([weak, loop] {
    loop->Post([weak] {
      if (auto p = weak.lock()) p->Check(true);  // answer now with what there is
    });
  });
  poll->Check(false);  // an event may have landed between the read and the Watch
}

}  // namespace redge::http
