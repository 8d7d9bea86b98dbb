// The writable layer of a container (its upper directory, in overlayfs's
// on-disk format) read as an OCI layer tar, for `strata commit`. The format
// conversion (whiteouts, opaque directories, kept xattrs, hard links) is
// storage::TreeTarSource's overlay_upper mode; what is left out here is the
// runtime's own:
//
//   empty regular files at /etc/hostname, /etc/hosts and /etc/resolv.conf
//     (mount points for stratad's files; Docker leaves them out too)
//   an empty /run/strata (the mount point of the status files)
//
// Thread safety: one reader per upper; the upper must not change meanwhile
// (the container is stopped or paused).
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "storage/tree_tar_source.h"

namespace strata::runtime {

Result<std::unique_ptr<storage::TreeTarSource>> OpenUpperLayer(const std::string& upper_dir);

}  // namespace strata::runtime
