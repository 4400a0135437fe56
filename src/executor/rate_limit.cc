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

void PartitionRateLimiter::NameTable(uint32_t parent_oid, const std::string& table) {
  std::lock_guard lock(mu_);
  names_[parent_oid] = table;
}

std::map<std::string, size_t> PartitionRateLimiter::CreatedInLastHourByTable(
    Clock::time_point now) {
  std::lock_guard lock(mu_);
  std::map<std::string, size_t> out;
  for (const auto& [oid, name] : names_) {
    size_t& n = out[name];
    auto it = created_.find(oid);
    if (it == created_.end()) continue;
    std::deque<Clock::time_point>& times = it->second;
    while (!times.empty() && now - times.front() > std::chrono::hours(1)) times.pop_front();
    n += times.size();
  }
  return out;
}

}  // namespace partwatch::executor
