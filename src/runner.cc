#include "src/runner.h"

#include <csignal>
#include <memory>

#include <spdlog/spdlog.h>

#include "src/alerts/manager.h"
#include "src/alerts/recheck.h"
#include "src/engine/observer.h"
#include "src/executor/rate_limit.h"
#include "src/http/server.h"
#include "src/metrics/metrics.h"
#include "src/session/session.h"
#include "src/session/state.h"
#include "src/status.h"
#include "src/util/backoff.h"

namespace partwatch {

namespace {

std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_signal = 0;
// Set by SIGHUP; the session's main thread takes it (ReloadRequested()).
std::atomic<bool> g_reload{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void OnSignal(int sig) {
  g_signal = sig;
  g_stop.store(true);
}

void OnSighup(int) { g_reload.store(true); }

}  // namespace

std::atomic<bool>& StopRequested() { return g_stop; }

std::atomic<bool>& ReloadRequested() { return g_reload; }

void InstallRunSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction hup {};
  hup.sa_handler = OnSighup;
  sigemptyset(&hup.sa_mask);
  hup.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &hup, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int RunWatcher(const Config& config, bool loop, bool fixed_log_level) {
  std::atomic<bool>& stop = StopRequested();
  // 0.5 s doubling to 10 s, without jitter: one partwatch per slot.
  Backoff backoff(std::chrono::milliseconds(500), std::chrono::milliseconds(10'000), 0);
  // The flood guard counts for the process: a session that flaps must not
  // start max_new_partitions_per_hour over.
  executor::PartitionRateLimiter limiter;
  session::ConfigInForce in_force(config);
  // [http] listen: metrics, health and /status on a thread of their own,
  // for the whole process (set up before the first session, so a port in
  // use fails at once).  Without it nobody watches.
  engine::Observer nobody;
  std::unique_ptr<metrics::Metrics> metrics;
  if (!config.http.listen.empty()) {
    metrics = std::make_unique<metrics::Metrics>(metrics::MetricsOptions{
        PARTWATCH_VERSION, config.metrics.max_values_per_table, config.http.ready_max_lag_bytes});
  }
  engine::Observer& watched = metrics ? *metrics : nobody;
  // Alerts: always (every change is logged); channels as configured.
  alerts::AlertManager alert_manager(
      config, watched,
      config.http.listen.empty() ? "" : "http://" + config.http.listen + "/metrics");
  std::unique_ptr<http::MetricsServer> server;
  if (metrics) {
    try {
      server = std::make_unique<http::MetricsServer>(
          config.http.host, config.http.port, *metrics,
          [&] { return LiveStatusJson(*in_force.Get(), *metrics, alert_manager, limiter); });
    } catch (const http::ListenError& e) {
      spdlog::error("{}", e.what());
      return 1;
    }
    spdlog::info("serving /metrics, /healthz and /readyz on http://{} (unauthenticated)",
                 config.http.listen);
  }
  alerts::Rechecker rechecker(alert_manager);
  engine::FanoutObserver observer({&watched, &alert_manager});
  session::ProcessState process{in_force, limiter, fixed_log_level, &observer, &rechecker};
  bool first = true;
  for (int attempt = 1;; ++attempt) {
    const session::SessionResult r = session::RunSession(process, first);
    first = false;
    if (r.end == session::SessionEnd::kStopped || stop.load()) {
      spdlog::info("stopped on {}", g_signal == SIGTERM  ? "SIGTERM"
                                    : g_signal == SIGINT ? "SIGINT"
                                                         : "request");
      return 0;
    }
    if (r.end == session::SessionEnd::kFatal) {
      spdlog::error("{}", r.message);
      return 1;
    }
    if (!loop) {
      spdlog::error("{} (--no-loop: not retrying)", r.message);
      return 1;
    }
    if (r.streamed) {
      backoff.Reset();
      attempt = 1;
    }
    const std::chrono::milliseconds delay = backoff.Next();
    spdlog::warn("{}; retrying in {} ms (attempt {})", r.message, delay.count(), attempt);
    // The backoff is at most 10 s: well inside /healthz's window.
    observer.OnAlive();
    SleepUnlessStopped(delay, &stop);
    observer.OnAlive();
  }
}

}  // namespace partwatch
