// What the threads of one `run` session share, and what outlives a session.
//
//  - CatalogSnapshot / SharedCatalog: the configured tables as last read,
//    their rules and the configuration they came from; replaced by the
//    policy thread (after a refresh or a reload), read by the executor.
//  - ConfigInForce: the process's configuration, replaced by a reload, read
//    by the next session.
//  - ReloadMailbox: a reload checked by the main thread, on its way to the
//    policy thread that applies it.
//  - SessionErrors: the first error that ends the session, from any thread.
//  - DecisionQueue / OutcomeQueue: policy thread ⇄ executor thread.
//
// All of them are thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <concurrentqueue/blockingconcurrentqueue.h>
#include <concurrentqueue/concurrentqueue.h>

#include "policy/policy.h"
#include "src/catalog.h"
#include "src/config.h"
#include "src/pg/connection.h"

namespace partwatch::session {

// Decisions from the policy thread to the executor thread, and what the
// executor did with them, back.
using DecisionQueue = moodycamel::BlockingConcurrentQueue<policy::Decision>;
using OutcomeQueue = moodycamel::ConcurrentQueue<policy::Outcome>;

// Entries are index-aligned with config->tables.
struct CatalogSnapshot {
  std::vector<TableInfo> infos;
  std::vector<policy::TableRule> rules;
  std::shared_ptr<const Config> config;
};

class SharedCatalog {
 public:
  explicit SharedCatalog(CatalogSnapshot snap)
      : snap_(std::make_shared<const CatalogSnapshot>(std::move(snap))) {}
  std::shared_ptr<const CatalogSnapshot> Get() const {
    std::lock_guard lock(mu_);
    return snap_;
  }
  void Set(CatalogSnapshot snap) {
    auto next = std::make_shared<const CatalogSnapshot>(std::move(snap));
    std::lock_guard lock(mu_);
    snap_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const CatalogSnapshot> snap_;
};

class ConfigInForce {
 public:
  explicit ConfigInForce(Config config)
      : config_(std::make_shared<const Config>(std::move(config))) {}
  std::shared_ptr<const Config> Get() const {
    std::lock_guard lock(mu_);
    return config_;
  }
  void Set(std::shared_ptr<const Config> config) {
    std::lock_guard lock(mu_);
    config_ = std::move(config);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Config> config_;
};

// A reloaded configuration and how it differs from the one in force.
struct PendingReload {
  std::shared_ptr<const Config> config;
  ReloadDiff diff;
};

class ReloadMailbox {
 public:
  void Put(PendingReload reload) {
    std::lock_guard lock(mu_);
    pending_ = std::move(reload);
  }
  std::optional<PendingReload> Take() {
    std::lock_guard lock(mu_);
    std::optional<PendingReload> out;
    out.swap(pending_);
    return out;
  }
  bool empty() const {
    std::lock_guard lock(mu_);
    return !pending_.has_value();
  }

 private:
  mutable std::mutex mu_;
  std::optional<PendingReload> pending_;
};

// The text logged when a reload is refused.
inline constexpr const char* kNothingApplies =
    "SIGHUP: nothing of the new file applies; the configuration in force stays";

// Reads `current.path` again after a SIGHUP and checks it against
// `current`.  Logs and returns nullopt when the file does not load or needs
// a restart.
std::optional<PendingReload> ReadReload(const Config& current);

// Why a session ended.
enum class SessionEnd {
  kStopped,    // SIGTERM/SIGINT: exit 0
  kTransient,  // connection lost, server restarted, slot busy or lost: try again
  kFatal,      // configuration or server set-up the operator must fix: exit 1
};

// The first error reported wins; reporting one also sets `stop`, which ends
// every thread of the session.
class SessionErrors {
 public:
  explicit SessionErrors(std::atomic<bool>& stop) : stop_(stop) {}
  void Fail(SessionEnd end, const std::string& what) {
    {
      std::lock_guard lock(mu_);
      if (end_ == SessionEnd::kStopped) {
        end_ = end;
        message_ = what;
      }
    }
    stop_.store(true);
  }
  SessionEnd end() const {
    std::lock_guard lock(mu_);
    return end_;
  }
  std::string message() const {
    std::lock_guard lock(mu_);
    return message_;
  }

 private:
  std::atomic<bool>& stop_;
  mutable std::mutex mu_;
  SessionEnd end_ = SessionEnd::kStopped;
  std::string message_;
};

// The configured tables as the catalog describes them, and their rules.
// Throws CatalogError.
std::vector<TableInfo> DescribeAll(pg::Connection& conn, const Config& config);
std::vector<policy::TableRule> MakeRules(const Config& config, const std::vector<TableInfo>& infos);

}  // namespace partwatch::session
