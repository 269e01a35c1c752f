// The store's write path: the writer queue (inline when idle, queued otherwise, order per
// thread), exclusive operations that hold no caller, savepoints, internal records,
// reverse element scans, FlushAsync and readiness signals for blocked commands.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "store/keys.h"
#include "store/lists.h"
#include "store/strings.h"
#include "store_fixture.h"

namespace redge::store {
namespace {

using testing::StoreTest;
using Strings = std::vector<std::string>;

// A latch an operation can park on, so a test holds the store busy as long as it wants.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, open = false;
  void Enter() {
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  }
  void WaitEntered() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  void Open() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
};

class WritePathTest : public StoreTest {};

PopRequest QueueRequest() {
  PopRequest r;
  r.keys = {"q"};
  return r;
}

TEST_F(WritePathTest, IdleStoreRunsInlineAndCallsDoneBeforeReturning) {
  bool ran = false, done = false;
  std::thread::id ran_on;
  store().ExecAsync(
      0,
      [&](Txn& t) {
        ran = true;
        ran_on = std::this_thread::get_id();
        (void)strings::Set(t, "k", "v");
      },
      [&](Status s) {
        EXPECT_TRUE(s.ok());
        done = true;
      });
  EXPECT_TRUE(ran);
  EXPECT_TRUE(done);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(Get("k"), "v");
}

TEST_F(WritePathTest, ExclusiveOperationNeverHoldsOtherCallers) {
  Gate gate;
  std::promise<Status> exclusive_done;
  store().ExecAsync(
      0,
      [&](Txn& t) {
        (void)strings::Set(t, "a", "1");
        gate.Enter();  // a long Lua script, say
      },
      [&](Status s) { exclusive_done.set_value(s); }, ExecMode::kExclusive);
  gate.WaitEntered();
  // The store is busy: this call must return at once (queued), not wait for the gate.
  std::promise<Status> second_done;
  std::atomic<bool> second_ran{false};
  auto t0 = std::chrono::steady_clock::now();
  store().ExecAsync(
      0,
      [&](Txn& t) {
        second_ran = true;
        // Runs after the exclusive operation: sees its write.
        auto v = strings::Get(t, "a");
        EXPECT_TRUE(v.ok());
        (void)strings::Set(t, "b", "2");
      },
      [&](Status s) { second_done.set_value(s); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_FALSE(second_ran.load());
  gate.Open();
  EXPECT_TRUE(exclusive_done.get_future().get().ok());
  EXPECT_TRUE(second_done.get_future().get().ok());
  EXPECT_TRUE(second_ran.load());
  EXPECT_EQ(Get("b"), "2");
}

TEST_F(WritePathTest, OperationsOfOneThreadKeepTheirOrderWhileQueued) {
  Gate gate;
  std::promise<void> first_done;
  store().ExecAsync(
      0, [&](Txn&) { gate.Enter(); }, [&](Status) { first_done.set_value(); },
      ExecMode::kExclusive);
  gate.WaitEntered();
  // Queued behind the busy store; then the gate opens while more are submitted, some of
  // which could run inline: none may overtake an earlier one of this thread.
  std::vector<int> order;
  std::mutex order_mu;
  std::atomic<int> done{0};
  const int n = 200;
  for (int i = 0; i < n; ++i) {
    if (i == n / 2) gate.Open();
    store().ExecAsync(
        0,
        [&, i](Txn& t) {
          (void)lists::Push(t, "seq", ListEnd::kRight, {std::to_string(i)});
          std::lock_guard lock(order_mu);
          order.push_back(i);
        },
        [&](Status s) {
          EXPECT_TRUE(s.ok());
          done++;
        });
  }
  first_done.get_future().get();
  while (done.load() < n) std::this_thread::yield();
  ASSERT_EQ(order.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(order[i], i);
  auto all = Run([](Txn& t) { return lists::Range(t, "seq", 0, -1); });
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), static_cast<size_t>(n));
}

TEST_F(WritePathTest, ConcurrentWritersAllCommit) {
  constexpr int kThreads = 4, kPerThread = 500;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "k" + std::to_string(t) + ":" + std::to_string(i);
        Status s = store().Exec(0, [&](Txn& txn) { (void)strings::Set(txn, key, "v"); });
        if (s.ok()) ok++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(store().DbSize(0), kThreads * kPerThread);
}

TEST_F(WritePathTest, RollbackToSavePointUndoesWritesCountsAndHooks) {
  Put("kept", "1");
  bool hook_ran = false, kept_hook_ran = false;
  Status s = store().Exec(0, [&](Txn& t) {
    (void)strings::Set(t, "before", "x");
    t.AfterCommit([&] { kept_hook_ran = true; });
    t.SetSavePoint();
    (void)strings::Set(t, "inside", "y");
    (void)lists::Push(t, "list", ListEnd::kRight, {"a", "b"});
    EXPECT_EQ(keys::Del(t, {"kept"}), 1);
    (void)keys::ExpireAt(t, "before", t.now_ms() + 1000);
    t.AfterCommit([&] { hook_ran = true; });
    t.RollbackToSavePoint();
    // Reads after the rollback see the state at the savepoint.
    EXPECT_TRUE(strings::Get(t, "inside").status().IsNotFound());
    EXPECT_TRUE(strings::Get(t, "kept").ok());
  });
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(hook_ran);
  EXPECT_TRUE(kept_hook_ran);
  EXPECT_EQ(Get("before"), "x");
  EXPECT_EQ(Get("kept"), "1");
  EXPECT_EQ(Get("inside"), std::nullopt);
  EXPECT_EQ(Do([](Txn& t) { return keys::Type(t, "list"); }), KeyType::kNone);
  EXPECT_EQ(Do([](Txn& t) { return keys::Ttl(t, "before", 1); }), -1);
  EXPECT_EQ(store().DbSize(0), 2);  // kept, before
  EXPECT_EQ(store().DbExpires(0), 0);
}

TEST_F(WritePathTest, NestedSavePointsAndPop) {
  Status s = store().Exec(0, [&](Txn& t) {
    t.SetSavePoint();
    (void)strings::Set(t, "outer", "1");
    t.SetSavePoint();
    (void)strings::Set(t, "inner", "2");
    t.PopSavePoint();  // keep inner's write as part of the outer savepoint
    t.SetSavePoint();
    (void)strings::Set(t, "dropped", "3");
    t.RollbackToSavePoint();
    t.PopSavePoint();
  });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Get("outer"), "1");
  EXPECT_EQ(Get("inner"), "2");
  EXPECT_EQ(Get("dropped"), std::nullopt);
}

TEST_F(WritePathTest, InternalRecordsPersistAndStayOutOfTheKeySpace) {
  ASSERT_TRUE(store()
                  .Exec(0,
                        [](Txn& t) {
                          t.PutInternal("fn:lib1", "code1");
                          t.PutInternal("fn:lib2", "code2");
                          t.PutInternal("other:x", "y");
                        })
                  .ok());
  EXPECT_EQ(store().DbSize(0), 0);
  Reopen();
  std::vector<std::pair<std::string, std::string>> seen;
  ASSERT_TRUE(store()
                  .Exec(0,
                        [&](Txn& t) {
                          (void)t.ScanInternal("fn:", [&](std::string_view n, std::string_view v) {
                            seen.emplace_back(n, v);
                            return true;
                          });
                          EXPECT_EQ(*t.GetInternal("other:x"), "y");
                        })
                  .ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, "fn:lib1");
  EXPECT_EQ(seen[1].second, "code2");
  ASSERT_TRUE(store().FlushAll().ok());
  auto v = Run([](Txn& t) { return t.GetInternal("fn:lib1"); });
  ASSERT_TRUE(v.ok());  // FLUSHALL is about keys, not the store's own records
  EXPECT_EQ(*v, "code1");
  ASSERT_TRUE(store().Exec(0, [](Txn& t) { t.DeleteInternal("fn:lib1"); }).ok());
  EXPECT_TRUE(Run([](Txn& t) { return t.GetInternal("fn:lib1"); }).status().IsNotFound());
}

TEST_F(WritePathTest, ElementScansBothWaysIncludingHighBytesAndTheBatch) {
  uint64_t version = 0;
  ASSERT_TRUE(store()
                  .Exec(0,
                        [&](Txn& t) {
                          version = t.NewVersion();
                          Meta m;
                          m.type = KeyType::kHash;
                          m.version = version;
                          m.count = 4;
                          t.PutMeta("h", m);
                          t.PutElement("h", version, "a", "1");
                          t.PutElement("h", version, "m", "2");
                          // Sub-keys of 0xFF bytes sort last; none may be missed.
                          t.PutElement("h", version, std::string(12, '\xff'), "3");
                          t.PutElement("h", version + 1, "zz", "other version");
                        })
                  .ok());
  ASSERT_TRUE(store().Exec(0, [&](Txn& t) { t.PutElement("h", version, "", "empty"); }).ok());
  Strings fwd, rev, from_m;
  ASSERT_TRUE(store()
                  .Exec(0,
                        [&](Txn& t) {
                          t.PutElement("h", version, "b", "in batch");
                          auto collect = [](Strings* out) {
                            return [out](std::string_view sub, std::string_view) {
                              out->emplace_back(sub);
                              return true;
                            };
                          };
                          (void)t.ScanElements("h", version, "", collect(&fwd));
                          (void)t.ScanElementsReverse("h", version, "", collect(&rev));
                          (void)t.ScanElementsReverse("h", version, "m", collect(&from_m));
                        })
                  .ok());
  const std::string high(12, '\xff');
  EXPECT_EQ(fwd, (Strings{"", "a", "b", "m", high}));
  EXPECT_EQ(rev, (Strings{high, "m", "b", "a", ""}));
  EXPECT_EQ(from_m, (Strings{"m", "b", "a", ""}));
}

// A scan merges the batch's own writes (puts, overwrites, deletes, in front of, between
// and after stored elements) with the stored ones: by hand for a few writes, through
// RocksDB's base-delta iterator for many; both give the same view.
TEST_F(WritePathTest, ElementScansSeeTheBatchWhetherItHoldsFewOrManyWrites) {
  using Items = std::vector<std::pair<std::string, std::string>>;
  auto sub_of = [](int i) {
    char sub[8];
    std::snprintf(sub, sizeof(sub), "%04d", i);
    return std::string(sub);
  };
  for (int writes : {5, 600}) {
    const std::string key = "h" + std::to_string(writes);
    uint64_t version = 0;
    std::map<std::string, std::string> expected;
    ASSERT_TRUE(store()
                    .Exec(0,
                          [&](Txn& t) {
                            version = t.NewVersion();
                            for (int i = 0; i < 1000; i += 2) {
                              t.PutElement(key, version, sub_of(i), "stored");
                              expected[sub_of(i)] = "stored";
                            }
                          })
                    .ok());
    Items seen, seen_from;
    ASSERT_TRUE(store()
                    .Exec(0,
                          [&](Txn& t) {
                            for (int w = 0; w < writes; ++w) {
                              const std::string sub = sub_of((w * 7919) % 1001);  // spread out
                              if (w % 3 == 0) {
                                t.DeleteElement(key, version, sub);
                                expected.erase(sub);
                              } else {
                                t.PutElement(key, version, sub, "batch" + std::to_string(w));
                                expected[sub] = "batch" + std::to_string(w);
                              }
                            }
                            (void)t.ScanElements(key, version, "",
                                                 [&](std::string_view sub, std::string_view v) {
                                                   seen.emplace_back(sub, v);
                                                   return true;
                                                 });
                            (void)t.ScanElements(key, version, "0500",
                                                 [&](std::string_view sub, std::string_view v) {
                                                   seen_from.emplace_back(sub, v);
                                                   return seen_from.size() < 10;
                                                 });
                          })
                    .ok());
    EXPECT_EQ(seen, Items(expected.begin(), expected.end())) << writes << " writes";
    Items want_from;
    for (auto it = expected.lower_bound("0500"); it != expected.end() && want_from.size() < 10;
         ++it) {
      want_from.push_back(*it);
    }
    EXPECT_EQ(seen_from, want_from) << writes << " writes";
  }
}

TEST_F(WritePathTest, CopyElementsKeepsEveryElementUnderAFreshVersion) {
  ASSERT_TRUE(Run([](Txn& t) {
                return lists::Push(t, "src", ListEnd::kRight, {"a", "b", "c"});
              }).ok());
  ASSERT_TRUE(Do([](Txn& t) { return keys::Rename(t, "src", "dst"); }).ok());
  auto all = Run([](Txn& t) { return lists::Range(t, "dst", 0, -1); });
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (Strings{"a", "b", "c"}));
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "src"), 0);
  EXPECT_EQ(store().CountElementRecordsForTest(0, "dst"), 3);
}

