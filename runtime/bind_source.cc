#include "runtime/bind_source.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "common/fs.h"
#include "common/unique_fd.h"

namespace strata::runtime {

Result<std::string> ResolveBindSource(const std::string& source) {
  std::string existing = source;
  std::string rest;
  for (;;) {
    char resolved[PATH_MAX];
    if (::realpath(existing.c_str(), resolved) != nullptr) {
      std::string out = resolved;
      if (!rest.empty()) out += (out == "/" ? "" : "/") + rest;
      return out;
    }
    if (errno != ENOENT) return Error::FromErrno("volume source " + source);
    size_t slash = existing.rfind('/');
    if (slash == std::string::npos || existing == "/") {
      return Error::FromErrno("volume source " + source);
    }
    std::string last = existing.substr(slash + 1);
    rest = rest.empty() ? last : last + "/" + rest;
    existing = slash == 0 ? "/" : existing.substr(0, slash);
  }
}

Status CheckBindSource(const std::string& source) {
  UniqueFd fd(OpenAt2(AT_FDCWD, source, O_PATH, RESOLVE_NO_SYMLINKS));
  if (fd || errno == ENOENT) return Ok();
  if (errno == ELOOP) {
    return Error(ELOOP, "volume source " + source +
                            ": a symlink has appeared in its path since the container was created");
  }
  return Error::FromErrno("volume source " + source);
}

}  // namespace strata::runtime
