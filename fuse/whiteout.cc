#include "fuse/whiteout.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

#include "common/fs.h"

namespace strata::fuse {

Status MakeWhiteout(int dirfd, const char* name) {
  if (::mknodat(dirfd, name, S_IFCHR | 0, makedev(0, 0)) != 0) {
    return Error::FromErrno(std::string("make whiteout ") + name);
  }
  return Ok();
}

// Through /proc/self/fd so that O_PATH fds work too (fgetxattr refuses them).
Result<bool> IsOpaqueDir(int fd) {
  char value[4];
  ssize_t n = ::getxattr(ProcFdPath(fd).c_str(), kOpaqueXattr, value, sizeof value);
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) return false;
    return Error::FromErrno("read opaque xattr");
  }
  return n == 1 && value[0] == 'y';
}

Status SetOpaque(int fd) {
  if (::setxattr(ProcFdPath(fd).c_str(), kOpaqueXattr, "y", 1, 0) != 0) {
    return Error::FromErrno("set opaque xattr");
  }
  return Ok();
}

}  // namespace strata::fuse