TEST_F(WritePathTest, FlushAsyncIsOrderedWithQueuedWrites) {
  Put("a", "1");
  Put("b", "2", 1);
  std::promise<Status> flushed;
  store().FlushAsync(0, [&](Status s) { flushed.set_value(s); });
  EXPECT_TRUE(flushed.get_future().get().ok());
  EXPECT_EQ(Get("a"), std::nullopt);
  EXPECT_EQ(Get("b", 1), "2");
  std::promise<Status> all;
  store().FlushAsync(-1, [&](Status s) { all.set_value(s); });
  EXPECT_TRUE(all.get_future().get().ok());
  EXPECT_EQ(Get("b", 1), std::nullopt);
  EXPECT_EQ(store().DbSize(1), 0);
}

// Writes queued behind a busy writer are committed as one batch; a SAVE or FLUSH queued
// after them must not join that batch (it has no operation to run: batching one called an
// empty std::function and aborted, found by fuzz_resp_commands with BGSAVE).
TEST_F(WritePathTest, SaveAndFlushQueuedBehindWritesRunAfterThemAlone) {
  Gate gate;
  std::promise<Status> busy_done;
  store().ExecAsync(
      0, [&](Txn&) { gate.Enter(); }, [&](Status s) { busy_done.set_value(s); },
      ExecMode::kExclusive);  // on the writer thread, so the rest queue behind it
  gate.WaitEntered();
  std::promise<Status> write_done, saved, write2_done, flushed, write3_done;
  store().ExecAsync(
      0, [](Txn& t) { (void)strings::Set(t, "a", "1"); },
      [&](Status s) { write_done.set_value(s); });
  store().SaveAsync([&](Status s) { saved.set_value(s); });
  store().ExecAsync(
      0, [](Txn& t) { (void)strings::Set(t, "b", "2"); },
      [&](Status s) { write2_done.set_value(s); });
  store().FlushAsync(1, [&](Status s) { flushed.set_value(s); });
  store().ExecAsync(
      0, [](Txn& t) { (void)strings::Set(t, "c", "3"); },
      [&](Status s) { write3_done.set_value(s); });
  gate.Open();
  EXPECT_TRUE(busy_done.get_future().get().ok());
  EXPECT_TRUE(write_done.get_future().get().ok());
  EXPECT_TRUE(saved.get_future().get().ok());
  EXPECT_TRUE(write2_done.get_future().get().ok());
  EXPECT_TRUE(flushed.get_future().get().ok());
  EXPECT_TRUE(write3_done.get_future().get().ok());
  EXPECT_EQ(Get("a"), "1");
  EXPECT_EQ(Get("b"), "2");
  EXPECT_EQ(Get("c"), "3");
}

