// The API over TCP, when asked for (`stratad --api-addr HOST:PORT`): each
// connection accepted on HOST:PORT is relayed byte for byte to the API's
// Unix socket, so the same server answers both.
//
// TCP carries no credentials the kernel vouches for: whoever reaches the
// port gets what the socket's group gets, which is root on the host
// (docs/security.md). So there is no listener unless asked for, and only a
// loopback address is taken unless allow_remote is set.
//
// Thread safety: one accept thread and one relay thread per connection;
// the destructor stops the listener and waits for the relays.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::runtime {

struct ApiTcpOptions {
  std::string address;      // HOST:PORT (IPv4 or [IPv6]); port 0: any free port
  std::string socket_path;  // the API's Unix socket
  bool allow_remote = false;
};

class ApiTcpForwarder {
 public:
  // The address's error, if any, without starting anything (stratad checks
  // its flags before it opens the store).
  static Status Check(const ApiTcpOptions& options);
  static Result<std::unique_ptr<ApiTcpForwarder>> Start(const ApiTcpOptions& options);
  ~ApiTcpForwarder();
  ApiTcpForwarder(const ApiTcpForwarder&) = delete;
  ApiTcpForwarder& operator=(const ApiTcpForwarder&) = delete;

  uint16_t port() const { return port_; }

 private:
  ApiTcpForwarder() = default;
  void Accept();
  void Relay(UniqueFd client);

  std::string socket_path_;
  UniqueFd listener_;
  UniqueFd wake_read_, wake_write_;  // closing wake_write_ stops everything
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::mutex mu_;
  std::condition_variable relays_done_;
  int relays_ = 0;  // guarded by mu_: relay threads running (detached)
};

}  // namespace strata::runtime
