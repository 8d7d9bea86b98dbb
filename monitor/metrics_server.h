// MetricsServer: serves GET /metrics (Prometheus text format 0.0.4) on a
// TCP address, from the collectors registered with it, each asked at every
// scrape.
//
// A deliberately small HTTP/1.x server: one thread accepts and answers one
// connection at a time (Prometheus scrapes one target serially), reads the
// request line, ignores headers, answers with Content-Length and closes.
// Reads and writes time out after 10 s, so a stalled client cannot hold it.
// prometheus-cpp's Exposer did this job but serialized through iostreams
// at a third of this speed (docs/monitor.md, Benchmark).
//
// Lifecycle: Start() binds (errors as errors: EADDRINUSE...); the
// destructor stops the thread and then drops the collectors.
//
// Thread safety: Register may be called while serving.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/collectable.h>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::monitor {

class MetricsServer {
 public:
  // address: "HOST:PORT" ("127.0.0.1:9850", "[::1]:9850", ":9850" for every
  // address); port 0 takes a free one.
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& address);
  ~MetricsServer();

  void Register(std::shared_ptr<prometheus::Collectable> collectable);
  int port() const { return port_; }

  // The whole response body of a scrape (also for tests).
  std::string Scrape();

 private:
  MetricsServer() = default;
  void Serve();
  void Answer(int fd);

  UniqueFd listen_fd_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;  // guarded by mu_
};

}  // namespace strata::monitor
