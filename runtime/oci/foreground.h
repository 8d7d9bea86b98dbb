// A foreground `run` or `exec`: the runtime stays with the container
// process until it exits, like runc without --detach.
//
//   signals   every signal the runtime may catch is blocked and read from a
//             signalfd; SIGCHLD reaps, SIGWINCH resizes the terminal, all
//             others are sent on to the container process
//   terminal  with a pty (process.terminal without --console-socket), the
//             runtime's stdin is put in raw mode and copied to the pty, the
//             pty's output to stdout, until the process exits and the pty
//             is drained
//   result    the process's exit code, or 128 + the signal that killed it
//
// The runtime must be the process's parent: PR_SET_CHILD_SUBREAPER before
// Spawn (spawn.h). Create() before the process is started, so that no
// signal meant for it is lost; the destructor restores the signal mask and
// the terminal.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <termios.h>

#include <memory>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::runtime::oci {

class Foreground {
 public:
  static Result<std::unique_ptr<Foreground>> Create();
  ~Foreground();
  Foreground(const Foreground&) = delete;
  Foreground& operator=(const Foreground&) = delete;

  // Waits for pid, forwarding signals and relaying master (if valid).
  Result<int> Wait(pid_t pid, UniqueFd master);

 private:
  Foreground() = default;
  void RelayTerminal(int master, bool& stdin_open, bool& master_open, short stdin_events,
                     short master_events);

  UniqueFd signal_fd_;
  sigset_t old_mask_;
  bool raw_ = false;
  struct termios saved_termios_ = {};
};

// Makes the caller a child subreaper, so orphans it forks become its children.
Status BecomeSubreaper();

}  // namespace strata::runtime::oci
