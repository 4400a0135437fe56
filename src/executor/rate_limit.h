// The flood guard's memory: when partwatch created partitions, per parent
// table, for max_new_partitions_per_hour (docs/configuration.md).
//
// It lives as long as the `partwatch run` process (RunWatcher owns it), not
// as long as one replication session: a connection that flaps starts a new
// session and a new Executor, and the cap must not start over with it.  A
// restart of the process does reset it.
//
// Keyed by the parent's oid, which a session never changes (a DEFAULT
// replaced by a drain keeps its parent).  A parent dropped and re-created
// under the same name gets a new oid, hence a fresh hour.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace partwatch::executor {

class PartitionRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Partitions recorded for `parent_oid` within the hour before `now`
  // (older records are forgotten).
  size_t CreatedInLastHour(uint32_t parent_oid, Clock::time_point now = Clock::now());

  // Records one partition created for `parent_oid` at `now`.
  void RecordCreated(uint32_t parent_oid, Clock::time_point now = Clock::now());

  // Names `parent_oid` ("public.orders") for CreatedInLastHourByTable.
  void NameTable(uint32_t parent_oid, const std::string& table);
  // Partitions within the hour before `now` per named table (for GET
  // /status); tables never named are left out.
  std::map<std::string, size_t> CreatedInLastHourByTable(Clock::time_point now = Clock::now());

 private:
  std::mutex mu_;
  std::unordered_map<uint32_t, std::deque<Clock::time_point>> created_;
  std::unordered_map<uint32_t, std::string> names_;
};

}  // namespace partwatch::executor
