// JobService: what keeps the jobs layer consistent with keys it does not control. Queue
// names that would reach its own records are refused, events too big to stream are
// refused, and job records deleted over RESP (DEL, FLUSHALL) leave the running counts and
// wake their readers. The rest of JobService is in job_service.cc.
#include <chrono>
#include <string>
#include <vector>

#include "edge/jobs/job_service.h"
#include "edge/jobs/job_txn.h"
#include "edge/log.h"

namespace redge::jobs {

using Code = Outcome::Code;

Outcome JobService::CheckQueue(std::string_view queue) const {
  if (!ValidQueueName(queue)) {
    return Outcome::Error(Code::kBadRequest,
                          "queue names are 1-128 characters of A-Z a-z 0-9 _ - . : (not . or ..)");
  }
  if (IsInternalKey(queue_key_.Format(queue))) {
    return Outcome::Error(Code::kBadRequest, "queue '" + std::string(queue) + "' would use key '" +
                                                 queue_key_.Format(queue) +
                                                 "', which redge keeps for its own records");
  }
  return Outcome::Ok();
}

Outcome JobService::TooLarge(const std::string& what, size_t bytes) const {
  return Outcome::Error(
      Code::kTooLarge, what + " is " + std::to_string(bytes) + " bytes as JSON; the limit is " +
                           std::to_string(options_.max_event_bytes) + " bytes (--max-event-bytes)");
}

void JobService::SetRunning(const std::string& queue, const std::string& id, bool running) {
  std::lock_guard lock(queues_mu_);
  if (running) {
    running_[queue].insert(id);
    running_queue_[id] = queue;
  } else {
    running_[queue].erase(id);
    running_queue_.erase(id);
  }
}

void JobService::OnJobGone(const std::string& id) {
  {
    std::lock_guard lock(queues_mu_);
    if (auto it = running_queue_.find(id); it != running_queue_.end()) {
      running_[it->second].erase(id);
      running_queue_.erase(it);
    }
  }
  WakeWatchers(id, std::chrono::steady_clock::now());  // readers re-read and end
}

void JobService::OnJobsFlushed() {
  {
    std::lock_guard lock(queues_mu_);
    for (auto& [queue, ids] : running_) ids.clear();
    running_queue_.clear();
  }
  std::vector<std::string> ids;
  {
    std::lock_guard lock(watch_mu_);
    for (auto& [id, fns] : watchers_) ids.push_back(id);
  }
  for (const auto& id : ids) WakeWatchers(id, std::chrono::steady_clock::now());
  Log(spdlog::level::warn, "every job was deleted (FLUSHDB or FLUSHALL of database 0)",
      {{"open_readers", std::to_string(ids.size())}});
}

}  // namespace redge::jobs
