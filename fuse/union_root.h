// UnionRoot: one root of the union filesystem — an image's read-only view,
// or a container's root: the chain's merged view (Lower) under a writable
// Upper in overlayfs's on-disk format.
//
// This is the plain C++ core: every operation takes root-relative paths and
// returns stat data or an errno, so unit tests drive it without a mount; the
// FUSE adapter maps inodes to paths and replies.
//
// Semantics are overlayfs's: an upper entry hides the lower one; a whiteout
// hides a lower entry; an opaque upper directory hides lower children;
// writing a lower file copies it up first (atomically: staged in work/ and
// renamed in, with content, mode, owner, times, xattrs, and its hard-link
// group); deleting a lower entry leaves a whiteout; renaming a directory
// with lower content copies that directory up whole, so it never fails
// with EXDEV.
//
// Inode numbers (st_ino) are stable for the life of the UnionRoot, distinct
// per file, equal for hard links, and kept across copy-up.
//
// Thread safety: all methods may be called concurrently; metadata
// operations serialize on the root's mutex; I/O on returned fds does not.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "fuse/deferred_sync.h"
#include "fuse/fuse_stats.h"
#include "fuse/lower.h"
#include "fuse/lower_files.h"
#include "fuse/upper.h"

namespace strata::fuse {

struct UnionRootOptions {
  std::unique_ptr<Lower> lower;
  // Empty for a read-only root (an image view).
  std::string upper_dir;
  std::string work_dir;
  // statfs of a read-only root reports this directory's filesystem.
  std::string statfs_dir;
};

struct DirEntry {
  std::string name;
  mode_t type = 0;  // S_IFMT bits
  uint64_t ino = 0;
};

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
};

struct SetAttrRequest {
  std::optional<mode_t> mode;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<off_t> size;
  std::optional<struct timespec> atime;  // tv_nsec may be UTIME_NOW
  std::optional<struct timespec> mtime;
};

struct OpenedFile {
  UniqueFd fd;
  bool lower = false;  // an object file: read-only, never changes
};

class UnionRoot {
 public:
  static Result<std::unique_ptr<UnionRoot>> Open(UnionRootOptions options);
  ~UnionRoot();

  bool read_only() const { return upper_ == nullptr; }

  Result<struct stat> Stat(const std::string& path);
  Result<std::vector<DirEntry>> ReadDir(const std::string& path);
  Result<std::string> ReadLink(const std::string& path);

  // Read-only opens of lower files give the object file; opens for writing
  // (or O_TRUNC) copy up first. O_CREAT is not handled here (see Create).
  // ino, if given, is the file's st_ino as last reported: a read-only open
  // of a lower file opened before is then served without resolving path.
  Result<OpenedFile> OpenFile(const std::string& path, int flags,
                              std::optional<uint64_t> ino = std::nullopt);
  Result<OpenedFile> Create(const std::string& path, mode_t mode, int flags, const Owner& owner);
  Status Mkdir(const std::string& path, mode_t mode, const Owner& owner);
  Status Mknod(const std::string& path, mode_t mode, dev_t rdev, const Owner& owner);
  Status Symlink(const std::string& target, const std::string& path, const Owner& owner);
  Status Link(const std::string& existing, const std::string& path);
  Status Unlink(const std::string& path);
  Status Rmdir(const std::string& path);
  // flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE.
  Status Rename(const std::string& from, const std::string& to, unsigned flags);
  Result<struct stat> SetAttr(const std::string& path, const SetAttrRequest& request);

  Result<std::string> GetXattr(const std::string& path, const std::string& name);
  Result<std::vector<std::string>> ListXattr(const std::string& path);
  Status SetXattr(const std::string& path, const std::string& name, const std::string& value,
                  int flags);
  Status RemoveXattr(const std::string& path, const std::string& name);

  Result<struct statvfs> StatFs();

  // Copies path up (if it is lower-only); for callers that write through an
  // fd they opened read-only.
  Status CopyUp(const std::string& path);

  // A copy of a lower file that lost its last name while open, before its
  // first write: a file without a name on the upper's filesystem.
  Result<UniqueFd> CopyUpNameless(int lower_fd);

