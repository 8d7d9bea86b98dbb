#include "fuse/read_ahead.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "common/fs.h"

namespace strata::fuse {

size_t SpliceableReadSize() {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  size_t pipe_max = 1 << 20;
  if (auto text = ReadFile("/proc/sys/fs/pipe-max-size"); text.ok()) {
    pipe_max = std::strtoull(text->c_str(), nullptr, 10);
  }
  // libfuse sizes the pipe for a reply as the data plus three pages (and
  // the header): four pages under the limit always fit.
  size_t size = std::min<size_t>(pipe_max, 1 << 20) - 4 * page;
  return std::max<size_t>(size, 128 << 10);
}

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
