// Blocked commands (BLPOP, BRPOP, BLMPOP, BLMOVE, BZPOPMIN, BZMPOP, XREAD BLOCK, ...):
// waiters parked per key in FIFO order and served by the write that makes their key
// ready, inside that write's batch. Each request carries its own serve function, so this
// file knows no data type; BlockPopAsync builds the one for lists.
#include <algorithm>
#include <memory>
#include <string_view>
#include <unordered_set>

#include "store/encoding.h"
#include "store/lists.h"
#include "store/store.h"
#include "store/store_impl.h"

namespace redge::store {
namespace {

// The list pop of one PopRequest as a serve function. Its first call per key happens when
// the request is made: a key of another type is then an error (WRONGTYPE), as in Redis;
// later calls come from writes to the key, and Redis serves blocked list pops from lists
// only, so a key that became another type keeps the client waiting.
ServeFn ListServe(PopRequest req) {
  auto calls = std::make_shared<size_t>(0);
  return [req = std::move(req), calls](Txn& txn,
                                       const std::string& key) -> std::optional<Result<PopResult>> {
    const bool at_request = (*calls)++ < req.keys.size();
    if (!at_request) {
      auto meta = txn.GetMeta(key);
      if (meta.ok() && meta->type != KeyType::kList) return std::nullopt;
    }
    if (req.destination) {
      auto moved = lists::Move(txn, key, *req.destination, req.from, req.to);
      if (moved.ok()) return Result<PopResult>(PopResult{key, {std::move(*moved)}});
      if (moved.status().IsNotFound()) return std::nullopt;
      return Result<PopResult>(moved.status());
    }
    auto popped = lists::Pop(txn, key, req.from, std::max<size_t>(req.count, 1));
    if (popped.ok() && !popped->empty()) {
      return Result<PopResult>(PopResult{key, std::move(*popped)});
    }
    if (!popped.ok() && !popped.status().IsNotFound()) return Result<PopResult>(popped.status());
    return std::nullopt;
  };
}

// Whether `key` holds a live value in database `db` (the caller's database is kept).
bool KeyExists(Txn& txn, int db, const std::string& key) {
  int saved_db = txn.db();
  txn.SwitchDb(db);
  bool exists = txn.GetMeta(key).ok();
  txn.SwitchDb(saved_db);
  return exists;
}

}  // namespace

bool Store::TryServeFrom(Txn& txn, Waiter& w, const std::string& key) {
  Impl& im = *impl_;
  const BlockRequest& req = w.request;
  int saved_db = txn.db();
  txn.SwitchDb(req.db);
  std::string saved_client = txn.client();
  txn.set_client(req.client);
  auto served = req.serve(txn, key);
  txn.SwitchDb(saved_db);
  txn.set_client(std::move(saved_client));
  if (!served) return false;
  im.pending_deliveries.emplace_back(w.callback, std::move(*served));
  return true;
}

void Store::RemoveWaiter(const Waiter& w) {
  Impl& im = *impl_;
  for (const auto& key : w.request.keys) {
    auto it = im.waiters_by_key.find(encoding::MetaKey(w.request.db, key));
    if (it == im.waiters_by_key.end()) continue;
    auto& q = it->second;
    q.erase(std::remove_if(q.begin(), q.end(), [&](const auto& p) { return p.get() == &w; }),
            q.end());
    if (q.empty()) im.waiters_by_key.erase(it);
  }
  if (im.waiters_by_id.erase(w.id)) im.blocked--;
}

void Store::ServeBlockedPops(Txn& txn) {
  Impl& im = *impl_;
  // Serving a BLMOVE pushes to its destination, which may make more keys ready.
  while (!txn.ready_lists_.empty()) {
    std::vector<std::string> signalled;
    signalled.swap(txn.ready_lists_);
    // Keys are served in the order they first became ready (Redis's ready_keys list): a
    // waiter on two keys written in one transaction is served from the first one written.
    std::vector<std::string> ready;
    std::unordered_set<std::string_view> seen;
    for (const auto& key : signalled) {
      if (seen.insert(key).second) ready.push_back(key);
    }
    for (const auto& meta_key : ready) {
      // Every waiter of the key in FIFO order, as Redis walks its blocked clients, until
      // the key is gone: a waiter the key cannot serve (a BLPOP on what is now a sorted
      // set, an XREAD for later IDs) does not hold up the ones behind it.
      std::vector<std::shared_ptr<Waiter>> queue;
      {
        std::lock_guard wlock(im.waiters_mu);
        auto it = im.waiters_by_key.find(meta_key);
        if (it == im.waiters_by_key.end()) continue;
        queue.assign(it->second.begin(), it->second.end());
      }
      const std::string key = meta_key.substr(1);
      for (const auto& w : queue) {
        {
          // Held across the serve attempt: a concurrent cancel either withdraws the
          // waiter before it is served or learns that it was served.
          std::lock_guard wlock(im.waiters_mu);
          if (!im.waiters_by_id.count(w->id)) continue;  // canceled meanwhile
          if (TryServeFrom(txn, *w, key)) {
            RemoveWaiter(*w);
            continue;
          }
        }
        if (!KeyExists(txn, w->request.db, key)) break;  // nothing left for anyone
      }
    }
  }
}

uint64_t Store::BlockAsync(BlockRequest request, PopCallback cb) {
  Impl& im = *impl_;
  auto w = std::make_shared<Waiter>();
  w->id = im.next_waiter_id++;
  w->request = std::move(request);
  w->callback = std::move(cb);
  const uint64_t id = w->id;
  {
    std::lock_guard wlock(im.waiters_mu);
    im.waiters_pending.emplace(id, false);
  }
  auto ran = std::make_shared<bool>(false);
  ExecAsync(
      w->request.db,
      [this, w, ran](Txn& txn) {
        Impl& im = *impl_;
        std::lock_guard wlock(im.waiters_mu);
        auto pending = im.waiters_pending.find(w->id);
        if (pending == im.waiters_pending.end()) return;  // canceled before it ran
        const bool timed_out = pending->second;
        im.waiters_pending.erase(pending);
        *ran = true;
        for (const auto& key : w->request.keys) {
          if (TryServeFrom(txn, *w, key)) return;
        }
        if (timed_out) {  // the one attempt found nothing: the wait is over
          im.pending_deliveries.emplace_back(w->callback, Status::Timeout());
          return;
        }
        im.waiters_by_id[w->id] = w;
        im.blocked++;
        for (const auto& key : w->request.keys) {
          auto& q = im.waiters_by_key[encoding::MetaKey(w->request.db, key)];
          // A key named twice in one request must not queue the waiter twice.
          if (q.empty() || q.back() != w) q.push_back(w);
        }
      },
      [this, w, ran](Status s) {
        // If the body ran, Commit() delivered any immediate result (or the commit error)
        // and a parked waiter stays parked. If it never ran (bad db index, shutdown) and
        // was not canceled, say so.
        if (*ran || s.ok()) return;
        Impl& im = *impl_;
        {
          std::lock_guard wlock(im.waiters_mu);
          if (im.waiters_pending.erase(w->id) == 0) return;
        }
        w->callback(s);
      });
  return id;
}

uint64_t Store::BlockPopAsync(PopRequest request, PopCallback cb) {
  BlockRequest br;
  br.db = request.db;
  br.keys = request.keys;
  br.client = request.client;
  br.serve = ListServe(std::move(request));
  return BlockAsync(std::move(br), std::move(cb));
}

bool Store::TimeOutBlocked(uint64_t id) {
  Impl& im = *impl_;
  std::lock_guard wlock(im.waiters_mu);
  if (auto it = im.waiters_pending.find(id); it != im.waiters_pending.end()) {
    it->second = true;  // the first attempt still runs; it delivers Timeout if it finds nothing
    return false;
  }
  auto it = im.waiters_by_id.find(id);
  if (it == im.waiters_by_id.end()) return false;
  std::shared_ptr<Waiter> w = it->second;
  RemoveWaiter(*w);
  return true;
}

bool Store::CancelBlocked(uint64_t id) {
  Impl& im = *impl_;
  std::lock_guard wlock(im.waiters_mu);
  if (im.waiters_pending.erase(id)) return true;
  auto it = im.waiters_by_id.find(id);
  if (it == im.waiters_by_id.end()) return false;
  std::shared_ptr<Waiter> w = it->second;
  RemoveWaiter(*w);
  return true;
}

Result<std::optional<PopResult>> Store::Block(BlockRequest request,
                                              std::chrono::milliseconds timeout) {
  CheckMayWait("Block");
  struct Slot {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::optional<Result<PopResult>> result;
  };
  auto slot = std::make_shared<Slot>();
  uint64_t id = BlockAsync(std::move(request), [slot](Result<PopResult> r) {
    std::lock_guard lock(slot->mu);
    slot->result.emplace(std::move(r));
    slot->done = true;
    slot->cv.notify_all();
  });
  std::unique_lock lock(slot->mu);
  if (!slot->done) {
    if (timeout.count() > 0) {
      slot->cv.wait_for(lock, timeout, [&] { return slot->done; });
    } else {
      slot->cv.wait(lock, [&] { return slot->done; });
    }
    if (!slot->done) {
      lock.unlock();
      if (TimeOutBlocked(id)) return std::optional<PopResult>();
      // Served while we were timing out, or its first attempt is still to run: the
      // result (or Timeout) is on its way.
      lock.lock();
      slot->cv.wait(lock, [&] { return slot->done; });
    }
  }
  if (!slot->result->ok()) {
    if (slot->result->status().code() == Status::Code::kTimeout) return std::optional<PopResult>();
    return slot->result->status();
  }
  return std::optional<PopResult>(std::move(slot->result->value()));
}

Result<std::optional<PopResult>> Store::BlockPop(PopRequest request,
                                                 std::chrono::milliseconds timeout) {
  BlockRequest br;
  br.db = request.db;
  br.keys = request.keys;
  br.client = request.client;
  br.serve = ListServe(std::move(request));
  return Block(std::move(br), timeout);
}

}  // namespace redge::store
