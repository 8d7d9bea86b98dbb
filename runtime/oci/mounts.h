// The config's mounts, made inside the container's root file system before
// pivot_root, in the order config.json lists them:
//
//   bind/rbind  the source bound on a directory or file made at the
//               destination; flags other than bind (ro, nosuid, nodev,
//               noexec, atime) by a remount that keeps the flags the source
//               mount has and the options do not clear; then propagation
//               (rprivate, rslave, ...)
//   cgroup      the container's own cgroup: v2, the unified directory (or a
//               fresh cgroup2 mount inside a cgroup namespace); v1, a tmpfs
//               with one bound (or, with a cgroup namespace, freshly
//               mounted) directory per hierarchy, then made read-only
//   other       mount(source, destination, type, flags, data): proc, sysfs,
//               tmpfs, devpts, mqueue, ...
//
// Destinations are resolved inside the root (path_in_root.h), so a symlink
// in an image cannot send a mount onto the host. Runs in the container's
// init, in its mount namespace; errors name the mount and the reason.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/oci/cgroup.h"
#include "runtime/oci/spec.h"

namespace strata::runtime::oci {

struct MountResult {
  // A read-only /dev is mounted read-write so device nodes can be made in
  // it; the caller remounts it read-only afterwards.
  bool dev_readonly_later = false;
};

Result<MountResult> MountAll(const std::vector<Mount>& mounts, int root_fd, const Cgroup* cgroup,
                             bool cgroup_namespace);

// True when the config binds a directory (usually the host's /dev) at /dev:
// then no device nodes are made.
bool BindsDev(const std::vector<Mount>& mounts);

// Remounts the mount at path (an O_PATH fd) with flags plus MS_REMOUNT, keeping
// the locked flags it has (nosuid, nodev, noexec, atime) unless `clear` says
// otherwise. bind: the mount is a bind mount (MS_BIND is added).
Status Remount(int fd, const std::string& what, unsigned long flags, unsigned long clear,
               bool bind);

}  // namespace strata::runtime::oci
