// Starting a process inside a container: the double fork.
//
// The runtime forks "stage 1", which
//   0. makes itself non-dumpable (inherited by the target until it execs)
//   1. joins the container's cgroup (so everything it forks is accounted
//      there from its first instruction, and a new cgroup namespace is
//      rooted at the container's cgroup); where there is a cgroup2
//      hierarchy, stage 1 is cloned straight into its directory,
//   2. sets oom_score_adj (inherited by the target),
//   3. setns() into the namespaces to join and unshare()s the ones to create
//      (a new pid namespace only applies to children, hence the fork),
//   4. forks the target, reports its pid on the sync socket, and exits.
// The target waits for stage 1's report to go out (so the runtime always
// reads kPid first), then runs `body`, which must exec or ReportAndExit.
//
// Reparenting: stage 1's exit orphans the target, and the kernel gives it to
// the nearest subreaper. A foreground `run` or `exec` sets
// PR_SET_CHILD_SUBREAPER on the runtime first, so the target becomes its
// child and it can wait for it; `create` and detached commands do not, so
// the container outlives the runtime and is reaped by the runtime's caller
// if that is a subreaper (a shim, stratad) or else by init. No monitor
// process stays behind, as with runc.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <vector>

#include "common/result.h"
#include "runtime/oci/cgroup.h"
#include "runtime/oci/namespaces.h"
#include "runtime/oci/sync.h"

namespace strata::runtime::oci {

struct SpawnOptions {
  Cgroup* cgroup = nullptr;         // stage 1 is cloned into it / joins it; may be null
  std::vector<OpenNamespace> join;  // setns()ed by stage 1
  std::vector<Namespace> create;    // those without a path are unshare()d
  std::optional<int> oom_score_adj;
};

// Forks stage 1 and returns the target's pid once stage 1 reported it (or
// the error stage 1 reported). `sync` is {runtime's end, child's end}; the
// child's end is closed here in the runtime, and `body` gets it in the
// target.
Result<pid_t> Spawn(SpawnOptions options, std::pair<SyncSocket, SyncSocket>& sync,
                    const std::function<void(const SyncSocket&)>& body);

// waitpid for pid, retrying on EINTR; returns the raw status.
Result<int> WaitForPid(pid_t pid);

// The exit code a shell would report: the exit status, or 128 + signal.
int ExitCode(int wait_status);

}  // namespace strata::runtime::oci
