// Upper: a container's writable layer on the host (containers/<id>/upper)
// and its work directory (containers/<id>/work, same filesystem), reached
// only by descriptor-relative calls that never follow symlinks, so nothing
// a container writes into its upper can redirect strata outside it.
//
// Paths are root-relative union paths ("/", "/etc/passwd").
// Thread safety: the methods are safe to call concurrently, but the union
// core serializes metadata changes itself.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::fuse {

class Upper {
 public:
  // Opens (and creates if needed) upper and work; empties work, which holds
  // only debris of interrupted operations.
  static Result<std::unique_ptr<Upper>> Open(const std::string& upper_dir,
                                             const std::string& work_dir);

  // An O_PATH descriptor of the directory at path; ENOENT / ENOTDIR if the
  // path is missing or passes a non-directory (symlinks are not followed).
  Result<UniqueFd> OpenDir(const std::string& path) const;
  // lstat of path; nullopt if it is missing (or below a non-directory).
  Result<std::optional<struct stat>> Stat(const std::string& path) const;
  // Calls fn(name, lstat) for each entry of the directory at path (without
  // "." and ".."); fn's error stops the walk and is returned.
  Status ForEachChild(const std::string& path,
                      const std::function<Status(const std::string& name, const struct stat&)>& fn)
      const;
  // Opens path itself (O_NOFOLLOW) with flags.
  Result<UniqueFd> OpenAt(const std::string& path, int flags, mode_t mode = 0) const;

  int root_fd() const { return root_fd_.get(); }
  int work_fd() const { return work_fd_.get(); }
  const std::string& dir() const { return dir_; }
  // A fresh name in work/ for staging.
  std::string TempName();
  // Removes a staged tree in work/ (after an exchange or a rename away).
  Status RemoveInWork(const std::string& name);

 private:
  Upper() = default;
  std::string dir_, work_dir_;
  UniqueFd root_fd_, work_fd_;
  uint64_t counter_ = 0;
};

// Splits "/a/b/c" into ("/a/b", "c").
std::pair<std::string, std::string> SplitPath(const std::string& path);
// openat2 of rel below dirfd that resolves no symlink and leaves neither
// dirfd's tree nor its mount (-1 and errno on failure); O_CLOEXEC added.
int OpenBeneath(int dirfd, const std::string& rel, uint64_t flags, mode_t mode = 0);
// The relative form for *at calls: "/" -> ".", "/a/b" -> "a/b".
std::string RelPath(const std::string& path);

// Metadata copy helpers used by copy-up (name relative to dirfd, no follow).
struct Metadata {
  mode_t mode = 0;  // permission bits
  uid_t uid = 0;
  gid_t gid = 0;
  struct timespec atime {}, mtime{};
  std::vector<std::pair<std::string, std::string>> xattrs;
};
Status ApplyMetadata(int dirfd, const std::string& name, bool is_symlink, const Metadata& meta);
// The xattrs of a file (through an O_PATH fd; via /proc/self/fd, whose
// magic link reaches the file itself, symlinks included).
Result<std::vector<std::pair<std::string, std::string>>> ReadXattrs(int path_fd);

}  // namespace strata::fuse
