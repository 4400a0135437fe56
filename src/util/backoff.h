// Retrying with exponential backoff, and sleeping that a stop cuts short.
//
// One helper for every "try again in a moment" in partwatch: the
// executor's create-and-move attempts, the drain's trigger installation and
// its swap attempts.  Not thread-safe (one Backoff per retry loop).
#pragma once

#include <atomic>
#include <chrono>
#include <random>

namespace partwatch {

// Sleeps `d`, waking every 10 ms to look at `*stop` (may be null).  Returns
// false when it returned early because of a stop.
bool SleepUnlessStopped(std::chrono::milliseconds d, const std::atomic<bool>* stop);

class Backoff {
 public:
  // The first delay is `first`; each Next() doubles it, up to `max`.  Each
  // sleep adds a random jitter of up to `jitter_divisor`-th of the delay
  // (4: up to 25 %), so that retries from several clients spread out; 0: no
  // jitter.  REQUIRES: first >= 0, max >= first, jitter_divisor >= 0.
  Backoff(std::chrono::milliseconds first, std::chrono::milliseconds max, int jitter_divisor);

  // The sleep to take now (the current delay plus jitter); then doubles the
  // delay.
  std::chrono::milliseconds Next();

  // Starts over at `first` (after a success).
  void Reset() { delay_ = first_; }

 private:
  std::chrono::milliseconds first_;
  std::chrono::milliseconds delay_;
  std::chrono::milliseconds max_;
  int jitter_divisor_;
  std::mt19937 jitter_;
};

}  // namespace partwatch
