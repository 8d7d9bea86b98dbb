// The kernel's readahead for the session's mount. A FUSE mount's backing
// device starts with the kernel's default window (128 kB), so a sequential
// read reaches the session in requests of 64 to 128 kB: an exec of busybox
// (1.5 MB) from a fresh container root took 24 reads. With 1 MiB, the
// largest request libfuse takes (256 pages), it takes 5, and a container
// starts 2-4 ms sooner.
//
// Thread safety: a plain function; the mount must be served (its root is
// stat'ed to find the device).
#pragma once

#include <string>

#include "common/result.h"

namespace strata::fuse {

constexpr unsigned kReadAheadKb = 1024;

// Writes /sys/class/bdi/MAJOR:MINOR/read_ahead_kb of the filesystem mounted
// at mountpoint.
Status SetReadAheadKb(const std::string& mountpoint, unsigned kb);

}  // namespace strata::fuse
