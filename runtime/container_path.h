// Paths inside a container's root, resolved from the host (by stratad,
// before the container runs) the way the container itself would see them:
// an absolute symlink starts again at the container's root, a relative one
// at the directory holding it. A path that would climb above the root
// ("..", directly or through a symlink) is refused rather than clamped, so a
// volume destination such as /data -> ../../../../etc never lands on a host
// directory, and never silently somewhere else either.
//
// Thread safety: plain functions. The root must not change during the call
// (the container is not running while stratad prepares it).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace strata::runtime {

// Resolves path (absolute, in the container) against root (a host
// directory holding the container's root file system). Returns the
// resolved absolute path in the container, free of symlinks for every
// component that exists ("/var/data"); components that do not exist are
// kept as given. Errors: EXDEV for a path leading outside the root, ELOOP
// after 40 symlinks, ENOTDIR when a component is not a directory.
Result<std::string> ResolveInContainer(const std::string& root, std::string_view path);

}  // namespace strata::runtime
