// Small shared pieces of the union core: the stat type of an entry, and an
// errno error with the path it concerns.
#pragma once

#include <sys/stat.h>

#include <cstring>
#include <string>

#include "common/result.h"
#include "storage/entry.h"

namespace strata::fuse {

inline mode_t TypeBits(storage::EntryType type) {
  using storage::EntryType;
  switch (type) {
    case EntryType::kRegular: return S_IFREG;
    case EntryType::kDirectory: return S_IFDIR;
    case EntryType::kSymlink: return S_IFLNK;
    case EntryType::kCharDevice: return S_IFCHR;
    case EntryType::kBlockDevice: return S_IFBLK;
    case EntryType::kFifo: return S_IFIFO;
    case EntryType::kSocket: return S_IFSOCK;
    case EntryType::kWhiteout: return 0;
  }
  return 0;
}

inline Error Errno(int err, const std::string& what) {
  return Error(err, what + ": " + std::strerror(err));
}

}  // namespace strata::fuse
