// MetricsServer: serves GET /metrics (Prometheus text format) on a TCP
// address, from the collectors registered with it, each asked at every
// scrape (prometheus-cpp's Exposer over civetweb, two threads).
//
// Lifecycle: Start() binds (EADDRINUSE etc. as errors, never exceptions);
// the destructor stops serving and then drops the collectors, so they may
// be destroyed after it.
//
// Thread safety: Register may be called while serving; collectors run on
// the server's threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "common/result.h"

namespace prometheus {
class Exposer;
}

namespace strata::monitor {

class MetricsServer {
 public:
  // address: "HOST:PORT" ("127.0.0.1:9850", "[::1]:9850", ":9850" for
  // every address).
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& address);
  ~MetricsServer();

  void Register(std::shared_ptr<prometheus::Collectable> collectable);
  // The port it listens on (useful with port 0).
  int port() const;

 private:
  MetricsServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
};

}  // namespace strata::monitor
