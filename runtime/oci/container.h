// A container, as the `strata-runtime` commands see it: the library behind
// each verb, so that tools/strata-runtime.cc only parses arguments.
//
// Lifecycle (the OCI runtime spec's):
//   Create   config.json checked, state dir made, cgroup made with limits,
//            init spawned (spawn.h) and set up (init.h); it then waits on
//            exec.fifo. Status: created. On any failure everything made so
//            far is undone and the error is the init's own.
//   Start    one byte into exec.fifo releases the init, which execs
//            process.args; the fifo is removed. Status: running.
//   Pause / Resume   the cgroup freezer. Status: paused / running.
//   Kill     a signal to the init, or with all to every process of the
//            cgroup (frozen first, so none forks away).
//   Delete   a stopped or created container's processes (if any are left),
//            cgroup and state dir go; force kills a running one first.
// The init process is not a child of any later command: Start/Kill/Delete
// find it by the pid and start time in the state (state.h).
//
// Thread safety: none; one command per process.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "runtime/oci/spec.h"
#include "runtime/oci/state.h"

namespace strata::runtime::oci {

struct PartialCreate;

struct CreateOptions {
  std::string root = std::string(kDefaultStateRoot);  // --root
  std::string id;
  std::string bundle = ".";    // --bundle
  std::string pid_file;        // --pid-file: the init's pid, written once created
  std::string console_socket;  // --console-socket: where a terminal's master goes
  int preserve_fds = 0;        // --preserve-fds
  // Internal (foreground run): without a console socket, the terminal's
  // master comes back to the caller (Container::TakeTerminal).
  bool terminal_to_caller = false;
};

struct ExecOptions {
  std::string process_file;       // --process: a process.json; else the fields below
  std::vector<std::string> args;  // the command
  bool tty = false;               // --tty
  std::vector<std::string> env;   // --env K=V (added to, or replacing, the config's)
  std::string cwd;                // --cwd
  std::string user;               // --user UID[:GID]
  bool detach = false;            // --detach
  std::string pid_file;
  std::string console_socket;
  int preserve_fds = 0;
};

class Container {
 public:
  static Result<std::unique_ptr<Container>> Create(const CreateOptions& options);
  // An existing container; ENOENT "container X does not exist".
  static Result<std::unique_ptr<Container>> Load(const std::string& root, const std::string& id);

  const ContainerState& state() const { return state_; }
  ContainerStatus CurrentStatus() const;
  // The `state` command's output.
  std::string StateJson() const;

  Status Start();
  Status Kill(int signal, bool all);
  Status Pause();
  Status Resume();
  Status Delete(bool force);
  // Runs a process in the container; the exit code when not detached (0 when
  // detached).
  Result<int> Exec(const ExecOptions& options);

  // The terminal's master of a container created with terminal_to_caller.
  UniqueFd TakeTerminal() { return std::move(terminal_); }

 private:
  Container(StateDir dir, ContainerState state) : dir_(std::move(dir)), state_(std::move(state)) {}
  static Result<std::unique_ptr<Container>> CreateSteps(const CreateOptions& options,
                                                        PartialCreate& partial);
  // SIGKILL to every process and wait until the init is gone.
  Status KillAndWait();

  StateDir dir_;
  ContainerState state_;
  UniqueFd terminal_;
};

// `run`: create + start; without detach, waits for the container (signals
// forwarded, terminal relayed), deletes it and returns its exit code.
Result<int> RunContainer(const CreateOptions& options, bool detach);

// `delete`, also for a state directory a crashed `create` left without a
// state file (removed with force; an unknown id is fine with force).
Status DeleteContainer(const std::string& root, const std::string& id, bool force);

}  // namespace strata::runtime::oci
