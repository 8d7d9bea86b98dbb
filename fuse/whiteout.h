// The overlayfs on-disk format of an upper directory (invariant 6), so a
// container's upper is what kernel overlayfs would have written:
//  - a whiteout is a character device 0/0 named like the deleted entry;
//  - an opaque directory carries the xattr trusted.overlay.opaque = "y";
//  - overlay bookkeeping xattrs (trusted.overlay.*) are never shown to the
//    container, nor settable by it.
#pragma once

#include <sys/stat.h>

#include <string_view>

#include "common/result.h"

namespace strata::fuse {

inline constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";
inline constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";

inline bool IsWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == 0;
}

// Whether a user-visible xattr name is reserved for overlay bookkeeping.
inline bool IsOverlayXattr(std::string_view name) {
  return name.substr(0, kOverlayXattrPrefix.size()) == kOverlayXattrPrefix;
}

// Creates a whiteout named name in dirfd (replacing nothing: EEXIST if taken).
Status MakeWhiteout(int dirfd, const char* name);
// Whether the directory fd (opened, not O_PATH) is marked opaque.
Result<bool> IsOpaqueDir(int dirfd_or_path_fd);
Status SetOpaque(int dirfd_or_path_fd);

}  // namespace strata::fuse
