#include "src/runner.h"

#include <csignal>

#include <spdlog/spdlog.h>

#include "src/executor/rate_limit.h"
#include "src/session/session.h"
#include "src/session/state.h"
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
  session::ProcessState process{in_force, limiter, fixed_log_level};
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
    SleepUnlessStopped(delay, &stop);
  }
}

}  // namespace partwatch
