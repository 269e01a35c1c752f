#include "edge/http/channels_api.h"

#include <chrono>
#include <optional>
#include <utility>

#include "edge/decimal.h"
#include "edge/http/route_support.h"
#include "edge/http/sse.h"
#include "edge/json_input.h"
#include "edge/log.h"
#include "edge/net/event_loop.h"

namespace redge::http {

using jobs::ChannelRead;
using jobs::DurableChannels;
using jobs::Outcome;
using nlohmann::json;
using store::streams::StreamId;

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// As the job streams (sse_routes.cc): a stream writes while it holds less than kHighWater
// unsent bytes, then waits until its reader has taken all but kLowWater.
constexpr size_t kHighWater = 64 * 1024;
constexpr size_t kLowWater = 16 * 1024;
// Messages one read returns at most (a long-poll reply, one SSE write).
constexpr size_t kMaxReadCount = 1000;
constexpr size_t kMaxChannelBytes = 1024;
// Bytes of messages one long-poll reply carries before it leaves the rest for the next
// poll (at least one message is always sent).
constexpr size_t kMaxPollBytes = 4u << 20;

json MissedJson(const std::string& channel, const jobs::ChannelMissed& m) {
  return {{"channel", channel},
          {"after", m.after.ToString()},
          {"resume", m.resume.ToString()},
          {"first_id", m.first.IsZero() ? json(nullptr) : json(m.first.ToString())},
          {"message", "messages after " + m.after.ToString() + " up to " + m.resume.ToString() +
                          " are no longer kept (--channel-history); reading on after " +
                          m.resume.ToString()}};
}

// The reader's position: Last-Event-ID (header), else ?after=. nullopt in *pos means
// neither was given ("new messages only"). False (and a 400 sent) when malformed.
bool ParseAfter(Request& req, Exchange& ex, const std::string& corr, bool header,
                std::optional<StreamId>* pos) {
  std::optional<std::string> given;
  const char* what = "after";
  if (auto h = req.Header("last-event-id"); header && h) {
    given = std::string(*h);
    what = "Last-Event-ID";
  } else if (auto q = req.Query("after")) {
    given = *q;
  }
  if (!given) return true;
  auto id = jobs::ParseChannelId(*given);
  if (!id) {
    ReplyError(ex, 400, "bad_request",
               std::string(what) + " must be a message id (<ms>-<seq>, or 0 for the oldest kept)",
               corr);
    return false;
  }
  *pos = *id;
  return true;
}

// One open SSE stream of a channel. Lives on its exchange's loop; the watcher only posts
// Pump().
struct ChannelStream : std::enable_shared_from_this<ChannelStream> {
  DurableChannels* channels = nullptr;
  JobsApi* api = nullptr;
  std::shared_ptr<Exchange> ex;
  std::string channel;
  StreamId cursor;
  uint64_t watch = 0;
  net::EventLoop::TimerId heartbeat = 0;
  int64_t heartbeat_ms = 0;
  bool pump_pending = false;
  bool started = false;  // the response has begun (a wake-up before that waits for it)
  bool reading = false;  // a read is in flight (see Pump)
  bool reread = false;   // woken while it was
  bool waiting_reader = false;
  bool finished = false;
  uint64_t drain_hook = 0;
  std::shared_ptr<ChannelStream> self;  // owns itself until Finish (as sse_routes.cc)

  // As a job stream's Pump (sse_routes.cc): one asynchronous read in flight at a time;
  // wake-ups meanwhile set `reread`, and the completion reads once more.
  void Pump() {
    pump_pending = false;
    if (!started || finished || waiting_reader) return;
    if (reading) {
      reread = true;
      return;
    }
    const size_t buffered = ex->buffered();
    if (buffered >= kHighWater) return WaitForReader();
    reading = true;
    reread = false;
    std::weak_ptr<ChannelStream> weak = shared_from_this();
    channels->ReadAsync(channel, cursor, kMaxReadCount, kHighWater - buffered,
                        routes::OnLoop<ChannelRead>(ex, [weak](Outcome out, ChannelRead r) {
                          if (auto s = weak.lock()) s->OnRead(out, std::move(r));
                        }));
  }

  void OnRead(const Outcome& out, ChannelRead r) {
    reading = false;
    if (finished) return;
    if (!out.ok()) {
      std::string err;
      AppendSseEvent(&err, -1, "error",
                     DumpJson({{"error", {{"code", "unavailable"}, {"message", out.message}}}}));
      ex->Write(err);
      return Finish(true);
    }
    std::string batch;
    if (r.missed) {
      AppendSseEvent(&batch, r.missed->resume.ToString(), "missed",
                     DumpJson(MissedJson(channel, *r.missed)));
    }
    for (const auto& m : r.messages) AppendSseEvent(&batch, m.id.ToString(), "", m.data);
    cursor = r.next;
    if (!batch.empty() && !ex->Write(batch)) return Finish(false);
    // A full read: more may be stored than was read. Go on once the reader takes it.
    if (r.messages.size() >= kMaxReadCount || ex->buffered() >= kHighWater) {
      return WaitForReader();
    }
    if (reread) Pump();  // woken while the read was in flight
  }

