#include "src/fault.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>

namespace partwatch {

namespace {

enum class Action { kKill, kPause, kFail };

struct Rule {
  std::string name;
  int nth = 1;
  Action action = Action::kKill;
  std::atomic<int> hits{0};
};

// Parsed once; a malformed entry is reported on stderr and ignored (a test
// that relies on it then waits for a pause line that never comes, and says
// so), never taken as a different point.
std::deque<Rule>* ParseRules() {
  auto* rules = new std::deque<Rule>();
  const char* env = std::getenv("PARTWATCH_FAULT");
  if (env == nullptr) return rules;
  std::string_view spec(env);
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    std::string_view entry = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) {
      std::fprintf(stderr, "partwatch: PARTWATCH_FAULT entry '%.*s' has no '=ACTION'; ignored\n",
                   static_cast<int>(entry.size()), entry.data());
      continue;
    }
    std::string_view name = entry.substr(0, eq);
    const std::string_view action = entry.substr(eq + 1);
    int nth = 1;
    if (const size_t at = name.find('@'); at != std::string_view::npos) {
      const std::string_view n = name.substr(at + 1);
      auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), nth);
      if (ec != std::errc() || ptr != n.data() + n.size() || nth < 1) {
        std::fprintf(stderr, "partwatch: PARTWATCH_FAULT entry '%.*s': bad @N; ignored\n",
                     static_cast<int>(entry.size()), entry.data());
        continue;
      }
      name = name.substr(0, at);
    }
    Action a;
    if (action == "kill") {
      a = Action::kKill;
    } else if (action == "pause") {
      a = Action::kPause;
    } else if (action == "fail") {
      a = Action::kFail;
    } else {
      std::fprintf(stderr,
                   "partwatch: PARTWATCH_FAULT entry '%.*s': action must be kill, pause or fail; "
                   "ignored\n",
                   static_cast<int>(entry.size()), entry.data());
      continue;
    }
    Rule& r = rules->emplace_back();
    r.name = std::string(name);
    r.nth = nth;
    r.action = a;
  }
  return rules;
}

volatile sig_atomic_t g_resumed = 0;
void OnContinue(int) { g_resumed = 1; }

std::atomic<int> g_state{0};  // 0 unread, 1 no rules, 2 rules
std::deque<Rule>* g_rules = nullptr;
std::once_flag g_once;

}  // namespace

void FaultPoint(std::string_view name) {
  if (g_state.load(std::memory_order_acquire) == 1) return;
  std::call_once(g_once, [] {
    g_rules = ParseRules();
    g_state.store(g_rules->empty() ? 1 : 2, std::memory_order_release);
  });
  if (g_state.load(std::memory_order_acquire) == 1) return;
  for (Rule& r : *g_rules) {
    if (r.name != name) continue;
    const int hit = r.hits.fetch_add(1) + 1;
    if (hit != r.nth) continue;
    switch (r.action) {
      case Action::kKill:
        std::fprintf(stderr, "partwatch: fault point %s reached (hit %d): SIGKILL\n",
                     r.name.c_str(), hit);
        std::fflush(stderr);
        ::kill(::getpid(), SIGKILL);
        ::_exit(137);  // not reached
      case Action::kPause: {
        // The handler is in place before the line is written, so a SIGCONT
        // sent as soon as a test reads it is not lost (any thread may run
        // the handler: poll the flag).
        struct sigaction sa {};
        sa.sa_handler = OnContinue;
        sigemptyset(&sa.sa_mask);
        g_resumed = 0;
        sigaction(SIGCONT, &sa, nullptr);
        std::fprintf(stderr, "partwatch: fault point %s reached (hit %d): pausing\n",
                     r.name.c_str(), hit);
        std::fflush(stderr);
        while (!g_resumed) ::usleep(10'000);
        std::fprintf(stderr, "partwatch: fault point %s: resumed\n", r.name.c_str());
        std::fflush(stderr);
        return;
      }
      case Action::kFail:
        throw FaultInjected("fault point " + r.name + " reached: injected failure");
    }
  }
}

}  // namespace partwatch
