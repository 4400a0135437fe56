#include "src/engine/engine.h"

#include <spdlog/spdlog.h>

namespace partwatch::engine {

void LogDecisions(const std::vector<policy::Decision>& decisions,
                  const std::vector<policy::TableRule>& rules, const char* without_commit) {
  for (const policy::Decision& d : decisions) {
    spdlog::info(
        "table {} value {}: {} rows counted in DEFAULT {}, more than the threshold {}: "
        "decided to {}",
        rules[d.table].parent, d.value.ForLog(), d.streamed_count,
        d.commit_lsn.valid() ? "after commit " + d.commit_lsn.ToString()
                             : std::string(without_commit),
        rules[d.table].ThresholdFor(d.value), policy::ActionKindName(d.kind));
  }
}

Engine::Engine(std::vector<policy::TableRule> rules, int proto_version)
    : decoder_(proto_version), policy_(std::move(rules)) {}

policy::PolicyOutput Engine::OnEvent(const replication::WalEvent& event) {
  if (event.kind == replication::WalEvent::Kind::kKeepalive) {
    policy_.OnIdle(event.wal_end);
    return {};
  }
  const auto* base = reinterpret_cast<const std::byte*>(event.buffer.get());
  Result<pgoutput::Message> msg =
      decoder_.Decode(std::span<const std::byte>(base + event.payload_offset, event.payload_size));
  if (!msg.ok()) {
    throw EngineError("cannot decode the message at " + event.wal_start.ToString() + ": " +
                      msg.error().message);
  }
  Result<policy::PolicyOutput> out = policy_.OnMessage(msg.value());
  if (!out.ok()) {
    throw EngineError("protocol error at " + event.wal_start.ToString() + ": " +
                      out.error().message);
  }
  return std::move(out).value();
}

}  // namespace partwatch::engine
