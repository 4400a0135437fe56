#include "src/executor/rate_limit.h"

namespace partwatch::executor {

size_t PartitionRateLimiter::CreatedInLastHour(uint32_t parent_oid, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = created_.find(parent_oid);
  if (it == created_.end()) return 0;
  std::deque<Clock::time_point>& times = it->second;
  while (!times.empty() && now - times.front() > std::chrono::hours(1)) times.pop_front();
  return times.size();
}

void PartitionRateLimiter::RecordCreated(uint32_t parent_oid, Clock::time_point now) {
  std::lock_guard lock(mu_);
  created_[parent_oid].push_back(now);
}

}  // namespace partwatch::executor
