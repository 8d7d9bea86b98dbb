#include "runtime/oci/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fs.h"
#include "runtime/oci/mounts.h"

namespace strata::runtime::oci {
namespace {

// The mount point under which path lives (the longest mount point prefix in
// /proc/self/mountinfo).
Result<std::string> MountPointOf(const std::string& path) {
  ASSIGN_OR_RETURN(std::string info, ReadFile("/proc/self/mountinfo"));
  std::string best = "/";
  size_t pos = 0;
  while (pos < info.size()) {
    size_t end = info.find('\n', pos);
    if (end == std::string::npos) end = info.size();
    std::string line = info.substr(pos, end - pos);
    pos = end + 1;
    // id parent major:minor root mountpoint ...
    size_t f = 0;
    for (int i = 0; i < 4 && f != std::string::npos; ++i) f = line.find(' ', f + 1);
    if (f == std::string::npos) continue;
    size_t g = line.find(' ', f + 1);
    std::string mp = line.substr(f + 1, g == std::string::npos ? std::string::npos : g - f - 1);
    bool prefix = path == mp || mp == "/" ||
                  (path.starts_with(mp) && path.size() > mp.size() && path[mp.size()] == '/');
    if (prefix && mp.size() > best.size()) best = mp;
  }
  return best;
}

}  // namespace

Status PrepareRoot(const std::string& rootfs, std::optional<unsigned long> propagation) {
  unsigned long flags = propagation.value_or(MS_REC | MS_PRIVATE);
  if (::mount(nullptr, "/", nullptr, flags, nullptr) != 0) {
    return Error::FromErrno("set propagation of /");
  }
  // pivot_root refuses a new root whose parent mount is shared; with a
  // shared propagation chosen, make just that one private (as runc does).
  if (flags & MS_SHARED) {
    ASSIGN_OR_RETURN(std::string parent, MountPointOf(rootfs));
    if (::mount(nullptr, parent.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) {
      return Error::FromErrno("make " + parent + " private");
    }
  }
  if (::mount(rootfs.c_str(), rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return Error::FromErrno("bind mount the root " + rootfs);
  }
  return Ok();
}

Status PivotRoot(const std::string& rootfs) {
  ASSIGN_OR_RETURN(UniqueFd old_root, OpenFile("/", O_DIRECTORY | O_RDONLY));
  ASSIGN_OR_RETURN(UniqueFd new_root, OpenFile(rootfs, O_DIRECTORY | O_RDONLY));
  if (::fchdir(new_root.get()) != 0) return Error::FromErrno("chdir " + rootfs);
  // pivot_root(".", ".") stacks the old root on top of the new one, so no
  // directory for it is needed in the image; it is then detached.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return Error::FromErrno("pivot_root " + rootfs);
  if (::fchdir(old_root.get()) != 0) return Error::FromErrno("chdir to the old root");
  // Keep the unmount from propagating to the host.
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    return Error::FromErrno("make the old root a slave");
  }
  if (::umount2(".", MNT_DETACH) != 0) return Error::FromErrno("unmount the old root");
  if (::chdir("/") != 0) return Error::FromErrno("chdir /");
  return Ok();
}

Status RemountReadonly(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_PATH | O_DIRECTORY));
  // The root is a bind mount and needs MS_BIND on remount; /dev (a tmpfs)
  // must not have it.
  return Remount(fd.get(), path, MS_RDONLY, 0, path == "/");
}

Status MakeReadonlyPaths(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;
      return Error::FromErrno("bind " + path + " read-only");
    }
    ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_PATH));
    RETURN_IF_ERROR(Remount(fd.get(), path, MS_RDONLY, 0, true));
  }
  return Ok();
}

Status MaskPaths(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      return Error::FromErrno("mask " + path);
    }
    int rc = S_ISDIR(st.st_mode) ? ::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY, nullptr)
                                 : ::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr);
    if (rc != 0) return Error::FromErrno("mask " + path);
  }
  return Ok();
}

}  // namespace strata::runtime::oci
