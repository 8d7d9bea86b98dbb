// The host side of a bind volume (`-v /host/path:/dst`): its source is
// resolved once, at create, to a path without symlinks (realpath of the
// part that exists), and that path is what every start mounts. A start
// refuses the source when a symlink has appeared in it since (ELOOP), so a
// symlink swapped after create cannot redirect the mount to another host
// directory; strata-runtime then opens the source once and mounts it
// through its fd (runtime/oci/mounts.cc), leaving no window between the
// check of a path and its use inside the runtime.
//
// Thread safety: plain functions.
#pragma once

#include <string>

#include "common/result.h"

namespace strata::runtime {

// source (absolute) with every symlink of its existing part resolved; the
// part that does not exist yet is appended as given.
Result<std::string> ResolveBindSource(const std::string& source);

// Ok when source has no symlink in any component (or does not exist);
// ELOOP, naming the source, when it has one.
Status CheckBindSource(const std::string& source);

}  // namespace strata::runtime
