// ApiServer: stratad's API (the routes of api_router.h) served as HTTP/1.1
// on a Unix socket.
//
// Socket: Start() refuses a path that exists and is not a socket, and a
// socket on which a server answers (EADDRINUSE); a socket file nobody answers
// on is stale and is replaced. The new socket gets options.socket_group and
// options.socket_mode before it listens, so no client ever connects through
// wider permissions. Every connection's peer is checked (api_access.h):
// root and members of socket_group are served, others answered 403.
//
// Connections: one thread each, at most options.max_connections at a time
// (more are closed at once, with a warning). Requests on one connection are
// answered in order (HTTP keep-alive); a connection idle for
// options.idle_timeout is closed.
//
// Lifecycle: Start() returns a server that is already accepting. Stop()
// (also run by the destructor) stops accepting, removes the socket file,
// closes idle connections and waits for requests in progress to finish: the
// Store has no cancellation, so an import that has begun runs to its end
// (its client may be gone; the result is still committed or discarded as a
// whole). Stop() may be called from any thread, more than once.
//
// Errors never escape a connection thread: a failure in one request closes
// that connection and is logged.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/result.h"
#include "runtime/api_router.h"
#include "storage/store.h"

namespace strata::runtime {

struct ApiServerOptions {
  std::string socket_path;  // required; its directory must exist
  mode_t socket_mode = 0660;
  gid_t socket_group = static_cast<gid_t>(-1);  // -1: root's group, root only
  size_t max_connections = 64;
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
};

class ApiServer {
 public:
  // Creates the socket and starts accepting. The services must outlive
  // the server.
  static Result<std::unique_ptr<ApiServer>> Start(const ApiServerOptions& options,
                                                  const ApiServices& services);
  static Result<std::unique_ptr<ApiServer>> Start(const ApiServerOptions& options,
                                                  storage::Store& store) {
    return Start(options, ApiServices{store});
  }
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  void Stop();

  const std::string& socket_path() const;

 private:
  struct Impl;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::runtime
