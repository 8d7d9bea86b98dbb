// The container's init: the first process of a container, from the moment
// spawn.h forks it (in its new namespaces and cgroup, still seeing the
// host's file systems) until it execs process.args. In order:
//
//   setsid; loopback up (new network namespace); umask 0
//   open exec.fifo (create only; before the host's paths disappear)
//   PrepareRoot, MountAll, cwd made in the root (as runc), CreateDevices
//   PivotRoot
//   terminal: pty from the container's devpts, master sent out, slave on
//     /dev/console and made the controlling terminal
//   read-only /dev, read-only root; hostname, domainname; sysctls
//   readonlyPaths, maskedPaths
//   seccomp filter (compiled before the fork), when the process keeps
//     privileges (seccomp.h)
//   PrepareProcess (user, capabilities, ...), FindExecutable
//   kReady to the runtime
//   create: block reading exec.fifo until `start` writes to it
//   seccomp filter, with noNewPrivileges (the usual case)
//   execve
// Any failure goes to the runtime as kError and the init exits.
#pragma once

#include <optional>
#include <string>

#include "runtime/oci/cgroup.h"
#include "runtime/oci/seccomp.h"
#include "runtime/oci/spec.h"
#include "runtime/oci/sync.h"

namespace strata::runtime::oci {

struct InitOptions {
  const Spec* spec = nullptr;
  std::string rootfs;              // absolute, symlinks resolved
  const Cgroup* cgroup = nullptr;  // for the cgroup mount
  std::string fifo_path;           // wait here for `start`; empty: exec at once
  int console_fd = -1;             // where the pty master goes (terminal only)
  int preserve_fds = 0;            // fds 3 .. 3+n-1 stay open across exec
  // linux.seccomp, compiled by the runtime before the fork (seccomp_cache.h).
  std::optional<SeccompProgram> seccomp;
};

[[noreturn]] void RunInit(const InitOptions& options, const SyncSocket& sync);

}  // namespace strata::runtime::oci
