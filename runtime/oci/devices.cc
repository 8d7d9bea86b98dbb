#include "runtime/oci/devices.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/fs.h"
#include "runtime/oci/path_in_root.h"

namespace strata::runtime::oci {
namespace {

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string Basename(const std::string& path) { return path.substr(path.rfind('/') + 1); }

Status MakeNode(int root_fd, const Device& d) {
  ASSIGN_OR_RETURN(UniqueFd dir, MakeDirsInRoot(root_fd, Dirname(d.path)));
  std::string name = Basename(d.path);
  mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
  dev_t dev = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
  // Replace whatever the image put there (a regular file in /dev of a
  // rootfs without a tmpfs /dev, a stale node).
  ::unlinkat(dir.get(), name.c_str(), 0);
  if (::mknodat(dir.get(), name.c_str(), type | (d.file_mode & 07777), dev) != 0) {
    if (errno != EPERM || d.type == 'p') return Error::FromErrno("mknod " + d.path);
    // mknod is not allowed (nodev /dev, or a user namespace): bind the
    // host's node on an empty file instead.
    int fd = ::openat(dir.get(), name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return Error::FromErrno("create " + d.path);
    ::close(fd);
    ASSIGN_OR_RETURN(UniqueFd target, OpenInRoot(root_fd, d.path));
    if (::mount(d.path.c_str(), ProcFdPath(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return Error::FromErrno("bind " + d.path + " from the host");
    }
    return Ok();
  }
  if (::fchmodat(dir.get(), name.c_str(), d.file_mode & 07777, 0) != 0) {
    return Error::FromErrno("chmod " + d.path);
  }
  if (::fchownat(dir.get(), name.c_str(), d.uid, d.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return Error::FromErrno("chown " + d.path);
  }
  return Ok();
}

}  // namespace

const std::vector<Device>& DefaultDevices() {
  static const std::vector<Device> kDevices = {
      {"/dev/null", 'c', 1, 3, 0666, 0, 0},    {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
      {"/dev/full", 'c', 1, 7, 0666, 0, 0},    {"/dev/random", 'c', 1, 8, 0666, 0, 0},
      {"/dev/urandom", 'c', 1, 9, 0666, 0, 0}, {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
  };
  return kDevices;
}

Status CreateDevices(int root_fd, const std::vector<Device>& extra) {
  for (const Device& d : DefaultDevices()) {
    bool overridden = false;
    for (const Device& e : extra) overridden |= e.path == d.path;
    if (!overridden) RETURN_IF_ERROR(MakeNode(root_fd, d));
  }
  for (const Device& d : extra) RETURN_IF_ERROR(MakeNode(root_fd, d));

  ASSIGN_OR_RETURN(UniqueFd dev, MakeDirsInRoot(root_fd, "/dev"));
  struct Link {
    const char* target;
    const char* name;
  };
  const Link links[] = {
      {"/proc/self/fd", "fd"},
      {"/proc/self/fd/0", "stdin"},
      {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"},
  };
  for (const Link& l : links) {
    if (::symlinkat(l.target, dev.get(), l.name) != 0 && errno != EEXIST) {
      return Error::FromErrno(std::string("symlink /dev/") + l.name);
    }
  }
  if (PathExists("/proc/kcore") && ::symlinkat("/proc/kcore", dev.get(), "core") != 0 &&
      errno != EEXIST) {
    return Error::FromErrno("symlink /dev/core");
  }
  // Every pty the container opens must come from its own devpts instance.
  ::unlinkat(dev.get(), "ptmx", 0);
  if (::symlinkat("pts/ptmx", dev.get(), "ptmx") != 0) return Error::FromErrno("symlink /dev/ptmx");
  return Ok();
}

Status BindConsole(const std::string& slave_path) {
  int fd = ::open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Error::FromErrno("create /dev/console");
  ::close(fd);
  if (::mount(slave_path.c_str(), "/dev/console", nullptr, MS_BIND, nullptr) != 0) {
    return Error::FromErrno("bind " + slave_path + " on /dev/console");
  }
  return Ok();
}

}  // namespace strata::runtime::oci
