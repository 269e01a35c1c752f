#include "edge/jobs/durable_channels.h"

#include <algorithm>

#include "edge/jobs/txn_runner.h"
#include "edge/json_input.h"
#include "edge/log.h"
#include "store/glob.h"
#include "store/keys.h"

namespace redge::jobs {

namespace st = redge::store;
namespace ss = redge::store::streams;
using ss::StreamId;

namespace {

constexpr std::string_view kStreamPrefix = "redge:channel:";

// The bytes of `glob` before its first special character: the channel observer's prefix.
std::string LiteralPrefix(const std::string& glob) {
  return glob.substr(0, glob.find_first_of("*?[\\"));
}

// The published message of an entry: its `message` field; entries a RESP client added with
// other fields read as a JSON object of them.
std::string MessageOf(const ss::Entry& e) {
  for (size_t i = 0; i + 1 < e.fields.size(); i += 2) {
    if (e.fields[i] == "message") return e.fields[i + 1];
  }
  nlohmann::json obj = nlohmann::json::object();
  for (size_t i = 0; i + 1 < e.fields.size(); i += 2) obj[e.fields[i]] = e.fields[i + 1];
  return DumpJson(obj);
}

}  // namespace

std::string ChannelStreamKey(std::string_view channel) {
  return std::string(kStreamPrefix) + std::string(channel);
}

std::optional<StreamId> ParseChannelId(std::string_view s) {
  if (s.empty() || s.size() > 41) return std::nullopt;
  return ss::ParseId(s, 0, /*strict=*/true);
}

DurableChannels::DurableChannels(st::Store* store, ChannelOptions options)
    : store_(store), options_(std::move(options)) {}

void DurableChannels::Start() {
  for (size_t i = 0; i < options_.globs.size(); ++i) {
    store_->AddChannelObserver(LiteralPrefix(options_.globs[i]),
                               [this, i](st::Txn& txn, std::string_view ch, std::string_view msg) {
                                 OnPublish(txn, i, ch, msg);
                               });
  }
  if (options_.globs.empty()) return;
  // Any change of a channel's stream wakes its readers: a PUBLISH's append, an XADD by a
  // RESP client, a deletion or expiry (readers then learn the history is gone).
  store_->AddKeyObserver(std::string(kStreamPrefix), [this](st::Txn& txn, const st::KeyEvent& ev) {
    if (ev.db != 0) return;
    std::string channel(ev.key.substr(kStreamPrefix.size()));
    {
      std::lock_guard lock(watch_mu_);
      if (watchers_.find(channel) == watchers_.end()) return;
    }
    txn.AfterCommit([this, channel] { Wake(channel); });
  });
}

bool DurableChannels::IsDurable(std::string_view channel) const {
  for (const auto& glob : options_.globs) {
    if (st::GlobMatch(glob, channel)) return true;
  }
  return false;
}

void DurableChannels::OnPublish(st::Txn& txn, size_t glob, std::string_view channel,
                                std::string_view message) {
  if (!st::GlobMatch(options_.globs[glob], channel)) return;
  // Observers run per registered prefix: the first matching glob appends, once.
  for (size_t i = 0; i < glob; ++i) {
    if (st::GlobMatch(options_.globs[i], channel)) return;
  }
  txn.SwitchDb(0);  // PublishInTxn restores the publisher's database afterwards
  const std::string key = ChannelStreamKey(channel);
  // Redis's trimming leaves max-deleted-entry-id alone; the retention records the last id
  // it removes there (as XSETID ... MAXDELETEDID would), so a reader can tell exactly
  // whether messages after its id are gone.
  StreamId removed;
  auto before = ss::Info(txn, key);
  if (before.ok() && before->length + 1 > static_cast<uint64_t>(options_.history_count)) {
    auto oldest = ss::Range(txn, key, StreamId::Min(), StreamId::Max(),
                            before->length + 1 - options_.history_count, false);
    if (oldest.ok() && !oldest->empty()) removed = oldest->back().id;
  }
  ss::AddOptions add;
  add.trim.strategy = ss::TrimStrategy::kMaxLen;
  add.trim.maxlen = options_.history_count;
  auto id = ss::Add(txn, key, add, {"message", std::string(message)});
  if (!id.ok()) {
    // E.g. someone SET the key to a string: the message is still delivered live.
    Log(spdlog::level::warn, "durable channel append failed",
        {{"channel", std::string(channel)}, {"error", id.status().message()}});
    return;
  }
  if (options_.history_ms > 0) {
    const int64_t now = txn.now_ms();
    ss::TrimOptions age;
    age.strategy = ss::TrimStrategy::kMinId;
    age.minid = {static_cast<uint64_t>(std::max<int64_t>(now - options_.history_ms, 0)), 0};
    StreamId below = age.minid;
    if (below.Decr()) {
      auto old = ss::Range(txn, key, StreamId::Min(), below, 1, /*reverse=*/true);
      if (old.ok() && !old->empty()) removed = std::max(removed, old->front().id);
    }
    (void)ss::Trim(txn, key, age);
    // A channel nobody publishes on any more leaves nothing behind.
    (void)st::keys::ExpireAt(txn, key, now + options_.history_ms);
  }
  if (!removed.IsZero()) {
    auto after = ss::Info(txn, key);
    if (after.ok() && removed > after->max_deleted_id) {
      (void)ss::SetId(txn, key, after->last_id, std::nullopt, removed);
    }
  }
}

TxnOp<StreamId> DurableChannels::PositionOp(std::string channel) {
  return [channel = std::move(channel)](st::Txn& txn, StreamId* last) {
    auto info = ss::Info(txn, ChannelStreamKey(channel));
    if (info.ok()) *last = info->last_id;
    return Outcome::Ok();
  };
}

Outcome DurableChannels::Position(const std::string& channel, StreamId* last) {
  return RunTxn(store_, PositionOp(channel), last, /*unavailable_prefix=*/"");
}

void DurableChannels::PositionAsync(std::string channel, JobService::Done<StreamId> done) {
  RunTxnAsync(store_, PositionOp(std::move(channel)), std::move(done), /*unavailable_prefix=*/"");
}

TxnOp<ChannelRead> DurableChannels::ReadOp(std::string channel, StreamId after, size_t max_count,
                                           size_t max_bytes) {
  return [this, channel = std::move(channel), after, max_count, max_bytes](st::Txn& txn,
                                                                           ChannelRead* out) {
    out->next = after;
    const std::string key = ChannelStreamKey(channel);
    auto info = ss::Info(txn, key);
    if (!info.ok() && !info.status().IsNotFound()) {
      // WRONGTYPE: someone replaced the stream.
      return Outcome::Error(Outcome::Code::kConflict, info.status().message());
    }
    const bool exists = info.ok() && info->length > 0;
    const StreamId first = exists ? info->first_id : StreamId{};
    StreamId resume = after;
    bool missed = false;
    // Messages after `after` were removed (trimmed by the retention, or XDEL). Also for
    // 0-0: a reader replaying "everything" learns that the history no longer starts at
    // the first message.
    if (info.ok() && info->max_deleted_id > after) {
      missed = true;
      resume = info->max_deleted_id;
    }
    if (!after.IsZero()) {
      // The id is older than the age limit, the stream holds nothing at or before it and
      // has no record of removing it: whatever came after it may have expired with an
      // earlier stream (a stream expires whole, and a new one starts from scratch).
      const int64_t now = txn.now_ms();
      const bool recorded = info.ok() && info->max_deleted_id >= after;
      if (options_.history_ms > 0 && static_cast<int64_t>(after.ms) + options_.history_ms <= now &&
          !recorded && (!exists || after < first)) {
        missed = true;
        // With nothing kept, move past "now" so the next read does not report it again;
        // later messages get later ids.
        if (!exists) resume = std::max(resume, StreamId{static_cast<uint64_t>(now - 1), 0});
      }
    }
    if (missed) {
      out->missed = ChannelMissed{after, resume, first};
      out->next = resume;
    }
    if (!exists) return Outcome::Ok();
    StreamId start = out->next;
    if (!start.Incr()) return Outcome::Ok();
    size_t bytes = 0;
    // A window at a time, so a paced reader never loads a long backlog at once.
    constexpr uint64_t kWindow = 64;
    while (out->messages.size() < max_count && bytes < max_bytes) {
      const uint64_t want = std::min<uint64_t>(kWindow, max_count - out->messages.size());
      auto r = ss::Range(txn, key, start, StreamId::Max(), want, false);
      if (!r.ok() || r->empty()) break;
      for (const auto& e : *r) {
        if (bytes >= max_bytes) break;
        ChannelMessage m{e.id, MessageOf(e)};
        bytes += m.data.size() + 32;
        out->next = e.id;
        out->messages.push_back(std::move(m));
      }
      start = out->next;
      if (r->size() < want || !start.Incr()) break;
    }
    return Outcome::Ok();
  };
}

Outcome DurableChannels::Read(const std::string& channel, StreamId after, size_t max_count,
                              size_t max_bytes, ChannelRead* out) {
  Outcome o = RunTxn(store_, ReadOp(channel, after, max_count, max_bytes), out,
                     /*unavailable_prefix=*/"");
  if (o.code == Outcome::Code::kUnavailable) out->next = after;
  return o;
}

void DurableChannels::ReadAsync(std::string channel, StreamId after, size_t max_count,
                                size_t max_bytes, JobService::Done<ChannelRead> done) {
  RunTxnAsync(store_, ReadOp(std::move(channel), after, max_count, max_bytes), std::move(done),
              /*unavailable_prefix=*/"");
}

uint64_t DurableChannels::Watch(const std::string& channel, WatchFn fn) {
  std::lock_guard lock(watch_mu_);
  uint64_t token = next_watch_++;
  watchers_[channel].emplace(token, std::move(fn));
  return token;
}

void DurableChannels::Unwatch(const std::string& channel, uint64_t token) {
  std::lock_guard lock(watch_mu_);
  auto it = watchers_.find(channel);
  if (it == watchers_.end()) return;
  it->second.erase(token);
  if (it->second.empty()) watchers_.erase(it);
}

void DurableChannels::Wake(const std::string& channel) {
  const auto committed = std::chrono::steady_clock::now();
  std::vector<WatchFn> fns;
  {
    std::lock_guard lock(watch_mu_);
    auto it = watchers_.find(channel);
    if (it == watchers_.end()) return;
    for (auto& [token, fn] : it->second) fns.push_back(fn);
  }
  for (auto& fn : fns) fn(committed);
}

}  // namespace redge::jobs
