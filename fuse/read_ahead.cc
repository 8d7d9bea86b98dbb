#include "fuse/read_ahead.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/fs.h"

namespace strata::fuse {

Status SetReadAheadKb(const std::string& mountpoint, unsigned kb) {
  struct stat st;
  if (::stat(mountpoint.c_str(), &st) != 0) return Error::FromErrno("stat " + mountpoint);
  const std::string knob = "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" +
                           std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(knob, O_WRONLY | O_CLOEXEC));
  RETURN_IF_ERROR_CTX(WriteAll(fd.get(), std::to_string(kb) + "\n"), "write " + knob);
  return Ok();
}

}  // namespace strata::fuse
