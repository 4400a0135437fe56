#include "src/alerts/delivery.h"

#include <httplib.h>

#include <spdlog/spdlog.h>

#include "src/catalog.h"
#include "src/util/backoff.h"

namespace partwatch::alerts {

namespace {

constexpr std::chrono::milliseconds kFirstRetry{500};
constexpr std::chrono::milliseconds kMaxRetry{30'000};

}  // namespace

HttpChannel::HttpChannel(std::string kind, const std::string& url,
                         std::chrono::milliseconds timeout,
                         std::vector<std::pair<std::string, std::string>> headers)
    : kind_(std::move(kind)), url_(url), timeout_(timeout), headers_(std::move(headers)) {
  const size_t scheme_end = url.find("://") + 3;
  const size_t path_start = url.find('/', scheme_end);
  scheme_host_port_ = url.substr(0, path_start);
  path_ = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (kind_ == "alertmanager") {
    while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
    path_ = (path_ == "/" ? "" : path_) + "/api/v2/alerts";
  }
}

SendOutcome HttpChannel::Send(const std::string& body) {
  httplib::Client client(scheme_host_port_);
  const auto secs = timeout_.count() / 1000;
  const auto usecs = (timeout_.count() % 1000) * 1000;
  client.set_connection_timeout(secs, usecs);
  client.set_read_timeout(secs, usecs);
  client.set_write_timeout(secs, usecs);
  httplib::Headers headers;
  for (const auto& [k, v] : headers_) headers.emplace(k, v);
  auto res = client.Post(path_.c_str(), headers, body, "application/json");
  if (!res) return {SendResult::kRetry, httplib::to_string(res.error())};
  const int status = res->status;
  const std::string detail = "HTTP " + std::to_string(status);
  if (status >= 200 && status < 300) return {SendResult::kDelivered, detail};
  if (status == 429 || status >= 500) return {SendResult::kRetry, detail};
  return {SendResult::kDrop, detail + ": " + res->body.substr(0, 200)};
}

NotifyChannel::NotifyChannel(const Config& config, std::string channel)
    : config_(config), channel_(std::move(channel)) {}

SendOutcome NotifyChannel::Send(const std::string& body) {
  try {
    if (!conn_ || !conn_->connected()) {
      conn_.reset();
      conn_.emplace(OpenSession(config_, "notify"));
    }
    conn_->ExecParams("SELECT pg_notify($1, $2)", {channel_, body});
    return {SendResult::kDelivered, "notified"};
  } catch (const std::exception& e) {
    if (conn_ && conn_->connected()) {
      // The server refused this payload (too long, bad channel): retrying
      // cannot help.
      return {SendResult::kDrop, e.what()};
    }
    conn_.reset();
    return {SendResult::kRetry, e.what()};
  }
}

Worker::Worker(std::unique_ptr<Channel> channel, engine::Observer& observer, size_t capacity)
    : channel_(std::move(channel)),
      observer_(observer),
      capacity_(capacity),
      thread_([this](std::stop_token stop) { Run(stop); }) {}

Worker::~Worker() {
  thread_.request_stop();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Worker::Push(Job job) {
  job.queued_at = std::chrono::steady_clock::now();
  size_t dropped = 0, superseded = 0;
  {
    std::lock_guard lock(mu_);
    if (!job.fingerprint.empty() && (job.resolve || job.latest_wins)) {
      for (auto it = queue_.begin(); it != queue_.end();) {
        if (it->fingerprint == job.fingerprint && (job.latest_wins || !it->resolve)) {
          it = queue_.erase(it);
          ++superseded;
        } else {
          ++it;
        }
      }
    }
    while (queue_.size() >= capacity_) {
      queue_.pop_front();
      ++dropped;
    }
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  for (size_t i = 0; i < superseded; ++i) observer_.OnAlertDelivery(channel_->kind(), "superseded");
  for (size_t i = 0; i < dropped; ++i) observer_.OnAlertDelivery(channel_->kind(), "overflow");
  if (dropped) {
    spdlog::warn("alert channel {}: queue full ({} jobs), dropped the oldest {}", channel_->name(),
                 capacity_, dropped);
  }
}

bool Worker::SupersededLocked(const Job& job) const {
  if (job.fingerprint.empty()) return false;
  for (const Job& q : queue_) {
    if (q.fingerprint == job.fingerprint && (q.latest_wins || (q.resolve && !job.resolve))) {
      return true;
    }
  }
  return false;
}

void Worker::Run(std::stop_token stop) {
  const std::string kind = channel_->kind();
  while (!stop.stop_requested()) {
    Job job;
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait(lock, stop, [&] { return !queue_.empty(); })) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    Backoff backoff(kFirstRetry, kMaxRetry, /*jitter_divisor=*/4);
    for (int attempt = 1; !stop.stop_requested(); ++attempt) {
      const SendOutcome out = channel_->Send(job.body);
      if (out.result == SendResult::kDelivered) {
        observer_.OnAlertDelivery(kind, "delivered");
        if (attempt > 1) {
          spdlog::info("alert channel {}: delivered after {} attempts", channel_->name(), attempt);
        }
        break;
      }
      if (out.result == SendResult::kDrop) {
        observer_.OnAlertDelivery(kind, "dropped");
        spdlog::warn("alert channel {}: refused ({}); dropped", channel_->name(), out.detail);
        break;
      }
      observer_.OnAlertDelivery(kind, "retried");
      const std::chrono::milliseconds delay = backoff.Next();
      spdlog::log(attempt == 1 ? spdlog::level::warn : spdlog::level::debug,
                  "alert channel {}: attempt {} failed ({}); retrying in {} ms{}", channel_->name(),
                  attempt, out.detail, delay.count(),
                  attempt == 1 ? " (further failures logged at debug level)" : "");
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, stop, delay, [] { return false; });
      if (SupersededLocked(job)) {
        observer_.OnAlertDelivery(kind, "superseded");
        break;
      }
    }
  }
}

}  // namespace partwatch::alerts
