// Delivering alert notifications: one channel (a webhook URL, an
// Alertmanager, the NOTIFY connection) per Worker, each Worker a thread of
// its own with a bounded queue, so a dead receiver delays nobody: neither
// the session's threads (Push never waits on the network) nor the other
// channels.
//
// A Worker sends its jobs in order.  Network errors, timeouts, 429 and 5xx
// are retried with capped exponential backoff (partwatch::Backoff, at most
// 30 s) until delivered or superseded (the alert resolved meanwhile, or a
// newer push of the same alert to Alertmanager); other 4xx are logged and
// dropped.  A full queue drops its oldest job.  Every end of a job is
// counted (engine::Observer::OnAlertDelivery).
//
// Thread-safety: Push may be called from any thread.  The destructor stops
// and joins the thread (a delivery in flight ends within its timeout).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "src/config.h"
#include "src/engine/observer.h"
#include "src/pg/connection.h"

namespace partwatch::alerts {

enum class SendResult { kDelivered, kRetry, kDrop };

struct SendOutcome {
  SendResult result = SendResult::kRetry;
  std::string detail;  // for the log: the status or the error
};

class Channel {
 public:
  virtual ~Channel() = default;
  // "webhook", "alertmanager", "notify": the metric's channel label.
  virtual std::string kind() const = 0;
  // For the log: the URL or the channel name (never a header value).
  virtual std::string name() const = 0;
  virtual SendOutcome Send(const std::string& body) = 0;
};

// POST `body` (JSON) to a URL: a webhook's, or an Alertmanager's
// /api/v2/alerts.  REQUIRES: `url` passed config validation.
class HttpChannel : public Channel {
 public:
  HttpChannel(std::string kind, const std::string& url, std::chrono::milliseconds timeout,
              std::vector<std::pair<std::string, std::string>> headers);
  std::string kind() const override { return kind_; }
  std::string name() const override { return url_; }
  SendOutcome Send(const std::string& body) override;

 private:
  std::string kind_;
  std::string url_;
  std::string scheme_host_port_;
  std::string path_;
  std::chrono::milliseconds timeout_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

// SELECT pg_notify(channel, body) on an ordinary connection of its own to
// the source database, opened on first use and again after it broke.
class NotifyChannel : public Channel {
 public:
  NotifyChannel(const Config& config, std::string channel);
  std::string kind() const override { return "notify"; }
  std::string name() const override { return "NOTIFY " + channel_; }
  SendOutcome Send(const std::string& body) override;

 private:
  Config config_;
  std::string channel_;
  std::optional<pg::Connection> conn_;
};

struct Job {
  std::string fingerprint;   // the alert's; "" for an event (never superseded)
  bool resolve = false;      // supersedes queued firing jobs of the alert
  bool latest_wins = false;  // supersedes every queued job of the alert (Alertmanager)
  std::string body;
  std::chrono::steady_clock::time_point queued_at{};
};

class Worker {
 public:
  static constexpr size_t kDefaultCapacity = 1000;
  // `observer` (the metrics) must outlive this object.
  Worker(std::unique_ptr<Channel> channel, engine::Observer& observer,
         size_t capacity = kDefaultCapacity);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Push(Job job);
  const Channel& channel() const { return *channel_; }

 private:
  void Run(std::stop_token stop);
  // Under mu_: a queued job makes `job` pointless.
  bool SupersededLocked(const Job& job) const;

  std::unique_ptr<Channel> channel_;
  engine::Observer& observer_;
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Job> queue_;  // under mu_
  std::jthread thread_;    // last: started once the rest is set
};

}  // namespace partwatch::alerts