  // Makes every copy-up so far durable (they are flushed in the
  // background, deferred_sync.h); for fsync, and before the root goes away.
  Status FlushCopyUps();

  // The kernel no longer knows the file numbered ino (its descriptors
  // cached for opens can go).
  void Forget(uint64_t ino) { lower_files_.Remove(ino); }
  // The root left the session: no open will come by name any more.
  void Unmounted() { lower_files_.Clear(); }

  // Where copy-ups are counted (the FUSE session's stats); set when the root
  // is mounted.
  void CountInto(FuseStats* stats) { stats_.store(stats, std::memory_order_relaxed); }

 private:
  // What a path is in the union.
  struct Node {
    bool exists = false;
    std::optional<struct stat> upper;     // the upper entry (never a whiteout)
    std::optional<storage::ViewEntry> lower;  // the visible lower entry
    bool whiteout = false;  // the upper has a whiteout here
    // For directories: whether lower children show through.
    bool lower_below = false;
    bool is_dir() const;
    mode_t type() const;
  };

  explicit UnionRoot(UnionRootOptions options);
  Result<Node> Resolve(const std::string& path);
  Result<bool> LowerBelow(std::string_view dir);
  // Whether the lower has an entry at path that shows unless the upper
  // hides it (so deleting path needs a whiteout).
  Result<bool> LowerHas(const std::string& path);
  struct stat StatOf(const std::string& path, const Node& node);
  uint64_t InoFor(const std::string& path, const Node& node);
  uint64_t InoForKey(const std::string& key);
  std::string LowerKey(const std::string& path, const storage::ViewEntry& v) const;
  Status RequireWritable() const;
  Result<bool> IsEmptyDir(const std::string& path, const Node& node);
  // A lower file's names still showing it (hard links not deleted or
  // copied up).
  uint32_t LowerLinkCount(const std::string& path, const storage::ViewEntry& v);
  void DropUpperIdentity(const struct stat& st);
  // Names in the lower below dir hidden by the upper (whiteouts).
  Status EnsureUpperDir(const std::string& dir);
  Status CopyUpLocked(const std::string& path, const Node& node);
  Status CopyUpTree(const std::string& path);
  Status CopyUpOne(const std::string& path, const storage::ViewEntry& v,
                   const std::string& target_path);
  Result<std::vector<std::string>> HardlinkNames(const std::string& path,
                                                 const storage::ViewEntry& v);
  // Makes a new entry at path (make creates it as name in dirfd), owned by
  // owner, with mode's permission bits if given.
  Status MakeEntry(const std::string& path, const Node& node, const Owner& owner,
                   std::optional<mode_t> mode,
                   const std::function<Status(int dirfd, const char* name)>& make);
  // Places a staged entry (work/name) at path, replacing a whiteout there.
  Status Install(const std::string& staged, const std::string& path, bool replace_whiteout,
                 bool make_opaque);
  Status InstallKeepingParentTimes(const std::string& staged, const std::string& target);
  Status Whiteout(const std::string& path);
  Status ClearWhiteouts(const std::string& dir);
  void ForgetDirState(const std::string& path);

  std::unique_ptr<Lower> lower_;
  std::unique_ptr<Upper> upper_;
  LowerFiles lower_files_;
  std::unique_ptr<DeferredSync> copy_up_syncs_;  // with an upper
  std::string statfs_dir_;
  std::atomic<FuseStats*> stats_{nullptr};
  std::mutex mu_;
  // Hashes strings and views alike, so that a lookup by a view (a path's
  // parent, on every Stat) builds no string.
  struct PathHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Directories known to show (true) or hide (false) lower children.
  std::unordered_map<std::string, bool, PathHash, std::equal_to<>> lower_below_;  // guarded by mu_
  // st_ino by identity: "L<layer>:<group>" for lower entries, "U<ino>" for
  // upper ones; copy-up maps the new upper identity to the lower ino.
  std::unordered_map<std::string, uint64_t> inos_;  // guarded by mu_
  uint64_t next_ino_ = 2;                           // guarded by mu_
  // Hard-link groups of the lower, loaded at the first copy-up that needs it.
  std::optional<std::map<std::string, std::vector<std::string>>> groups_;  // guarded by mu_
};

}  // namespace strata::fuse
