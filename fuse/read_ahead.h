// The kernel's readahead for the session's mount. A FUSE mount's backing
// device starts with the kernel's default window (128 kB), so a sequential
// read reaches the session in requests of 64 to 128 kB: an exec of busybox
// (1.5 MB) from a fresh container root took 24 reads. With 1 MiB, the
// largest request libfuse takes (256 pages), it takes 5, and a container
// starts 2-4 ms sooner.
//
// Each request must also stay small enough for libfuse to splice its reply:
// header and data in one pipe, which grows to at most
// /proc/sys/fs/pipe-max-size (1 MiB by default). A larger reply falls back
// to a pread into a fresh buffer and a writev, twice the copying plus an
// allocation per request: a first read of busybox from a new root took
// about 4 ms that way, 1 ms spliced. So the mount's max_read and its
// readahead window are four pages under the pipe limit (libfuse's
// margin for the header).
//
// Thread safety: a plain function; the mount must be served (its root is
// stat'ed to find the device).
#pragma once

#include <string>

#include "common/result.h"

namespace strata::fuse {

// The largest read request (bytes) whose reply libfuse splices: four pages
// under pipe-max-size (at most 1 MiB), at least 128 KiB (the kernel's
// default request).
size_t SpliceableReadSize();

// Writes /sys/class/bdi/MAJOR:MINOR/read_ahead_kb of the filesystem mounted
// at mountpoint.
Status SetReadAheadKb(const std::string& mountpoint, unsigned kb);

}  // namespace strata::fuse
