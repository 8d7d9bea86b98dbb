// LowerFiles: the open object descriptors of a root's lower files, by union
// inode number, so that a read-only open of a lower file the session has
// opened before is one dup() instead of a path resolution and an object
// open.
//
// Lifecycle: an entry is added by the first open that resolves to the lower
// file, removed when the file is copied up (before the copy shows, so no
// open after the copy-up gets the lower content) and when the kernel
// forgets the inode; the rest close with Clear (when the root is removed)
// or with the LowerFiles.
//
// Descriptors count against one budget for the whole process (half of
// RLIMIT_NOFILE's soft limit when first used): past it, opens just do not
// cache.
//
// Thread safety: all methods may be called concurrently; the lock is held
// only inside them.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "common/unique_fd.h"

namespace strata::fuse {

class LowerFiles {
 public:
  LowerFiles() = default;
  ~LowerFiles();
  LowerFiles(const LowerFiles&) = delete;
  LowerFiles& operator=(const LowerFiles&) = delete;

  // A new descriptor of the cached file ino (invalid if none is cached, or
  // if dup fails).
  UniqueFd Dup(uint64_t ino);
  // Caches a duplicate of fd as ino's, unless one is cached or the budget
  // is spent.
  void Add(uint64_t ino, int fd);
  void Remove(uint64_t ino);
  // Closes every cached descriptor (the root is unmounted: its files may
  // stay known to the kernel for long, their descriptors need not).
  void Clear();

 private:
  std::mutex mu_;
  std::unordered_map<uint64_t, UniqueFd> fds_;  // guarded by mu_
};

}  // namespace strata::fuse
