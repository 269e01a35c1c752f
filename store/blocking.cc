// Blocked pops (BLPOP, BRPOP, BLMPOP, BLMOVE): waiters parked per key in FIFO order and
// served by the write that gives their key elements, inside that write's batch.
#include <algorithm>

#include "store/encoding.h"
#include "store/lists.h"
#include "store/store.h"
#include "store/store_impl.h"

namespace redge::store {

bool Store::TryServeFrom(Txn& txn, Waiter& w, const std::string& key) {
  Impl& im = *impl_;
  const PopRequest& req = w.request;
  int saved_db = txn.db();
  txn.SwitchDb(req.db);
  std::string saved_client = txn.client();
  txn.set_client(req.client);
  bool done = false;
  if (req.destination) {
    auto moved = lists::Move(txn, key, *req.destination, req.from, req.to);
    if (moved.ok()) {
      im.pending_deliveries.emplace_back(w.callback, PopResult{key, {std::move(*moved)}});
      done = true;
    } else if (!moved.status().IsNotFound()) {
      im.pending_deliveries.emplace_back(w.callback, moved.status());
      done = true;
    }
  } else {
    auto popped = lists::Pop(txn, key, req.from, std::max<size_t>(req.count, 1));
    if (popped.ok() && !popped->empty()) {
      im.pending_deliveries.emplace_back(w.callback, PopResult{key, std::move(*popped)});
      done = true;
    } else if (!popped.ok() && !popped.status().IsNotFound()) {
      im.pending_deliveries.emplace_back(w.callback, popped.status());
      done = true;
    }
  }
  txn.SwitchDb(saved_db);
  txn.set_client(std::move(saved_client));
  return done;
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
    std::vector<std::string> ready;
    ready.swap(txn.ready_lists_);
    for (const auto& meta_key : ready) {
      while (true) {
        auto it = im.waiters_by_key.find(meta_key);
        if (it == im.waiters_by_key.end() || it->second.empty()) break;
        std::shared_ptr<Waiter> w = it->second.front();
        std::string key = meta_key.substr(1);
        if (!TryServeFrom(txn, *w, key)) break;  // the list is empty again
        RemoveWaiter(*w);
      }
    }
  }
}

uint64_t Store::BlockPopAsync(PopRequest request, PopCallback cb) {
  uint64_t id = 0;
  auto w = std::make_shared<Waiter>();
  w->request = std::move(request);
  w->callback = std::move(cb);
  bool ran = false;
  Status s = Exec(w->request.db, [&](Txn& txn) {
    ran = true;
    for (const auto& key : w->request.keys) {
      if (TryServeFrom(txn, *w, key)) return;
    }
    Impl& im = *impl_;
    w->id = id = im.next_waiter_id++;
    im.waiters_by_id[id] = w;
    im.blocked++;
    for (const auto& key : w->request.keys) {
      auto& q = im.waiters_by_key[encoding::MetaKey(w->request.db, key)];
      // A key named twice in one request must not queue the waiter twice.
      if (q.empty() || q.back() != w) q.push_back(w);
    }
  });
  // If the body ran, Commit() delivered any immediate result (or the commit error) and a
  // parked waiter stays parked. If it never ran (bad db index, shutdown), say so.
  if (!ran) w->callback(s);
  return id;
}

bool Store::CancelBlockedPop(uint64_t id) {
  Impl& im = *impl_;
  std::lock_guard lock(im.mu);
  auto it = im.waiters_by_id.find(id);
  if (it == im.waiters_by_id.end()) return false;
  std::shared_ptr<Waiter> w = it->second;
  RemoveWaiter(*w);
  return true;
}

Result<std::optional<PopResult>> Store::BlockPop(PopRequest request,
                                                 std::chrono::milliseconds timeout) {
  struct Slot {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::optional<Result<PopResult>> result;
  };
  auto slot = std::make_shared<Slot>();
  uint64_t id = BlockPopAsync(std::move(request), [slot](Result<PopResult> r) {
    std::lock_guard lock(slot->mu);
    slot->result.emplace(std::move(r));
    slot->done = true;
    slot->cv.notify_all();
  });
  std::unique_lock lock(slot->mu);
  if (id != 0 && !slot->done) {
    if (timeout.count() > 0) {
      slot->cv.wait_for(lock, timeout, [&] { return slot->done; });
    } else {
      slot->cv.wait(lock, [&] { return slot->done; });
    }
    if (!slot->done) {
      lock.unlock();
      if (CancelBlockedPop(id)) return std::optional<PopResult>();
      // Served while we were timing out: the result is on its way after the commit.
      lock.lock();
      slot->cv.wait(lock, [&] { return slot->done; });
    }
  }
  if (!slot->done) return std::optional<PopResult>();  // immediate path always sets done
  if (!slot->result->ok()) return slot->result->status();
  return std::optional<PopResult>(std::move(slot->result->value()));
}

}  // namespace redge::store
