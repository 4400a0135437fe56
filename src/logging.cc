#include "src/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace partwatch {

void SetUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("partwatch");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::trace);  // an operator tails this; never lose the last line
  spdlog::set_default_logger(logger);
}

}  // namespace partwatch
