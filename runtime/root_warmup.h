// Warming a new container root before its first start.
//
// Every container root has FUSE inodes of its own, so a first start pays
// for what the session has not seen yet: the exec of the entrypoint reads
// the binary through the session (busybox: 2 MB, 1.5-4 ms), and the
// runtime makes the mount points the image lacks (/etc/hosts, /run/strata,
// ...) with creates through it. Right after create, while the start
// request and the runtime's setup follow, a thread of its own does both
// ahead: readahead(2) of the entrypoint (it queues asynchronous FUSE reads
// and returns) and the mount points, made exactly as the runtime makes them
// (runtime/oci/path_in_root.h), which then finds them there.
//
// The work runs in a child process (ChildReaper::Fork: stratad itself must
// not wait on its own FUSE mount), watched by a thread.
//
// Thread safety: OpenEntrypoint and MountPoints are plain functions;
// WarmUpRoot starts a thread that owns copies of what it needs, which the
// caller joins before anything removes or replaces the root's upper (its
// creates would land there); the reaper must outlive it. A warm-up that
// fails (no such file, the root gone) changes nothing but the speed of the
// start, so its errors are dropped.
#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "runtime/child_reaper.h"

namespace strata::runtime {

struct ContainerConfig;

// The regular file an exec of args[0] runs in the root: a path (absolute, or
// relative to workdir) or a name looked up in the PATH of env ("K=V"
// entries), with symlinks resolved inside the root. Opened read-only.
Result<UniqueFd> OpenEntrypoint(int root_fd, const std::vector<std::string>& args,
                                const std::vector<std::string>& env, const std::string& workdir);

// A path the runtime will mount on, and whether it is a directory.
struct MountPoint {
  std::string path;
  bool directory = true;
  friend bool operator==(const MountPoint&, const MountPoint&) = default;
};
// The mount points of config's bundle (runtime/bundle.h) outside the
// runtime's own /dev and /sys trees, plus the working directory: the
// kernel file systems' directories, stratad's network files (unless a
// volume takes their place) and /run/strata, and the volumes (a bind of a
// host file mounts on a file).
std::vector<MountPoint> MountPoints(const ContainerConfig& config);

// Reads at most this much of the entrypoint ahead.
constexpr off_t kMaxPrefetchBytes = 64 << 20;

// How long the watching thread waits for the child before killing it.
constexpr std::chrono::seconds kWarmUpTimeout{30};

// Starts the warm-up of config's root at root_dir; join the thread.
// readahead_window: the mount's (one readahead(2) reads at most that much).
std::thread WarmUpRoot(ChildReaper& reaper, const std::string& root_dir,
                       const ContainerConfig& config, size_t readahead_window);

}  // namespace strata::runtime
