// Paths inside a container's root file system, resolved so that no symlink
// or ".." in the (untrusted) root can lead outside it: every lookup is
// openat2(RESOLVE_IN_ROOT) against a directory fd of the root (Linux 5.6+).
// Results are O_PATH fds; a mount onto one goes through ProcFdPath(fd)
// (common/fs.h), so the kernel mounts on exactly what was resolved (no
// check-then-use race).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::runtime::oci {

// Resolves path (absolute or not: both are taken from root_fd) with extra
// open flags (O_PATH is added); symlinks are followed inside the root.
Result<UniqueFd> OpenInRoot(int root_fd, std::string_view path, int flags = 0);
// mkdir -p of path inside the root; the final directory as an O_PATH fd.
Result<UniqueFd> MakeDirsInRoot(int root_fd, std::string_view path, mode_t mode = 0755);
// Makes path an (empty) regular file if missing, parents as directories; an
// O_PATH fd of whatever is there (a directory stays a directory).
Result<UniqueFd> MakeFileInRoot(int root_fd, std::string_view path);

}  // namespace strata::runtime::oci
