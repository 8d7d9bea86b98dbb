#include "fuse/upper.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fs.h"

namespace strata::fuse {

int OpenBeneath(int dirfd, const std::string& rel, uint64_t flags, mode_t mode) {
  return OpenAt2(dirfd, rel, flags,
                 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
                 mode);
}

std::pair<std::string, std::string> SplitPath(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

std::string RelPath(const std::string& path) { return path == "/" ? "." : path.substr(1); }

Result<std::unique_ptr<Upper>> Upper::Open(const std::string& upper_dir,
                                           const std::string& work_dir) {
  std::unique_ptr<Upper> upper(new Upper());
  upper->dir_ = upper_dir;
  upper->work_dir_ = work_dir;
  RETURN_IF_ERROR(MakeDirs(upper_dir, 0755));
  RETURN_IF_ERROR(RemoveTree(work_dir));
  RETURN_IF_ERROR(MakeDirs(work_dir, 0700));
  ASSIGN_OR_RETURN(upper->root_fd_, OpenFile(upper_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW));
  ASSIGN_OR_RETURN(upper->work_fd_, OpenFile(work_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW));
  return upper;
}

Result<UniqueFd> Upper::OpenDir(const std::string& path) const {
  int fd = OpenBeneath(root_fd_.get(), RelPath(path), O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
  if (fd < 0) {
    // A symlink where a directory should be reads as "not a directory".
    if (errno == ELOOP) return Error(ENOTDIR, "upper " + path + ": not a directory");
    return Error::FromErrno("upper " + path);
  }
  return UniqueFd(fd);
}

Result<std::optional<struct stat>> Upper::Stat(const std::string& path) const {
  struct stat st;
  if (path == "/") {
    if (::fstat(root_fd_.get(), &st) != 0) return Error::FromErrno("stat upper");
    return std::optional<struct stat>(st);
  }
  // As OpenDir(parent), but a missing parent (every lookup below a
  // lower-only directory) builds no Error; ELOOP: a symlink on the way.
  size_t slash = path.rfind('/');
  const std::string parent_rel = slash == 0 ? "." : path.substr(1, slash - 1);
  UniqueFd dir(OpenBeneath(root_fd_.get(), parent_rel, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0));
  if (!dir) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return std::optional<struct stat>();
    return Error::FromErrno("upper " + (slash == 0 ? std::string("/") : path.substr(0, slash)));
  }
  const char* name = path.c_str() + slash + 1;
  if (::fstatat(dir.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::optional<struct stat>();
    return Error::FromErrno("stat upper " + path);
  }
  return std::optional<struct stat>(st);
}

Result<UniqueFd> Upper::OpenAt(const std::string& path, int flags, mode_t mode) const {
  int fd = OpenBeneath(root_fd_.get(), RelPath(path), static_cast<uint64_t>(flags) | O_NOFOLLOW,
                       mode);
  if (fd < 0) return Error::FromErrno("open upper " + path);
  return UniqueFd(fd);
}

Status Upper::ForEachChild(
    const std::string& path,
    const std::function<Status(const std::string&, const struct stat&)>& fn) const {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenAt(path, O_RDONLY | O_DIRECTORY));
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) return Error::FromErrno("opendir upper " + path);
  fd.release();
  std::unique_ptr<DIR, int (*)(DIR*)> guard(dir, ::closedir);
  while (struct dirent* de = ::readdir(dir)) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::fstatat(::dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // raced away
    RETURN_IF_ERROR(fn(name, st));
  }
  return Ok();
}

std::string Upper::TempName() { return "#" + std::to_string(++counter_); }

Status Upper::RemoveInWork(const std::string& name) {
  return RemoveTree(JoinPath(work_dir_, name));
}

Status ApplyMetadata(int dirfd, const std::string& name, bool is_symlink, const Metadata& meta) {
  const char* n = name.c_str();
  if (::fchownat(dirfd, n, meta.uid, meta.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return Error::FromErrno("chown " + name);
  }
  // After chown, which clears setuid/setgid bits.
  if (!is_symlink && ::fchmodat(dirfd, n, meta.mode & 07777, 0) != 0) {
    return Error::FromErrno("chmod " + name);
  }
  if (!meta.xattrs.empty()) {
    int fd = ::openat(dirfd, n, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Error::FromErrno("open " + name);
    UniqueFd guard(fd);
    for (const auto& [key, value] : meta.xattrs) {
      // Symlinks take only trusted.* / security.* xattrs (the kernel refuses user.*).
      if (::setxattr(ProcFdPath(fd).c_str(), key.c_str(), value.data(), value.size(), 0) != 0 &&
          !(is_symlink && errno == EPERM)) {
        return Error::FromErrno("set xattr " + key + " on " + name);
      }
    }
  }
  struct timespec times[2] = {meta.atime, meta.mtime};
  if (::utimensat(dirfd, n, times, AT_SYMLINK_NOFOLLOW) != 0) {
    return Error::FromErrno("set times of " + name);
  }
  return Ok();
}

Result<std::vector<std::pair<std::string, std::string>>> ReadXattrs(int path_fd) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string proc = ProcFdPath(path_fd);
  ssize_t n = ::listxattr(proc.c_str(), nullptr, 0);
  if (n < 0) {
    if (errno == ENOTSUP) return out;
    return Error::FromErrno("list xattrs");
  }
  std::string names(static_cast<size_t>(n), '\0');
  n = ::listxattr(proc.c_str(), names.data(), names.size());
  if (n < 0) return Error::FromErrno("list xattrs");
  names.resize(static_cast<size_t>(n));
  for (size_t pos = 0; pos < names.size();) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    ssize_t len = ::getxattr(proc.c_str(), name.c_str(), nullptr, 0);
    if (len < 0) continue;
    std::string value(static_cast<size_t>(len), '\0');
    len = ::getxattr(proc.c_str(), name.c_str(), value.data(), value.size());
    if (len < 0) continue;
    value.resize(static_cast<size_t>(len));
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

}  // namespace strata::fuse
