// The one path of every jobs-layer operation: load, check, mutate and commit in one store
// transaction, either waiting for the commit (threads, tests) or not (event loops).
//
// An operation is written once, as `Outcome op(store::Txn& txn, R* result)`: it runs
// inside the transaction (on the calling thread or later on the store's writer thread),
// reads and writes through `txn`, fills `*result` and says how it went. It must own what
// it captures (capture by value: it may run after the call returned) and must not touch
// anything of an event loop. It may run more than once (a batch retried alone after a
// failure): each run starts from a fresh R.
//
//   RunTxn(store, op, &result)       waits for the commit; REQUIRES: not an event loop
//   RunTxnAsync(store, op, done)     `done(outcome, result)` runs once the commit is
//                                    durable, on the committing thread (the caller's,
//                                    the writer's or the group-commit thread): keep it
//                                    short, post to a loop
//
// A failed commit turns the outcome into kUnavailable ("<unavailable_prefix><the store's
// message>") with a default-constructed R, whatever the operation said: nothing it wrote
// happened.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "edge/jobs/job_service.h"
#include "edge/jobs/txn_runner_fwd.h"
#include "store/store.h"

namespace redge::jobs {

inline constexpr const char* kStoreCannotWrite = "the store cannot write: ";

template <typename R>
using TxnDone = std::function<void(Outcome, R)>;

template <typename R>
void RunTxnAsync(store::Store* store, TxnOp<R> op, TxnDone<R> done,
                 const char* unavailable_prefix = kStoreCannotWrite) {
  struct State {
    Outcome out;
    R result{};
  };
  auto state = std::make_shared<State>();
  store->ExecAsync(
      0,
      [state, op = std::move(op)](store::Txn& txn) {
        state->result = R{};
        state->out = op(txn, &state->result);
      },
      [state, done = std::move(done), unavailable_prefix](store::Status s) {
        if (!s.ok()) {
          return done(Outcome::Error(Outcome::Code::kUnavailable, unavailable_prefix + s.message()),
                      R{});
        }
        done(std::move(state->out), std::move(state->result));
      });
}

template <typename R>
Outcome RunTxn(store::Store* store, const TxnOp<R>& op, R* result,
               const char* unavailable_prefix = kStoreCannotWrite) {
  Outcome out;
  store::Status s = store->Exec(0, [&](store::Txn& txn) {
    *result = R{};
    out = op(txn, result);
  });
  if (!s.ok()) {
    *result = R{};
    return Outcome::Error(Outcome::Code::kUnavailable, unavailable_prefix + s.message());
  }
  return out;
}

}  // namespace redge::jobs
