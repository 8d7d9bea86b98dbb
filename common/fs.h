// File-system helpers shared by every component. Every function reports the
// failing path and errno in its Error.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata {

Result<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode = 0644);
// openat2(2) of path below dirfd with resolve (RESOLVE_* of
// <linux/openat2.h>), O_CLOEXEC added; retried while the kernel answers
// EAGAIN (a rename elsewhere raced a RESOLVE_BENEATH or RESOLVE_IN_ROOT
// lookup). The descriptor, or -1 and errno.
int OpenAt2(int dirfd, const std::string& path, uint64_t flags, uint64_t resolve, mode_t mode = 0);
// Opens path as a process whose root is root_fd would: the kernel resolves
// every component, "..", and symlinks (absolute ones too) inside root_fd's
// tree (openat2 RESOLVE_IN_ROOT), so a tree that someone else changes
// meanwhile cannot lead the opener out of it. O_CLOEXEC is added.
Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags);
// The regular file at path inside root_fd's tree (OpenInRoot), opened for
// reading. Its type is checked on an O_PATH descriptor before any open, and
// the file reopened through that descriptor: opening a FIFO there would
// wait for a writer, a device node would be the host's device. Anything
// else: EINVAL, "PATH is not a regular file". st, if given, gets its stat.
Result<UniqueFd> OpenRegularInRoot(int root_fd, const std::string& path, struct stat* st = nullptr);
Result<std::string> ReadFile(const std::string& path);
// Reads the whole of fd from its current offset; EFBIG if it holds more than
// limit bytes.
Result<std::string> ReadAll(int fd, size_t limit = SIZE_MAX);
Status WriteAll(int fd, std::string_view data);
// Reads exactly n bytes, or fewer only at end of file; returns the count read.
Result<size_t> ReadFull(int fd, char* buf, size_t n);
// Writes data to dir/.name.tmp, fsyncs it and renames it over path.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644);
// The same without the fsyncs: readers see the old or the new file whole,
// but a crash may lose the new one. For files rebuilt from durable ones
// (a container's bundle at each start), where two fsyncs per file would be
// most of the cost.
Status ReplaceFile(const std::string& path, std::string_view data, mode_t mode = 0644);
// The names in directory path (without . and ..), sorted; a missing
// directory has none.
Result<std::vector<std::string>> ListDir(const std::string& path);
// mkdir -p.
Status MakeDirs(const std::string& path, mode_t mode = 0755);
// rm -rf; missing is fine. Does not cross into other mounts' contents (uses
// lstat, never follows symlinks). Holds a bounded number of descriptors
// whatever the depth (a subtree deeper than that is first moved up to
// path as .rm-deep-N), so a tree a container made cannot exhaust them.
Status RemoveTree(const std::string& path);
Status FsyncPath(const std::string& path);
bool PathExists(const std::string& path);
std::string JoinPath(std::string_view a, std::string_view b);
// "/proc/self/fd/N": a descriptor as a path, for calls that take only paths
// (xattrs of an O_PATH descriptor, reopening with other flags).
std::string ProcFdPath(int fd);

// A directory made under parent that is removed with its contents on
// destruction unless Keep() was called.
class TempDir {
 public:
  static Result<TempDir> Create(const std::string& parent, std::string_view prefix);
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  void Keep() { path_.clear(); }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace strata
