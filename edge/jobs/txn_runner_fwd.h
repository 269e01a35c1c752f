// The operation type of txn_runner.h, for headers that declare operations.
#pragma once

#include <functional>

namespace redge::store {
class Txn;
}

namespace redge::jobs {

struct Outcome;

// One operation's transaction body: runs inside the transaction, fills *result, returns
// how it went (txn_runner.h).
template <typename R>
using TxnOp = std::function<Outcome(store::Txn&, R*)>;

}  // namespace redge::jobs
