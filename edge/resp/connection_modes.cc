// Connection, continued: the states a RESP client can be in besides running commands one
// at a time: MULTI/EXEC with WATCH, pub/sub delivery, MONITOR and CLIENT REPLY modes, and
// blocking commands (parked on the store's waiters, woken by a write, a timeout or CLIENT
// UNBLOCK). The reading, dispatch and output side is connection.cc.
#include <string>
#include <utility>
#include <vector>

#include "edge/log.h"
#include "edge/resp/command_meta.h"
#include "edge/resp/command_stats.h"
#include "edge/resp/connection.h"
#include "edge/resp/lua_engine.h"
#include "edge/resp/server.h"
#include "store/encoding.h"

namespace redge::resp {
namespace {

// Stop turning queued pub/sub messages into output while this much is unsent; the
// broker's per-subscriber limit then applies to a client that does not read.
constexpr size_t kPubSubDrainHighWater = 256 * 1024;

}  // namespace

void Connection::DiscardMulti() {
  in_multi_ = false;
  multi_dirty_ = false;
  queued_.clear();
  UnwatchAll();
}

void Connection::ExecMulti() {
  if (multi_dirty_) {
    DiscardMulti();
    writer_.Error("EXECABORT Transaction discarded because of previous errors.");
    return;
  }
  auto queued = std::make_shared<std::vector<std::vector<std::string>>>(std::move(queued_));
  // A transaction with a script runs alone on the store's writer thread, like EVAL.
  store::ExecMode mode = store::ExecMode::kInlineOrQueue;
  for (const auto& argv : *queued) {
    const CommandSpec* spec = FindCommand(argv[0]);
    if (spec && (spec->flags & kNoScript) && spec->group == std::string_view("scripting")) {
      mode = store::ExecMode::kExclusive;
    }
    if (spec && (spec->flags & kOffLoop)) mode = store::ExecMode::kExclusive;
  }
  auto watched = std::make_shared<std::unordered_map<std::string, int64_t>>(std::move(watched_));
  watched_.clear();
  in_multi_ = false;
  queued_.clear();
  auto reply = std::make_shared<std::string>();
  // The rules as they are at EXEC: each queued command is checked again (they may have
  // changed since it was queued).
  std::shared_ptr<const AclUser> user = acl_user();
  RunInStore(
      [self = shared_from_this(), queued, watched, reply, user](store::Txn& txn) {
        Connection* c = self.get();
        ReplyWriter w(reply.get(), c->protocol_);
        // Checked under the store lock: no commit can slip between this test and the
        // commands below.
        bool aborted = c->watch_dirty_.load();
        for (const auto& [key, deadline] : *watched) {
          if (deadline != 0 && deadline < txn.now_ms()) aborted = true;  // expired since
        }
        // The watches end here, under the same lock (not when EXEC was read: a commit
        // between the two must still abort this transaction).
        if (!watched->empty()) {
          std::vector<std::string> keys;
          keys.reserve(watched->size());
          for (const auto& [key, deadline] : *watched) keys.push_back(key);
          c->server_->UnwatchAll(c, keys);
        }
        c->watch_dirty_ = false;
        if (aborted) {
          w.NullArray();
          return;
        }
        w.ArrayHeader(static_cast<int64_t>(queued->size()));
        for (auto& argv : *queued) {
          const CommandSpec* spec = FindCommand(argv[0]);
          int pos = 0;
          const AclDenial denied = user ? AclCheck(*user, argv, &pos) : AclDenial::kCommand;
          if (denied != AclDenial::kOk) {
            c->LogAclDenial(denied, "multi", AclLogObject(denied, argv, pos));
            w.Error(AclExecNopermError(denied));
            continue;
          }
          CommandContext ctx{*c, *c->server_, argv, w, &txn, /*in_exec=*/true};
          InvokeCommand(*spec, ctx);
          w.set_protocol(c->protocol_);  // HELLO inside MULTI changes it for later replies
        }
      },
      reply, 1, mode);
}

void Connection::Watch(store::Txn& txn, const std::string& key) {
  std::string meta_key = store::encoding::MetaKey(txn.db(), key);
  if (watched_.count(meta_key)) return;
  auto meta = txn.GetMeta(key);
  watched_[meta_key] = meta.ok() ? meta->expire_at_ms : 0;
  server_->Watch(this, meta_key, meta.ok());
}

void Connection::UnwatchAll() {
  if (!watched_.empty()) {
    std::vector<std::string> keys;
    keys.reserve(watched_.size());
    for (auto& [k, d] : watched_) keys.push_back(k);
    server_->UnwatchAll(this, keys);
    watched_.clear();
  }
  watch_dirty_ = false;
}

store::Subscriber& Connection::subscriber() {
  if (!subscriber_) {
    std::weak_ptr<Connection> weak = weak_from_this();
    net::EventLoop* loop = loop_;
    auto sub =
        server_->store().pubsub().NewSubscriber(server_->output_limits().pubsub.hard, [weak, loop] {
          auto c = weak.lock();
          if (!c || c->drain_scheduled_.exchange(true)) return;
          loop->Post([weak] {
            if (auto c = weak.lock()) {
              c->drain_scheduled_ = false;
              c->DrainPubSub();
            }
          });
        });
    std::lock_guard lock(info_mu_);
    subscriber_ = std::move(sub);
    server_->stats().pubsub_clients++;
  }
  return *subscriber_;
}

void Connection::DrainPubSub() {
  if (closed_ || !subscriber_) return;
  if (subscriber_->Overflowed()) {
    server_->stats().output_limit_disconnections++;
    Close();
    return;
  }
  if (out_.size() - out_pos_ >= kPubSubDrainHighWater) {
    CheckOutputLimits();  // the queue grew: limits and the output budget see it now
    return;               // resumes in OnWritable
  }
  for (auto& m : subscriber_->Drain()) {
    if (m.pattern.empty()) {
      writer_.PushHeader(3);
      writer_.Bulk("message");
    } else {
      writer_.PushHeader(4);
      writer_.Bulk("pmessage");
      writer_.Bulk(m.pattern);
    }
    writer_.Bulk(m.channel);
    writer_.Bulk(m.payload);
  }
  FlushOutput();
}

void Connection::Block(store::PopRequest request, int64_t timeout_ms, PopFormatter format,
                       bool timeout_null_array) {
  request.client = ClientLabel();
  BlockWith(
      [&](store::PopCallback cb) {
        return server_->store().BlockPopAsync(std::move(request), std::move(cb));
      },
      timeout_ms, std::move(format), timeout_null_array);
}

void Connection::Block(store::BlockRequest request, int64_t timeout_ms, PopFormatter format,
                       bool timeout_null_array) {
  request.client = ClientLabel();
  BlockWith(
      [&](store::PopCallback cb) {
        return server_->store().BlockAsync(std::move(request), std::move(cb));
      },
      timeout_ms, std::move(format), timeout_null_array);
}

void Connection::BlockWith(const std::function<uint64_t(store::PopCallback)>& submit,
                           int64_t timeout_ms, PopFormatter format, bool timeout_null_array) {
  block_format_ = std::move(format);
  block_null_array_ = timeout_null_array;
  block_suppress_ = suppress_current_;
  blocking_ = true;
  std::weak_ptr<Connection> weak = weak_from_this();
  net::EventLoop* loop = loop_;
  // The result always comes back through the loop's task queue, even when it is ready at
  // once, so a push on another connection never runs this client's code in its stack.
  uint64_t id = submit([weak, loop](store::Result<store::PopResult> r) {
    loop->Post([weak, r = std::move(r)]() mutable {
      if (auto c = weak.lock()) c->OnPopResult(std::move(r));
    });
  });
  if (!blocking_) return;  // served or failed at once (the result was posted already)
  blocked_id_ = id;
  server_->stats().blocked_clients++;
  if (timeout_ms > 0) {
    block_timer_ = loop_->RunAfter(std::chrono::milliseconds(timeout_ms), [weak] {
      if (auto c = weak.lock()) c->OnBlockTimeout();
    });
  }
}

void Connection::OnPopResult(store::Result<store::PopResult> r) {
  if (closed_ || !blocking_) return;
  if (!r.ok() && r.status().code() == store::Status::Code::kTimeout) return ReplyBlockTimedOut();
  FinishBlock();
  const size_t mark = out_.size();
  const uint64_t errors_before = ReplyWriter::ErrorsWrittenOnThisThread();
  if (r.ok()) {
    block_format_(writer_, *r);
  } else {
    writer_.Error(r.status().message());
  }
  if (ReplyWriter::ErrorsWrittenOnThisThread() != errors_before) {
    server_->command_stats().RecordFailedAfterUnblock(block_stats_name_);
  }
  block_stats_name_.clear();
  if (block_suppress_) out_.resize(mark);
  block_format_ = nullptr;
  Resume();
}

void Connection::OnBlockTimeout() {
  block_timer_ = 0;
  if (closed_ || blocked_id_ == 0) return;
  // False: served, or its first attempt (queued behind other writes) is still to run and
  // answers through OnPopResult, with data or Timeout.
  if (!server_->store().TimeOutBlocked(blocked_id_)) return;
  ReplyBlockTimedOut();
}

void Connection::ReplyBlockTimedOut() {
  FinishBlock();
  block_stats_name_.clear();
  if (!block_suppress_) {
    if (block_null_array_) {
      writer_.NullArray();
    } else {
      writer_.Null();
    }
  }
  Resume();
}

void Connection::FeedMonitors(const CommandSpec& spec, const std::vector<std::string>& argv) {
  if (spec.flags & kAdmin) return;  // as Redis: admin commands are not shown
  // EXEC is shown after the commands it ran (none when the transaction was discarded).
  if (std::string_view(spec.name) == "exec" && in_multi_ && !multi_dirty_) {
    for (const auto& queued : queued_) {
      const CommandSpec* q = FindCommand(queued[0]);
      if (q && !(q->flags & kAdmin)) server_->FeedMonitors(db_, peer_, queued);
    }
  }
  server_->FeedMonitors(db_, peer_, argv);
}

void Connection::SetReplyMode(ReplyMode mode) {
  reply_off_ = mode == ReplyMode::kOff;
  reply_skip_next_ = mode == ReplyMode::kSkip;
  // CLIENT REPLY ON answers OK even though replies were off when it arrived.
  if (mode == ReplyMode::kOn) suppress_current_ = false;
}

void Connection::StartMonitor() {
  if (monitor_.exchange(true)) return;
  server_->AddMonitor(shared_from_this());
}

void Connection::FeedMonitorLine(std::string line) {
  std::weak_ptr<Connection> weak = weak_from_this();
  loop_->Post([weak, line = std::move(line)] {
    auto c = weak.lock();
    if (!c || c->closed_) return;
    c->out_.append(line);
    c->FlushOutput();
  });
}

void Connection::FinishBlock() {
  if (blocked_id_ != 0) server_->stats().blocked_clients--;
  blocked_id_ = 0;
  blocking_ = false;
  if (block_timer_ != 0) loop_->CancelTimer(block_timer_);
  block_timer_ = 0;
}

bool Connection::UnblockFromAnyThread(bool error) {
  uint64_t id = blocked_id_.load();
  if (id == 0 || !server_->store().CancelBlockedPop(id)) return false;
  std::weak_ptr<Connection> weak = weak_from_this();
  loop_->Post([weak, id, error] {
    auto c = weak.lock();
    if (!c || c->closed_ || c->blocked_id_ != id) return;
    c->FinishBlock();
    if (error) {
      c->writer_.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
    } else if (c->block_null_array_) {
      c->writer_.NullArray();
    } else {
      c->writer_.Null();
    }
    c->Resume();
  });
  return true;
}

void Connection::KillFromAnyThread() {
  std::weak_ptr<Connection> weak = weak_from_this();
  loop_->Post([weak] {
    if (auto c = weak.lock()) c->Close();
  });
}

}  // namespace redge::resp
