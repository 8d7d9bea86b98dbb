#include "runtime/signal_proxy.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <ctime>

namespace strata::runtime {

SignalProxy::SignalProxy(std::function<void(int)> forward) : forward_(std::move(forward)) {
  ::sigemptyset(&forwarded_);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) {
    ::sigaddset(&forwarded_, sig);
  }
  ::pthread_sigmask(SIG_BLOCK, &forwarded_, &saved_);
  signals_.reset(::signalfd(-1, &forwarded_, SFD_CLOEXEC));
  stop_.reset(::eventfd(0, EFD_CLOEXEC));
  thread_ = std::thread([this] {
    // Without either descriptor (out of fds) signals stay blocked and
    // pending until the destructor drops them: none is forwarded.
    if (!signals_ || !stop_) return;
    for (;;) {
      struct pollfd fds[2] = {{signals_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      struct signalfd_siginfo info;
      if (::read(signals_.get(), &info, sizeof info) == sizeof info) {
        forward_(static_cast<int>(info.ssi_signo));
      }
    }
  });
}

SignalProxy::~SignalProxy() {
  uint64_t one = 1;
  if (stop_) (void)!::write(stop_.get(), &one, sizeof one);
  thread_.join();
  // Signals that came after the session ended are dropped, not delivered
  // to a client that is about to exit with the container's status.
  const timespec none{0, 0};
  while (::sigtimedwait(&forwarded_, nullptr, &none) > 0) {
  }
  ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
}

}  // namespace strata::runtime
