#include "src/util/backoff.h"

#include <algorithm>
#include <thread>

namespace partwatch {

bool SleepUnlessStopped(std::chrono::milliseconds d, const std::atomic<bool>* stop) {
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + d;
  for (;;) {
    if (stop != nullptr && stop->load(std::memory_order_acquire)) return false;
    const auto now = Clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(until - now, std::chrono::milliseconds(10)));
  }
}

Backoff::Backoff(std::chrono::milliseconds first, std::chrono::milliseconds max, int jitter_divisor)
    : first_(first),
      delay_(first),
      max_(max),
      jitter_divisor_(jitter_divisor),
      jitter_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::Next() {
  const int spread =
      jitter_divisor_ > 0 ? static_cast<int>(delay_.count() / jitter_divisor_) : 0;
  const std::chrono::milliseconds sleep =
      delay_ + std::chrono::milliseconds(std::uniform_int_distribution<int>(0, spread)(jitter_));
  delay_ = std::min(delay_ * 2, max_);
  return sleep;
}

}  // namespace partwatch
