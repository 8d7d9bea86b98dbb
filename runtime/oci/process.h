// Turning a forked child into the container's process: spec.process applied
// to the caller in the order the kernel requires, then execve. Used by the
// container's init (init.h) and by exec'd processes (container_exec.cc);
// runs after pivot_root or after joining the container's mount namespace,
// so every path here is the container's.
//
// PrepareProcess, in order:
//   1. rlimits                  (while the caller may still raise them)
//   2. capability bounding set  (needs CAP_SETPCAP, so before the uid change)
//   3. keep capabilities across the uid change
//   4. chdir(cwd)               (as root first; retried as the user on EACCES)
//   5. setgroups(additionalGids), setgid, setuid
//   6. capset + ambient capabilities
//   7. umask (default 0022), no_new_privs
// Then FindExecutable (as the user, in the final cwd) and Exec.
//
// Everything runs in a forked, single-threaded child: allocation is fine,
// exceptions are not (errors go back over the sync socket, sync.h).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/oci/spec.h"

namespace strata::runtime::oci {

// Restores the signal mask and dispositions a child inherits from the
// runtime (which blocks signals to forward them), so the container process
// starts clean.
void ResetSignals();

Status PrepareProcess(const Process& process);

// Makes fds 3 .. 3+preserve-1 survive execve and every fd above them close on
// execve, so nothing the runtime or its caller had open (a host directory, a
// socket) leaks into the container.
Status SetExecFds(int preserve);

// process.env, plus HOME (from the container's /etc/passwd entry of the uid,
// else "/") when it is not set. Read before PrepareProcess drops privileges.
std::vector<std::string> ProcessEnvironment(const Process& process);

// args[0] resolved as execvp would, with PATH from env (a default when env
// has none); errors read like runc's: exec: "foo": executable file not found
// in $PATH.
Result<std::string> FindExecutable(const std::string& name, const std::vector<std::string>& env);

// execve; returns only on failure, with the reason.
Error Exec(const std::string& path, const std::vector<std::string>& args,
           const std::vector<std::string>& env);

}  // namespace strata::runtime::oci
