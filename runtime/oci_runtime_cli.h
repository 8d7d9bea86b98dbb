// OciRuntimeCli: the low-level runtime (strata-runtime, runc, crun) driven
// through its command line, exactly as containerd's shim drives runc:
//
//   RUNTIME --root STATE run --detach --bundle B --pid-file P [--console-socket S] ID
//   RUNTIME --root STATE pause|resume|state ID
//   RUNTIME --root STATE kill [--all] ID SIGNAL
//   RUNTIME --root STATE delete [--force] ID
//   RUNTIME --root STATE exec [--tty] [--cwd D] [--env K=V]... [--user U:G] ID CMD...
//
// `run --detach` (create and start in one process) leaves the container's
// init behind, running; since stratad is a child subreaper (child_reaper.h)
// the init becomes stratad's child. Without a terminal the init inherits the
// runtime's standard streams, so the caller passes the container's pipes
// there, and the runtime's own error text (if it fails) arrives on the
// stderr pipe.
//
// Errors: a runtime command that fails gives an Error whose message is the
// runtime's own last line (logrus' `msg="..."` unwrapped), with context
// "RUNTIME VERB ID".
//
// Thread safety: the methods may be called concurrently (for one container
// the caller serializes them).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/child_reaper.h"

namespace strata::runtime {

struct ExecProcess {
  std::vector<std::string> args;
  std::vector<std::string> env;  // K=V, added to the container's
  std::string cwd;               // empty: "/"
  std::string user;              // "UID[:GID]", empty: the container's
  bool tty = false;
  std::string console_socket;  // with tty
  bool detach = false;         // the runtime returns once the process runs
  std::string pid_file;        // with detach: where the process's pid goes
};

class OciRuntimeCli {
 public:
  struct Stdio {
    int in = -1;  // -1: /dev/null
    int out = -1;
    int err = -1;
  };

  // binary: a path or a name looked up in PATH; state_root: the runtime's
  // --root (created if missing).
  OciRuntimeCli(ChildReaper& reaper, std::string binary, std::string state_root);

  const std::string& binary() const { return binary_; }
  const std::string& state_root() const { return state_root_; }

  // Runs `run --detach`: create and start in one runtime process (runc and
  // crun have it too; one process fewer than create + start on every
  // container start). On success the container's process runs and this is
  // the init's pid (from --pid-file); the runtime's own error messages go
  // to stdio.err.
  Result<pid_t> RunDetached(const std::string& id, const std::string& bundle,
                            const std::string& console_socket, const Stdio& stdio);
  Status Kill(const std::string& id, int signal, bool all);
  Status Delete(const std::string& id, bool force);
  Status Pause(const std::string& id);
  Status Resume(const std::string& id);
  // Whether the runtime still knows the container (its state directory).
  bool Exists(const std::string& id) const;

  // Spawns `exec`; in the foreground the runtime exits with the process's
  // exit code (128 + signal), or 255 and a message on stderr if it could
  // not start it; detached it exits once the process runs (which then
  // becomes stratad's child) and writes its pid to pid_file. Wait for the
  // returned pid (the runtime's) with the reaper.
  Result<pid_t> SpawnExec(const std::string& id, const ExecProcess& process, const Stdio& stdio);

  // The one line to show for what a failed runtime command wrote: the last
  // non-empty line, logrus' msg="..." unwrapped.
  static std::string ErrorLine(const std::string& output);

 private:
  Status Simple(const std::string& verb, const std::string& id, std::vector<std::string> args);

  ChildReaper& reaper_;
  std::string binary_;
  std::string state_root_;
};

}  // namespace strata::runtime
