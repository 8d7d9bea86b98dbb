#include "monitor/metrics_server.h"

#include <exception>

#include <prometheus/exposer.h>

namespace strata::monitor {

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return Error::Invalid("metrics address \"" + address + "\" is not HOST:PORT");
  }
  // civetweb takes "PORT" for every address, "HOST:PORT" otherwise.
  std::string listen = colon == 0 ? address.substr(1) : address;
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  try {
    server->exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    return Error(EADDRNOTAVAIL, "serve metrics on " + address + ": " + e.what() +
                                    " (address in use or not local?)");
  }
  return server;
}

MetricsServer::~MetricsServer() {
  exposer_.reset();  // no scrape runs once it is gone
  collectables_.clear();
}

void MetricsServer::Register(std::shared_ptr<prometheus::Collectable> collectable) {
  exposer_->RegisterCollectable(collectable);
  collectables_.push_back(std::move(collectable));
}

int MetricsServer::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace strata::monitor
