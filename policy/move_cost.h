// How long the one-transaction move (executor: LOCK parent IN SHARE MODE,
// DELETE ... RETURNING into the new table, ATTACH) will hold the lock that
// blocks the application's writes, estimated before taking it.  Pure: sizes
// and past timings in, an estimate out.
//
// Under the lock the move scans DEFAULT (the DELETE, unless an index finds
// the rows; ATTACH always, to prove no row of the new bound is left) and
// writes each moved row twice (deleted from DEFAULT, inserted into the new
// table, plus the new table's indexes, which ATTACH builds).  So
//
//   estimate = fixed + default_bytes * per_byte + rows * per_row,
//
// each term from defaults measured on a loaded 2-core machine
// (docs/benchmarks.md, "The move's cost model"), multiplied by a correction
// learnt from this process's moves: after each move the ratio of the time
// the lock was really held to the estimate feeds a running correction; a
// move cancelled at the budget raises it to at least budget / estimate.
// The estimate is a guide; the bound itself is enforced by the executor
// (statement_timeout = what is left of the budget, rollback, online path).
//
// Thread-safety: none; one per executor.
#pragma once

#include <chrono>
#include <cstdint>

namespace partwatch::policy {

class MoveCostModel {
 public:
  // Defaults: 5 ms fixed, 4 us per KiB of DEFAULT, 12 us per moved row.
  MoveCostModel() = default;
  MoveCostModel(double fixed_us, double us_per_kib, double us_per_row)
      : fixed_us_(fixed_us), us_per_kib_(us_per_kib), us_per_row_(us_per_row) {}

  // Microseconds the move of `rows` rows out of a DEFAULT of
  // `default_bytes` bytes should hold its lock, correction included.
  double EstimateMicros(int64_t rows, int64_t default_bytes) const;

  // True when the estimate, with a safety margin of 25%, fits `budget`.
  bool Fits(int64_t rows, int64_t default_bytes, std::chrono::microseconds budget) const;

  // A move of (rows, default_bytes) held its lock for `held`.
  void Observe(int64_t rows, int64_t default_bytes, std::chrono::microseconds held);
  // A move of (rows, default_bytes) was cancelled after `held` (its budget)
  // without finishing: it needs more than that.
  void ObserveCancelled(int64_t rows, int64_t default_bytes, std::chrono::microseconds held);

  double correction() const { return correction_; }

 private:
  double Raw(int64_t rows, int64_t default_bytes) const;

  double fixed_us_ = 5'000;
  double us_per_kib_ = 4.0;
  double us_per_row_ = 12.0;
  double correction_ = 1.0;
};

}  // namespace partwatch::policy
