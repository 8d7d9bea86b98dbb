#include "runtime/signal_proxy.h"

#include <pthread.h>

#include <ctime>

namespace strata::runtime {

SignalProxy::SignalProxy(std::function<void(int)> forward) : forward_(std::move(forward)) {
  ::sigemptyset(&forwarded_);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) {
    ::sigaddset(&forwarded_, sig);
  }
  ::pthread_sigmask(SIG_BLOCK, &forwarded_, &saved_);
  thread_ = std::thread([this] {
    // Polls for the stop flag: a second (timed) wait instead of a signal to
    // wake it keeps the destructor free of races with real signals.
    const timespec tick{0, 100 * 1000 * 1000};
    while (!stop_.load()) {
      int sig = ::sigtimedwait(&forwarded_, nullptr, &tick);
      if (sig > 0) forward_(sig);
    }
  });
}

SignalProxy::~SignalProxy() {
  stop_.store(true);
  thread_.join();
  // Signals that came after the session ended are dropped, not delivered
  // to a client that is about to exit with the container's status.
  const timespec none{0, 0};
  while (::sigtimedwait(&forwarded_, nullptr, &none) > 0) {
  }
  ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
}

}  // namespace strata::runtime
