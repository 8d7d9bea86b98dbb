// Warming the kernel's page cache for a container's first exec.
//
// Every container root has FUSE inodes of its own, so the first exec of its
// entrypoint reads the binary through the session: for busybox (2 MB) that
// is 1.5-4 ms of a start. Right after create (before the start request
// arrives, and while the runtime sets the container up on the other core), a
// thread of its own asks the kernel to read the entrypoint ahead
// (readahead(2) queues asynchronous FUSE reads and returns), so that the
// exec finds its pages cached.
//
// Thread safety: OpenEntrypoint is a plain function; PrefetchEntrypoint
// starts a detached thread that owns copies of what it needs. A prefetch
// that fails (no such file, the root removed meanwhile) changes nothing but
// the speed of the start, so its errors are dropped.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::runtime {

struct ContainerConfig;

// The regular file an exec of args[0] runs in the root: a path (absolute, or
// relative to workdir) or a name looked up in the PATH of env ("K=V"
// entries), with symlinks resolved inside the root. Opened read-only.
Result<UniqueFd> OpenEntrypoint(int root_fd, const std::vector<std::string>& args,
                                const std::vector<std::string>& env, const std::string& workdir);

// Reads at most this much of the entrypoint ahead.
constexpr off_t kMaxPrefetchBytes = 64 << 20;

// Starts the prefetch of config's entrypoint in the root at root_dir.
void PrefetchEntrypoint(const std::string& root_dir, const ContainerConfig& config);

}  // namespace strata::runtime
