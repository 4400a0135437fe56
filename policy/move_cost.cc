#include "policy/move_cost.h"

#include <algorithm>

namespace partwatch::policy {

namespace {

// The correction stays within these: one odd timing (a checkpoint, a
// neighbour's burst) neither makes every later move online nor lets the
// model believe the machine is 10x faster than measured.
constexpr double kMinCorrection = 0.5;
constexpr double kMaxCorrection = 50.0;
constexpr double kSafety = 1.25;
// Weight of the newest observation in the running correction.
constexpr double kWeight = 0.5;

}  // namespace

double MoveCostModel::Raw(int64_t rows, int64_t default_bytes) const {
  return fixed_us_ +
         static_cast<double>(std::max<int64_t>(default_bytes, 0)) / 1024.0 * us_per_kib_ +
         static_cast<double>(std::max<int64_t>(rows, 0)) * us_per_row_;
}

double MoveCostModel::EstimateMicros(int64_t rows, int64_t default_bytes) const {
  return Raw(rows, default_bytes) * correction_;
}

bool MoveCostModel::Fits(int64_t rows, int64_t default_bytes,
                         std::chrono::microseconds budget) const {
  return EstimateMicros(rows, default_bytes) * kSafety <= static_cast<double>(budget.count());
}

void MoveCostModel::Observe(int64_t rows, int64_t default_bytes, std::chrono::microseconds held) {
  const double ratio = static_cast<double>(held.count()) / Raw(rows, default_bytes);
  correction_ =
      std::clamp((1 - kWeight) * correction_ + kWeight * ratio, kMinCorrection, kMaxCorrection);
}

void MoveCostModel::ObserveCancelled(int64_t rows, int64_t default_bytes,
                                     std::chrono::microseconds held) {
  const double at_least = static_cast<double>(held.count()) / Raw(rows, default_bytes);
  correction_ =
      std::clamp(std::max(correction_, at_least * kSafety), kMinCorrection, kMaxCorrection);
}

}  // namespace partwatch::policy
