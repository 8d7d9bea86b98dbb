// The writable layer of a container (its upper directory, in overlayfs's
// on-disk format) written as an OCI layer tar, for `strata commit`:
//
//   whiteout (character device 0/0) NAME   ->  empty file .wh.NAME
//   directory with trusted.overlay.opaque  ->  the directory, then
//                                               DIR/.wh..wh..opq
//   trusted.overlay.* xattrs               ->  dropped (user.* and
//                                               security.* are kept,
//                                               security.selinux is not)
//   sockets                                ->  skipped (tar cannot hold them)
//
// Regular files, directories, symlinks, hard links (a second name of one
// inode is a tar hard link to the first), fifos and devices keep their mode,
// owner and mtime. Entries are in name order, parents first. Empty regular
// files at /etc/hostname, /etc/hosts and /etc/resolv.conf are mount points
// for stratad's files and are left out (as Docker leaves them out).
//
// Thread safety: one call per upper; the upper must not change meanwhile
// (the container is stopped or paused).
#pragma once

#include <string>

#include "common/result.h"

namespace strata::runtime {

// Writes the tar (pax format) to fd, which the caller closes.
Status WriteUpperLayer(const std::string& upper_dir, int fd);

}  // namespace strata::runtime
