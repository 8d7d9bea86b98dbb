// The client's side of an attached session (attach_protocol.h): `strata run
// -i/-t` and `strata exec -i/-t` copy the user's terminal to the container
// and back.
//
// With tty and a terminal on `in`, that terminal is put in raw mode for the
// session (^C, ^D, ^Z go to the container) and restored after; its size is
// sent at the start and whenever it changes. With interactive, what is read
// from `in` is sent as stdin, and its end of file closes the container's
// stdin (not a terminal's: there ^D is just a byte). Output frames go to
// `out` and `err`. Typing the detach keys (detach_keys.h) ends the session
// and leaves the container running.
//
// Thread safety: one session per call; not reentrant.
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::runtime {

struct AttachSessionOptions {
  bool tty = false;
  bool interactive = false;
  int in = 0;
  int out = 1;
  int err = 2;
  std::string detach_keys;  // the bytes (ParseDetachKeys); empty: none
};

struct AttachEnd {
  bool detached = false;  // the user typed the detach keys
  int exit_code = 0;      // otherwise: the container's (or exec's) exit code
};

// Runs the session on an upgraded connection until the exit frame, the
// detach keys, or an error frame / a lost connection (an Error).
Result<AttachEnd> RunAttachSession(UniqueFd connection, const AttachSessionOptions& options);

}  // namespace strata::runtime
