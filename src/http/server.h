// The HTTP endpoint of `partwatch run` ([http] listen): GET /metrics
// (Prometheus text format), /healthz, /readyz and /status (JSON: what the
// process holds now, for `partwatch status --live`), served by cpp-httplib
// on a thread of its own.  Unauthenticated: bind it to 127.0.0.1 or a network
// only the scraper reaches (docs/configuration.md, [http]).
//
// It only reads the Metrics object; the session's threads never wait for
// it.  Thread-safety: construct and destroy on one thread; the destructor
// stops the server and joins its thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "src/metrics/metrics.h"

namespace httplib {
class Server;
}

namespace partwatch::http {

// The address could not be bound (in use, not local, no permission); the
// message names http.listen.
class ListenError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class MetricsServer {
 public:
  // Binds `host`:`port` and starts serving; throws ListenError when the
  // address cannot be bound.  `metrics` must outlive this object.
  // `status` renders GET /status's JSON document on the server's thread
  // (404 when empty); what it reads must outlive this object.
  MetricsServer(const std::string& host, int port, const metrics::Metrics& metrics,
                std::function<std::string()> status = {});
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  const metrics::Metrics& metrics_;
  const std::function<std::string()> status_;
  std::unique_ptr<httplib::Server> server_;
  std::atomic<bool> returned_{false};  // listen_after_bind returned
  std::jthread thread_;                // last: started once the rest is set
};

}  // namespace partwatch::http
