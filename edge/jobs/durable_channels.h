// DurableChannels: pub/sub channels whose messages are also kept, so a subscriber that
// connects late or reconnects replays what it missed (docs/channels.md is the user's view).
//
// What it promises:
//  - A PUBLISH on a channel matching one of the configured globs (--durable-channels) is
//    delivered to subscribers as before and, in the same atomic write, appended to the
//    stream `redge:channel:{channel}` in database 0 (XADD with field `message`), trimmed to
//    the retention (--channel-history N[,SECONDS]: at most N entries, exact MAXLEN; with
//    SECONDS also entries older than that, exact MINID, and the stream expires SECONDS after
//    its last message). It is a real stream: XREAD/XRANGE read it over RESP.
//  - Readers (HTTP SSE and long-poll) ask for the messages after an id. When messages after
//    that id were dropped by the retention (or deleted), the read says so explicitly
//    (`missed`) instead of silently skipping, and gives the id to resume from.
//  - Watchers are woken after every committed change of the channel's stream (a PUBLISH, or
//    an XADD by a RESP client), never by polling.
//
// Thread-safety: every method is safe from any thread. Watch callbacks run on the committing
// thread, outside the store lock; they must be short (post to an event loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "edge/jobs/job_service.h"
#include "store/store.h"
#include "store/streams.h"

namespace redge::jobs {

struct ChannelOptions {
  std::vector<std::string> globs;  // empty: no durable channels
  int64_t history_count = 1000;    // entries kept per channel (exact MAXLEN)
  int64_t history_ms = 0;          // 0: no age limit
};

// The stream that keeps channel `channel`'s messages.
std::string ChannelStreamKey(std::string_view channel);

struct ChannelMessage {
  store::streams::StreamId id;
  std::string data;  // the published message (the entry's `message` field)
};

// What a reader asked for was partly dropped: messages after `after` up to `resume` are
// gone (trimmed by the retention, deleted, or the stream expired).
struct ChannelMissed {
  store::streams::StreamId after;   // the id the reader asked to read after
  store::streams::StreamId resume;  // read on after this id
  store::streams::StreamId first;   // the oldest message still kept (0-0: none)
};

struct ChannelRead {
  std::optional<ChannelMissed> missed;
  std::vector<ChannelMessage> messages;
  // Where the next read goes on from: the last message's id, else `resume` of a miss, else
  // the id read after.
  store::streams::StreamId next;
};

class DurableChannels {
 public:
  // `store` must outlive this object.
  DurableChannels(store::Store* store, ChannelOptions options);
  DurableChannels(const DurableChannels&) = delete;
  DurableChannels& operator=(const DurableChannels&) = delete;

  // Registers the store observers (the PUBLISH hook and the watcher wake-ups). Call once,
  // before serving traffic.
  void Start();

  // Whether `channel` matches a --durable-channels glob.
  bool IsDurable(std::string_view channel) const;
  const ChannelOptions& options() const { return options_; }

  // The id of the channel's last message (0-0 when it has none): where a reader that asks
  // for "new messages only" starts.
  Outcome Position(const std::string& channel, store::streams::StreamId* last);
  // The messages after `after`, oldest first, at most `max_count`; once their bytes total
  // `max_bytes` or more the rest is left for a later call (at least one is read). `missed`
  // is set when messages after `after` were removed (max-deleted-entry-id > after), or
  // when `after` (not 0-0) is older than the age limit and the stream keeps nothing at or
  // before it (they may have expired with the stream).
  Outcome Read(const std::string& channel, store::streams::StreamId after, size_t max_count,
               size_t max_bytes, ChannelRead* out);
  // The asynchronous forms (event loops): `done` runs once the read is done, on the
  // committing thread (see JobService's ...Async operations).
  void PositionAsync(std::string channel, JobService::Done<store::streams::StreamId> done);
  void ReadAsync(std::string channel, store::streams::StreamId after, size_t max_count,
                 size_t max_bytes, JobService::Done<ChannelRead> done);

  using WatchFn = std::function<void(std::chrono::steady_clock::time_point committed)>;
  uint64_t Watch(const std::string& channel, WatchFn fn);
  void Unwatch(const std::string& channel, uint64_t token);

 private:
  // The transaction bodies shared by both forms.
  TxnOp<store::streams::StreamId> PositionOp(std::string channel);
  TxnOp<ChannelRead> ReadOp(std::string channel, store::streams::StreamId after, size_t max_count,
                            size_t max_bytes);
  void OnPublish(store::Txn& txn, size_t glob, std::string_view channel, std::string_view message);
  void Wake(const std::string& channel);

  store::Store* store_;
  ChannelOptions options_;
  std::mutex watch_mu_;
  std::unordered_map<std::string, std::map<uint64_t, WatchFn>> watchers_;
  uint64_t next_watch_ = 1;
};

// A message id as readers send it: "<ms>-<seq>", or "<ms>" meaning "<ms>-0" (as XREAD
// reads ids); nullopt when malformed.
std::optional<store::streams::StreamId> ParseChannelId(std::string_view s);

}  // namespace redge::jobs
