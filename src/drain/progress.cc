#include "src/drain/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <spdlog/spdlog.h>

namespace partwatch::drain {

namespace {

// "45s", "3m05s", "2h03m".
std::string ShortDuration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
}

std::string Fit(std::string line, int width) {
  if (width > 0 && line.size() > static_cast<size_t>(width)) line.resize(width);
  return line;
}

}  // namespace

std::string HumanCount(int64_t n) {
  if (n < 0) return "-" + HumanCount(-n);
  if (n < 1000) return std::to_string(n);
  static constexpr const char* kUnits[] = {"k", "M", "G", "T"};
  double v = static_cast<double>(n);
  int unit = -1;
  while (v >= 999.5 && unit < 3) {
    v /= 1000.0;
    ++unit;
  }
  if (v < 9.995) return fmt::format("{:.2f}{}", v, kUnits[unit]);
  if (v < 99.95) return fmt::format("{:.1f}{}", v, kUnits[unit]);
  return fmt::format("{:.0f}{}", v, kUnits[unit]);
}

std::string FormatProgressLine(const Progress& p, int width) {
  const double secs = std::chrono::duration<double>(p.elapsed).count();
  if (p.phase != "copy") {
    std::string line = p.phase;
    std::string sep = ": ";
    if (p.rows_total > 0 || p.rows_copied > 0) {
      line += sep + fmt::format("{}/{} rows copied", p.rows_copied, p.rows_total);
      sep = ", ";
    }
    if (p.log_rows_pending >= 0) {
      line += sep + fmt::format("{} change(s) pending", p.log_rows_pending);
      sep = ", ";
    }
    if (p.replayed > 0) line += sep + fmt::format("{} replayed", p.replayed);
    return Fit(line + fmt::format(" ({})", ShortDuration(secs)), width);
  }

  const int64_t total = std::max<int64_t>(p.rows_total, 0);
  const int64_t done = std::clamp<int64_t>(p.rows_copied, 0, std::max(total, p.rows_copied));
  const double fraction =
      total > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 1.0;
  const int pct = static_cast<int>(fraction * 100.0);
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;

  const std::string head = fmt::format("copy {:3d}%", pct);
  const std::string counts = fmt::format("{}/{} rows", done, total);
  const std::string speed = fmt::format("{} rows/s", HumanCount(std::llround(rate)));
  const std::string left =
      rate > 0 ? ShortDuration(static_cast<double>(total - done) / rate) + " left" : "";
  std::string tail = counts + "  " + speed + (left.empty() ? "" : "  " + left);

  // Room for a bar between the head and the counts: " [" + bar + "] ".
  const int fixed = static_cast<int>(head.size() + tail.size()) + 4;
  const int bar_room = width > 0 ? width - fixed : 30;
  if (bar_room >= 10) {
    const int bar = std::min(bar_room, 30);
    const int filled = static_cast<int>(fraction * bar);
    return head + " [" + std::string(filled, '#') + std::string(bar - filled, '.') + "] " + tail;
  }
  // Too narrow for a bar: drop it, then the time left, then the rate.
  for (const std::string& candidate :
       {head + "  " + tail, head + "  " + counts + "  " + speed, head + "  " + counts}) {
    if (width <= 0 || candidate.size() <= static_cast<size_t>(width)) return candidate;
  }
  return Fit(head, width);
}

ProgressPrinter::ProgressPrinter(bool tty, std::FILE* out, int width)
    : tty_(tty), out_(out), width_(width) {
  if (width_ <= 0) {
    const char* cols = std::getenv("COLUMNS");
    width_ = cols ? std::atoi(cols) : 0;
    if (width_ <= 0) width_ = 80;
  }
}

ProgressPrinter::~ProgressPrinter() { Finish(); }

void ProgressPrinter::Update(const Progress& p) {
  // One column short of the width: a line that fills the terminal exactly
  // makes some terminals wrap before the next '\r'.
  const std::string line = FormatProgressLine(p, width_ - 1);
  if (!tty_) {
    spdlog::info("drain progress: {}", line);
    return;
  }
  // "\033[K" clears what a longer previous line left on the right.
  std::fprintf(out_, "\r%s\033[K", line.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressPrinter::Finish() {
  if (tty_ && drawn_) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
  drawn_ = false;
}

}  // namespace partwatch::drain
