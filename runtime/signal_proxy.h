// Forwards the signals a foreground `strata run`/`strata attach` receives
// (^C as SIGINT, a kill of the client) to the container, as Docker's
// sig-proxy does when the session has no terminal. With a terminal the keys
// go to the container as bytes instead, so no proxy is needed there.
//
// While a SignalProxy lives, the calling thread blocks the forwarded
// signals and a thread of its own waits for them and calls forward(sig).
// It must be made before any other thread is started (they inherit the
// mask) and by the thread that runs the session.
//
// Thread safety: forward runs on the proxy's thread.
#pragma once

#include <signal.h>

#include <functional>
#include <thread>

#include "common/unique_fd.h"

namespace strata::runtime {

class SignalProxy {
 public:
  explicit SignalProxy(std::function<void(int)> forward);
  ~SignalProxy();
  SignalProxy(const SignalProxy&) = delete;
  SignalProxy& operator=(const SignalProxy&) = delete;

 private:
  std::function<void(int)> forward_;
  sigset_t forwarded_;
  sigset_t saved_;
  UniqueFd signals_;  // signalfd of forwarded_
  UniqueFd stop_;     // eventfd: the destructor wakes the thread at once
  std::thread thread_;
};

}  // namespace strata::runtime