  void WaitForReader() {
    if (waiting_reader || finished) return;
    waiting_reader = true;
    std::weak_ptr<ChannelStream> weak = shared_from_this();
    ex->OnDrain(kLowWater, [weak] {
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
    std::weak_ptr<ChannelStream> weak = shared_from_this();
    heartbeat = ex->loop().RunAfter(std::chrono::milliseconds(heartbeat_ms), [weak] {
      if (auto s = weak.lock()) s->Heartbeat();
    });
  }

  void Finish(bool end) {
    if (finished) return;
    finished = true;
    channels->Unwatch(channel, watch);
    if (heartbeat) ex->loop().CancelTimer(heartbeat);
    heartbeat = 0;
    api->ReleaseStreamSlot();
    if (end) ex->End();
    if (drain_hook) api->RemoveDrainHook(drain_hook);
    drain_hook = 0;
    auto release = std::move(self);
  }
};

// One parked long-poll of a channel.
struct ChannelPoll : std::enable_shared_from_this<ChannelPoll> {
  DurableChannels* channels = nullptr;
  JobsApi* api = nullptr;
  std::shared_ptr<Exchange> ex;
  std::string channel, correlation;
  StreamId after;
  uint64_t watch = 0;
  net::EventLoop::TimerId timer = 0;
  bool done = false;
  bool check_pending = false;
  bool ready = false;          // `after` is known (a wake-up before that waits for it)
  bool reading = false;        // a read is in flight (see Check)
  bool recheck = false;        // checked again while it was
  bool force_pending = false;  // ... with force (the timeout, a drain)
  bool parked = false;         // counted in the waiting-polls gauge
  uint64_t drain_hook = 0;

  // Answers when there is something after `after` (or `force`: at the timeout). As a job
  // long-poll's Check (sse_routes.cc): one asynchronous read in flight at a time.
  void Check(bool force) {
    check_pending = false;
    if (!ready || done) return;
    if (reading) {
      recheck = true;
      force_pending = force_pending || force;
      return;
    }
    reading = true;
    recheck = false;
    channels->ReadAsync(channel, after, kMaxReadCount, kMaxPollBytes,
                        routes::OnLoop<ChannelRead>(
                            ex, [self = shared_from_this(), force](Outcome out, ChannelRead r) {
                              self->OnRead(force, out, std::move(r));
                            }));
  }

  void OnRead(bool force, const Outcome& out, ChannelRead r) {
    reading = false;
    if (done) return;
    if (!out.ok()) {
      Release();
      return ReplyOutcome(*ex, out, correlation);
    }
    if (!force && r.messages.empty() && !r.missed) {
      if (recheck) Check(std::exchange(force_pending, false));
      return;
    }
    Release();
    json messages = json::array();
    for (const auto& m : r.messages) {
      messages.push_back({{"id", m.id.ToString()}, {"data", m.data}});
    }
    json body = {
        {"channel", channel}, {"messages", std::move(messages)}, {"last_id", r.next.ToString()}};
    if (r.missed) body["missed"] = MissedJson(channel, *r.missed);
    ReplyJson(*ex, 200, body, correlation);
  }

  void Release() {
    if (done) return;
    done = true;
    if (parked) api->AddWaitingPolls(-1);
    channels->Unwatch(channel, watch);
    if (timer) ex->loop().CancelTimer(timer);
    timer = 0;
    if (drain_hook) api->RemoveDrainHook(drain_hook);
    drain_hook = 0;
  }
};

}  // namespace

ChannelsApi::ChannelsApi(DurableChannels* channels, JobsApi* jobs_api, JobsApiOptions options)
    : channels_(channels), api_(jobs_api), options_(std::move(options)) {}

void ChannelsApi::Register(HttpServer& server) {
  const auto policy = JobsApi::RoutePolicy::Queue(auth::Permission::kSubscribe);
  api_->Route(server, "GET", "/v1/channels/{channel}/events", policy,
              [this](Request& req, std::shared_ptr<Exchange> ex) { Events(req, std::move(ex)); });
  api_->Route(server, "GET", "/v1/channels/{channel}/messages", policy,
              [this](Request& req, std::shared_ptr<Exchange> ex) { Messages(req, std::move(ex)); });
}

bool ChannelsApi::CheckChannel(const std::string& channel, Exchange& ex, const std::string& corr) {
  if (channel.empty() || channel.size() > kMaxChannelBytes) {
    ReplyError(ex, 400, "bad_request", "a channel name is 1-1024 bytes", corr);
    return false;
  }
  if (!channels_->IsDurable(channel)) {
    ReplyError(ex, 404, "not_found",
               "channel '" + channel + "' is not durable (it matches no --durable-channels glob)",
               corr);
    return false;
  }
  return true;
}

void ChannelsApi::Events(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  const std::string channel = req.params[0];
  if (!CheckChannel(channel, *ex, corr)) return;
  std::optional<StreamId> after;
  if (!ParseAfter(req, *ex, corr, /*header=*/true, &after)) return;
  if (api_->stopping()) {
    return ReplyError(*ex, 503, "unavailable", "redge is shutting down; reconnect", corr,
                      {{"Retry-After", "1"}});
  }
  auto stream = std::make_shared<ChannelStream>();
  stream->channels = channels_;
  stream->api = api_;
  stream->ex = ex;
  stream->channel = channel;
  stream->heartbeat_ms = options_.sse_heartbeat_ms;
  std::weak_ptr<ChannelStream> weak = stream;
  net::EventLoop* loop = &ex->loop();
  // Watch first, then read the position: a message committed in between is not missed.
  stream->watch = channels_->Watch(channel, [weak, ex](SteadyTime) {
    ex->Post([weak] {
      auto s = weak.lock();
      if (!s || s->pump_pending) return;
      s->pump_pending = true;
      s->Pump();
    });
  });
  // The rest runs once the start position is known: given, or the channel's last id, read
  // without waiting.
  auto open = [this, stream, ex, corr, channel, peer = req.peer, weak, loop](StreamId from) {
    stream->cursor = from;
    if (!api_->StartEventStream(*ex, corr)) {
      channels_->Unwatch(channel, stream->watch);
      return;
    }
    std::string head;
    // Where this stream starts: its id becomes the EventSource's Last-Event-ID, so a stream
    // that breaks before its first message resumes from here, not from "new messages only".
    AppendSseEvent(&head, stream->cursor.ToString(), "ready",
                   DumpJson({{"channel", channel}, {"last_id", stream->cursor.ToString()}}));
    ex->Write(head);
    Log(spdlog::level::debug, "channel stream open",
        {{"channel", channel}, {"peer", peer}, {"after", stream->cursor.ToString()}});
    stream->self = stream;
    stream->drain_hook = api_->AddDrainHook([weak, loop] {
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
      if (auto s = weak.lock()) s->Finish(false);
    });
    stream->started = true;
    stream->ScheduleHeartbeat();
    stream->Pump();
  };
  if (after) return open(*after);
  channels_->PositionAsync(
      channel, routes::OnLoop<StreamId>(
                   ex, [this, stream, ex, corr, channel, open](Outcome out, StreamId last) {
                     if (!out.ok()) {
                       channels_->Unwatch(channel, stream->watch);
                       return ReplyOutcome(*ex, out, corr);
                     }
                     open(last);
                   }));
}

void ChannelsApi::Messages(Request& req, std::shared_ptr<Exchange> ex) {
  const std::string corr = CorrelationOf(req);
  const std::string channel = req.params[0];
  if (!CheckChannel(channel, *ex, corr)) return;
  std::optional<StreamId> after;
  if (!ParseAfter(req, *ex, corr, /*header=*/false, &after)) return;
  double wait_s = 0;
  if (auto w = req.Query("wait")) {
    if (!ParseDecimal(*w, &wait_s) || !(wait_s > 0 && wait_s <= 60)) {
      return ReplyError(*ex, 400, "bad_request", "wait must be in (0, 60] seconds", corr);
    }
  }
  auto poll = std::make_shared<ChannelPoll>();
  poll->channels = channels_;
  poll->api = api_;
  poll->ex = ex;
  poll->channel = channel;
  poll->correlation = corr;
  std::weak_ptr<ChannelPoll> weak = poll;
  net::EventLoop* loop = &ex->loop();
  if (wait_s > 0) {
    poll->watch = channels_->Watch(channel, [weak, ex](SteadyTime) {
      ex->Post([weak] {
        auto p = weak.lock();
        if (!p || p->check_pending) return;
        p->check_pending = true;
        p->Check(false);
      });
    });
  }
  // The rest runs once the start position is known (as for Events).
  auto start = [this, poll, ex, corr, channel, wait_s, weak, loop](StreamId from) {
    poll->after = from;
    poll->ready = true;
    if (wait_s <= 0) return poll->Check(true);
    if (api_->stopping()) {
      poll->Release();
      return ReplyError(*ex, 503, "unavailable", "redge is shutting down", corr,
                        {{"Retry-After", "1"}});
    }
    poll->Check(false);  // something may be there already
    if (poll->done) return;
    poll->parked = true;
    api_->AddWaitingPolls(1);
    // The timer holds the poll alive until it answers; the watcher only holds it weakly.
    poll->timer =
        loop->RunAfter(std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000)), [poll] {
          poll->timer = 0;
          poll->Check(true);
        });
    ex->OnClose([weak] {
      if (auto p = weak.lock()) p->Release();
    });
    poll->drain_hook = api_->AddDrainHook([weak, loop] {
      loop->Post([weak] {
        if (auto p = weak.lock()) p->Check(true);
      });
    });
  };
  if (after) return start(*after);
  channels_->PositionAsync(
      channel, routes::OnLoop<StreamId>(ex, [poll, ex, corr, start](Outcome out, StreamId last) {
        if (!out.ok()) {
          poll->Release();
          return ReplyOutcome(*ex, out, corr);
        }
        start(last);
      }));
}

}  // namespace redge::http
