// The container's /dev: device nodes, the usual symlinks, and the console.
//
// CreateDevices runs before pivot_root, after the mounts (so /dev is the
// config's tmpfs): it makes the nodes every container has (null, zero, full,
// random, urandom, tty) and those of linux.devices, each with its mode and
// owner exactly (the umask does not apply), and the symlinks /dev/fd,
// /dev/stdin, /dev/stdout, /dev/stderr, /dev/ptmx -> pts/ptmx and, when the
// kernel has it, /dev/core -> /proc/kcore. Where mknod is not allowed it
// binds the host's node instead, as runc does.
//
// BindConsole runs after pivot_root: the terminal's slave is bound on
// /dev/console.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/oci/spec.h"

namespace strata::runtime::oci {

// The nodes every container gets.
const std::vector<Device>& DefaultDevices();

Status CreateDevices(int root_fd, const std::vector<Device>& extra);
Status BindConsole(const std::string& slave_path);

}  // namespace strata::runtime::oci