// A flush's range tombstone makes RocksDB iterators step over every memtable key it covers;
// the flush therefore also switches the memtables out (flushed in the background, which
// drops the covered keys), so the active memtable is empty once FLUSHALL is done.
TEST_F(WritePathTest, FlushAllSwitchesTheMemtablesOut) {
  for (int i = 0; i < 100; ++i) Put("k" + std::to_string(i), "v");
  ASSERT_TRUE(store()
                  .Exec(0,
                        [](Txn& t) {
                          (void)lists::Push(t, "l", ListEnd::kRight, {"a", "b"});
                        })
                  .ok());
  ASSERT_GT(store().ActiveMemtableEntriesForTest(), 0u);
  std::promise<Status> flushed;
  store().FlushAsync(-1, [&](Status s) { flushed.set_value(s); });
  ASSERT_TRUE(flushed.get_future().get().ok());
  EXPECT_EQ(store().ActiveMemtableEntriesForTest(), 0u);
  EXPECT_EQ(Get("k1"), std::nullopt);
}

TEST_F(WritePathTest, GenericBlockRequestServedBySignalKeyReady) {
  // A blocking request of a type the store knows nothing about: served when a write
  // signals the key and the serve function finds what it waits for.
  std::promise<Result<PopResult>> got;
  BlockRequest req;
  req.keys = {"flag"};
  req.serve = [](Txn& t, const std::string& key) -> std::optional<Result<PopResult>> {
    auto v = strings::Get(t, key);
    if (!v.ok() || *v != "go") return std::nullopt;
    return Result<PopResult>(PopResult{key, {*v}});
  };
  uint64_t id =
      store().BlockAsync(std::move(req), [&](Result<PopResult> r) { got.set_value(std::move(r)); });
  ASSERT_NE(id, 0u);
  EXPECT_EQ(store().GetStats().blocked_clients, 1);
  // A write without a signal (strings do not signal by themselves) serves nobody...
  Put("flag", "go");
  EXPECT_EQ(store().GetStats().blocked_clients, 1);
  // ...a signal does.
  ASSERT_TRUE(store().Exec(0, [](Txn& t) { t.SignalKeyReady("flag"); }).ok());
  auto r = got.get_future().get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->values, Strings{"go"});
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
  EXPECT_FALSE(store().CancelBlocked(id));
}

TEST_F(WritePathTest, CancelWhileQueuedNeverCallsBack) {
  Gate gate;
  std::promise<void> busy_done;
  store().ExecAsync(
      0, [&](Txn&) { gate.Enter(); }, [&](Status) { busy_done.set_value(); }, ExecMode::kExclusive);
  gate.WaitEntered();
  std::atomic<bool> called{false};
  uint64_t id = store().BlockPopAsync(QueueRequest(), [&](Result<PopResult>) { called = true; });
  EXPECT_TRUE(store().CancelBlocked(id));  // withdrawn before its first attempt ran
  gate.Open();
  busy_done.get_future().get();
  Put("sync", "1");  // everything queued before has run
  ASSERT_TRUE(Run([](Txn& t) { return lists::Push(t, "q", ListEnd::kRight, {"x"}); }).ok());
  EXPECT_FALSE(called.load());
  EXPECT_EQ(store().GetStats().blocked_clients, 0);
  auto left = Run([](Txn& t) { return lists::Len(t, "q"); });
  EXPECT_EQ(*left, 1);
}

}  // namespace
}  // namespace redge::store
