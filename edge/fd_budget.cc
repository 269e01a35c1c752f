#include "edge/fd_budget.h"

#include <sys/resource.h>

#include <algorithm>

namespace redge {

FdPlan PlanFileDescriptors(uint64_t limit, int64_t resp_wanted, int64_t http_wanted) {
  FdPlan plan;
  plan.limit = limit;
  plan.reserved = kReservedFds;
  const int64_t after_reserve =
      static_cast<int64_t>(std::min<uint64_t>(limit, INT32_MAX)) - kReservedFds;
  plan.store_table_files = static_cast<int>(
      std::clamp<int64_t>(after_reserve / 4, kMinStoreTableFiles, kMaxStoreTableFiles));
  const int64_t for_connections = after_reserve - plan.store_table_files;
  const int64_t wanted = resp_wanted + http_wanted;
  if (wanted <= for_connections) {
    plan.resp_max_clients = static_cast<int>(resp_wanted);
    plan.http_max_connections = static_cast<int>(http_wanted);
    return plan;
  }
  plan.reduced = true;
  if (for_connections < (resp_wanted > 0) + (http_wanted > 0)) return plan;  // no room at all
  // In proportion, each listener that is on keeping at least one.
  int64_t resp = resp_wanted > 0 ? std::max<int64_t>(1, for_connections * resp_wanted / wanted) : 0;
  if (http_wanted > 0 && resp >= for_connections) resp = for_connections - 1;
  plan.resp_max_clients = static_cast<int>(resp);
  plan.http_max_connections = http_wanted > 0 ? static_cast<int>(for_connections - resp) : 0;
  return plan;
}

uint64_t RaiseNofileLimit(uint64_t want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min<rlim_t>(want, rl.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(rl.rlim_cur);
}

}  // namespace redge
