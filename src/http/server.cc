#include "src/http/server.h"

#include <httplib.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace partwatch::http {

namespace {
constexpr const char* kTextFormat = "text/plain; version=0.0.4; charset=utf-8";
}  // namespace

MetricsServer::MetricsServer(const std::string& host, int port, const metrics::Metrics& metrics,
                             std::function<std::string()> status)
    : metrics_(metrics), status_(std::move(status)), server_(std::make_unique<httplib::Server>()) {
  // httplib writes the headers and the body separately: without
  // TCP_NODELAY, Nagle's algorithm holds the body until the client's
  // delayed ACK, about 40 ms per keep-alive request (measured: 27 ms a GET
  // against 0.4 ms of CPU).
  server_->set_tcp_nodelay(true);
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.Scrape(), kTextFormat);
  });
  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    const bool alive = metrics_.Alive();
    res.status = alive ? 200 : 503;
    res.set_content(alive ? "ok\n" : "the main loop has not reported for 120 s\n", "text/plain");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const metrics::Readiness r = metrics_.Ready();
    res.status = r.ready ? 200 : 503;
    res.set_content(r.reason + "\n", "text/plain");
  });
  if (status_) {
    server_->Get("/status", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(status_(), "application/json");
    });
  }
  if (!server_->bind_to_port(host, port)) {
    throw ListenError("http.listen: cannot listen on " + host + ":" + std::to_string(port) + ": " +
                      std::strerror(errno) + " (in use, or not an address of this machine?)");
  }
  thread_ = std::jthread([this] {
    server_->listen_after_bind();
    returned_.store(true);
  });
}

MetricsServer::~MetricsServer() {
  // httplib's stop() does nothing until the loop started running: wait for
  // that (or for the loop to have failed) first.
  while (!server_->is_running() && !returned_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace partwatch::http
