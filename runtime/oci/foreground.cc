#include "runtime/oci/foreground.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>

#include "common/fs.h"
#include "runtime/oci/spawn.h"

namespace strata::runtime::oci {
namespace {

// Signals that are about the runtime itself, never forwarded.
bool IsSynchronous(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
         sig == SIGSYS || sig == SIGABRT;
}

void CopyWindowSize(int from, int to) {
  struct winsize ws;
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// Moves what is readable from `from` to `to`; false at end of file/error.
bool Pump(int from, int to) {
  char buf[8192];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  return WriteAll(to, std::string_view(buf, static_cast<size_t>(n))).ok();
}

}  // namespace

Status BecomeSubreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return Error::FromErrno("prctl(PR_SET_CHILD_SUBREAPER)");
  }
  return Ok();
}

Result<std::unique_ptr<Foreground>> Foreground::Create() {
  std::unique_ptr<Foreground> fg(new Foreground());
  sigset_t set;
  sigfillset(&set);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (IsSynchronous(sig)) sigdelset(&set, sig);
  }
  if (::sigprocmask(SIG_BLOCK, &set, &fg->old_mask_) != 0) return Error::FromErrno("sigprocmask");
  int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) {
    Error err = Error::FromErrno("signalfd");
    ::sigprocmask(SIG_SETMASK, &fg->old_mask_, nullptr);
    return err;
  }
  fg->signal_fd_.reset(fd);
  return fg;
}

Foreground::~Foreground() {
  if (raw_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios_);
  signal_fd_.reset();
  ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
}

Result<int> Foreground::Wait(pid_t pid, UniqueFd master) {
  bool stdin_open = master.valid();
  bool master_open = master.valid();
  if (master.valid() && ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_termios_) == 0) {
    struct termios raw = saved_termios_;
    ::cfmakeraw(&raw);
    raw_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    CopyWindowSize(STDIN_FILENO, master.get());
  }

  std::optional<int> status;
  auto reap = [&] {
    for (;;) {
      int st;
      pid_t r = ::waitpid(-1, &st, WNOHANG);
      if (r <= 0) break;
      if (r == pid) status = st;
    }
  };
  reap();  // it may have exited before the signals were blocked
  while (!status) {
    struct pollfd fds[3] = {
        {signal_fd_.get(), POLLIN, 0},
        {stdin_open ? STDIN_FILENO : -1, POLLIN, 0},
        {master_open ? master.get() : -1, POLLIN, 0},
    };
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("poll");
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo info;
      while (::read(signal_fd_.get(), &info, sizeof info) == sizeof info) {
        int sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGCHLD) {
          reap();
        } else if (sig == SIGWINCH) {
          if (master_open) CopyWindowSize(STDIN_FILENO, master.get());
        } else {
          ::kill(pid, sig);
        }
      }
    }
    RelayTerminal(master.get(), stdin_open, master_open, fds[1].revents, fds[2].revents);
  }
  // Output written just before the exit is still in the pty: drain it, but
  // do not wait for processes that outlive the one we waited for.
  if (master_open) {
    int flags = ::fcntl(master.get(), F_GETFL);
    ::fcntl(master.get(), F_SETFL, flags | O_NONBLOCK);
    char buf[8192];
    for (;;) {
      ssize_t n = ::read(master.get(), buf, sizeof buf);
      if (n <= 0) break;
      if (!WriteAll(STDOUT_FILENO, std::string_view(buf, static_cast<size_t>(n))).ok()) break;
    }
  }
  return ExitCode(*status);
}

void Foreground::RelayTerminal(int master, bool& stdin_open, bool& master_open, short stdin_events,
                               short master_events) {
  if (stdin_open && (stdin_events & (POLLIN | POLLHUP | POLLERR))) {
    stdin_open = Pump(STDIN_FILENO, master);
  }
  if (master_open && (master_events & (POLLIN | POLLHUP | POLLERR))) {
    // EIO: every slave fd is closed.
    master_open = Pump(master, STDOUT_FILENO);
  }
}

}  // namespace strata::runtime::oci
