// Terminals for container processes (process.terminal).
//
// The pty is opened by the container process itself, after pivot_root (or
// after joining the container's mount namespace, for exec), from the
// container's own devpts instance (/dev/ptmx -> pts/ptmx). Its master goes
// to whoever asked for the terminal: the --console-socket (runc's protocol:
// one SCM_RIGHTS message carrying the master, with the slave's path as the
// message text), or, for a foreground `run`/`exec` without one, a
// socketpair to the runtime, which then relays its own stdio (foreground.h).
// The slave becomes the process's controlling terminal and its stdio.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::runtime::oci {

struct Pty {
  UniqueFd master;
  UniqueFd slave;
  std::string slave_path;  // "/dev/pts/0"
};

// Opens a new pty from /dev/ptmx of the caller's mount namespace.
Result<Pty> OpenPty();
// Makes slave the controlling terminal of the caller (which must be a session
// leader: call setsid() first) and its stdin, stdout and stderr.
Status MakeControllingTerminal(int slave);
// TIOCSWINSZ; a zero size is left alone.
Status SetWindowSize(int fd, unsigned short rows, unsigned short cols);

// Connects to a unix stream socket (--console-socket).
Result<UniqueFd> ConnectUnixSocket(const std::string& path);
// Sends fd with SCM_RIGHTS, with name as the message's bytes.
Status SendFd(int socket, int fd, std::string_view name);
// Receives one fd sent by SendFd.
Result<UniqueFd> ReceiveFd(int socket);

}  // namespace strata::runtime::oci
