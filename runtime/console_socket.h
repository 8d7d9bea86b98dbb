// ConsoleSocket: the receiving end of an OCI runtime's --console-socket.
// The runtime connects to it and sends the master of the terminal it made
// for the container's process (SCM_RIGHTS), as runc and crun do.
//
// The socket lives under /run/strata-console (a directory of mode 0700, so
// nobody else can connect and hand stratad another descriptor), with a short
// name since a Unix socket path is limited to 108 bytes; the destructor
// removes it.
//
// Thread safety: one owner.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::runtime {

class ConsoleSocket {
 public:
  // name: a unique short name (the container ID's prefix and a counter).
  static Result<std::unique_ptr<ConsoleSocket>> Create(const std::string& name);
  ~ConsoleSocket();

  const std::string& path() const { return path_; }

  // Waits for the runtime to connect and send the master. Polls every
  // 50 ms; gives up (ECANCELED) when abandon() says so, e.g. because the
  // runtime exited without connecting, or after timeout (ETIMEDOUT).
  Result<UniqueFd> Receive(std::chrono::milliseconds timeout, const std::function<bool()>& abandon);

 private:
  ConsoleSocket() = default;
  std::string path_;
  UniqueFd listen_;
};

// TIOCSWINSZ on a terminal's master.
Status SetWindowSize(int master, unsigned rows, unsigned cols);

}  // namespace strata::runtime
