// The Drainer's swap (drainer.h): one transaction under ACCESS EXCLUSIVE on
// the parent and DEFAULT, bounded by max_lock (TrySwap), retried with
// backoff after catching up (SwapLoop).
#include <algorithm>
#include <string>

#include <spdlog/spdlog.h>

#include "src/drain/drainer.h"
#include "src/fault.h"
#include "src/util/backoff.h"

namespace partwatch::drain::internal {

using pg::kQueryCanceled;
using std::chrono::duration_cast;

// The swap's idle_in_transaction_session_timeout is max_lock, but never less
// than this: a client descheduled for a few milliseconds between two
// statements of a healthy swap must not lose its session.
constexpr milliseconds kMinIdleTimeout{100};

SwapSpec Drainer::SwapInputs() const {
  SwapSpec spec;
  spec.parent = q_parent_;
  spec.def = q_def_;
  spec.stage = q_stage_;
  spec.new_default = q_new_;
  spec.schema = def_.schema;
  spec.def_name = def_.name;
  spec.old_default = scratch_.old_default;
  for (const Planned& t : planned_) spec.targets.push_back(SwapTarget{t.qname, t.bound});
  spec.default_has_check = !default_constraint_.empty();
  spec.old_indexes = old_indexes_;
  spec.publications = publications_;
  spec.new_oid = new_oid_;
  spec.replident = replident_;
  spec.replident_index = replident_index_;
  return spec;
}

Drainer::Attempt Drainer::TrySwap(milliseconds lock_wait) {
  Attempt a;
  Clock::time_point locked{};
  bool have_lock = false;
  auto held = [&] {
    return have_lock ? duration_cast<microseconds>(Clock::now() - locked) : microseconds(0);
  };
  Clock::time_point mark = Clock::now();
  auto lap = [&](const char* what) {
    const auto now = Clock::now();
    a.steps.emplace_back(what, duration_cast<microseconds>(now - mark));
    mark = now;
  };
  // Each statement under the lock gets what is left of the budget as its
  // statement_timeout.  The budget keeps a little of max_lock back for the
  // round trips of a cancel and ROLLBACK, so a cancelled attempt, too, ends
  // within max_lock.
  const milliseconds budget =
      options_.max_lock - std::min(options_.max_lock / 10, milliseconds(10));
  auto left = [&] { return budget - duration_cast<milliseconds>(Clock::now() - locked); };
  const std::string swap_sql = SwapSql(SwapInputs(), quote_);
  try {
    conn_.Exec("BEGIN");
    // idle_in_transaction_session_timeout: should this client vanish
    // without its socket closing (a host lost), the server ends the session
    // and releases the lock after max_lock, not after TCP gives up.
    conn_.Exec("SET LOCAL lock_timeout = " + Ms(lock_wait) +
               "; SET LOCAL statement_timeout = " + Ms(lock_wait + milliseconds(1000)) +
               "; SET LOCAL idle_in_transaction_session_timeout = " +
               Ms(std::max(options_.max_lock, kMinIdleTimeout)));
    const auto asked = Clock::now();
    conn_.Exec("LOCK TABLE ONLY " + q_parent_ + " IN ACCESS EXCLUSIVE MODE");
    locked = mark = Clock::now();
    FaultPoint("drain.swap.locked");
    have_lock = true;
    a.waited = duration_cast<microseconds>(locked - asked);
    auto step = [&](const std::string& sql, bool also_lock_timeout) {
      const milliseconds l = left();
      if (l.count() < 1) {
        throw pg::PgError(
            "the lock budget of " + std::to_string(options_.max_lock.count()) + " ms ran out",
            std::string(kQueryCanceled));
      }
      std::string set = "SET LOCAL statement_timeout = " + Ms(l) + "; ";
      if (also_lock_timeout) set += "SET LOCAL lock_timeout = " + Ms(std::min(l, lock_wait)) + "; ";
      return conn_.Exec(set + sql);
    };
    step("LOCK TABLE ONLY " + q_def_ + " IN ACCESS EXCLUSIVE MODE", true);
    lap("DEFAULT's lock");
    if (step(FingerprintSql(table_.oid, def_.oid), false).text(0, 0) != fingerprint_) {
      conn_.TryExec("ROLLBACK");
      a.hold = held();
      a.changed = true;
      return a;
    }
    lap("check");
    // Under the lock no one can write DEFAULT: this replays everything.
    if (left().count() < 1)
      throw pg::PgError("the lock budget ran out", std::string(kQueryCanceled));
    conn_.Exec("SET LOCAL statement_timeout = " + Ms(left()));
    a.replayed = Replay(std::nullopt);
    lap("replay");
    step(swap_sql, false);
    lap("detach/attach/rename");
    FaultPoint("drain.swap.before_commit");
    conn_.Exec("COMMIT");
    FaultPoint("drain.swap.committed");
    lap("commit");
    a.hold = held();
    a.done = true;
    return a;
  } catch (const pg::PgError& e) {
    const bool retry =
        conn_.connected() && (IsLockFailure(e.sqlstate()) || e.sqlstate() == kQueryCanceled);
    if (conn_.connected()) conn_.TryExec("ROLLBACK");
    a.hold = held();
    if (!retry) throw;
    a.why = e.what();
    return a;
  } catch (const DrainError&) {
    if (conn_.connected() && InTransaction(conn_)) conn_.TryExec("ROLLBACK");
    throw;
  }
}

void Drainer::SwapLoop() {
  const milliseconds lock_wait = std::min(options_.lock_timeout, options_.max_lock);
  Backoff backoff(milliseconds(50), kMaxBackoff, 2);
  for (int attempt = 1;; ++attempt) {
    CheckStop("before the swap");
    Report("swap", pending_);
    const Attempt a = TrySwap(lock_wait);
    summary_.swap_attempts = attempt;
    summary_.longest_lock = std::max(summary_.longest_lock, a.hold);
    if (a.changed) {
      if (!AdaptToNewPartitions()) throw DrainError(ChangedError());
      CatchUp();
      continue;
    }
    if (a.done) {
      summary_.replayed_in_swap = a.replayed;
      std::string steps;
      for (const auto& [what, took] : a.steps) {
        steps += fmt::format("{}{} {:.1f}", steps.empty() ? "" : ", ", what, Millis(took));
      }
      spdlog::info(
          "drain {}: swap attempt {} held ACCESS EXCLUSIVE on {} for {:.1f} ms ({} ms; "
          "{} change(s) replayed under it), after waiting {:.1f} ms for it",
          display_, attempt, display_, Millis(a.hold), steps, a.replayed, Millis(a.waited));
      return;
    }
    if (attempt >= options_.max_swap_attempts) {
      throw DrainError(fmt::format(
          "gave up after {} swap attempt(s) (last: {}); nothing was changed: every row is still "
          "in DEFAULT {}.{}. Run it again when the table is less busy, or allow a longer lock "
          "(max_lock, now {} ms; lock waits are capped at {} ms)",
          attempt, a.why, def_.schema, def_.name, options_.max_lock.count(), lock_wait.count()));
    }
    const milliseconds sleep = backoff.Next();
    spdlog::warn(
        "drain {}: swap attempt {}/{} rolled back after holding its lock {:.1f} ms ({}); "
        "catching up and retrying in {} ms",
        display_, attempt, options_.max_swap_attempts, Millis(a.hold), a.why, sleep.count());
    SleepUnlessStopped(sleep, options_.stop);  // a stop: CatchUp's CheckStop
    CatchUp();
  }
}

}  // namespace partwatch::drain::internal
