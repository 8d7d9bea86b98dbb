#include "fuse/union_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/sendfile.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>

#include "common/fs.h"
#include "fuse/entry_stat.h"
#include "fuse/whiteout.h"
#include "storage/schema.h"

namespace strata::fuse {

using storage::schema::ParentPath;

namespace {

// The parent of path (not "/"), as ParentPath, without a copy.
std::string_view ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? std::string_view("/") : std::string_view(path).substr(0, slash);
}

bool IsUnder(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

}  // namespace

bool UnionRoot::Node::is_dir() const {
  if (upper) return S_ISDIR(upper->st_mode);
  return lower && lower->entry.type == EntryType::kDirectory;
}

mode_t UnionRoot::Node::type() const {
  if (upper) return upper->st_mode & S_IFMT;
  return lower ? TypeBits(lower->entry.type) : 0;
}

UnionRoot::UnionRoot(UnionRootOptions options)
    : lower_(std::move(options.lower)), statfs_dir_(std::move(options.statfs_dir)) {}

UnionRoot::~UnionRoot() = default;

Result<std::unique_ptr<UnionRoot>> UnionRoot::Open(UnionRootOptions options) {
  std::string upper_dir = options.upper_dir, work_dir = options.work_dir;
  std::unique_ptr<UnionRoot> root(new UnionRoot(std::move(options)));
  if (!root->lower_) root->lower_ = MakeEmptyLower();
  if (!upper_dir.empty()) {
    ASSIGN_OR_RETURN(root->upper_, Upper::Open(upper_dir, work_dir));
    ASSIGN_OR_RETURN(UniqueFd dir,
                     strata::OpenFile(upper_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    root->copy_up_syncs_ = std::make_unique<DeferredSync>(std::move(dir), upper_dir);
    if (root->statfs_dir_.empty()) root->statfs_dir_ = upper_dir;
  }
  return root;
}

Status UnionRoot::FlushCopyUps() {
  return copy_up_syncs_ ? copy_up_syncs_->Flush() : Ok();
}

Status UnionRoot::RequireWritable() const {
  if (upper_ == nullptr) return Error(EROFS, "read-only image view");
  return Ok();
}

void UnionRoot::ForgetDirState(const std::string& path) {
  for (auto it = lower_below_.begin(); it != lower_below_.end();) {
    if (it->first == path || IsUnder(it->first, path)) {
      it = lower_below_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<bool> UnionRoot::LowerHas(const std::string& path) {
  ASSIGN_OR_RETURN(bool below, LowerBelow(ParentPath(path)));
  if (!below) return false;
  ASSIGN_OR_RETURN(auto lower, lower_->Lookup(path));
  return lower.has_value();
}

Result<bool> UnionRoot::LowerBelow(std::string_view dir_view) {
  if (auto it = lower_below_.find(dir_view); it != lower_below_.end()) return it->second;
  const std::string dir(dir_view);
  bool below = false;
  std::optional<struct stat> upper;
  if (upper_) {
    ASSIGN_OR_RETURN(upper, upper_->Stat(dir));
  }
  bool parent_ok = dir == "/";
  if (!parent_ok) {
    ASSIGN_OR_RETURN(parent_ok, LowerBelow(ParentPath(dir)));
  }
  if (parent_ok && !(upper && IsWhiteout(*upper)) && (!upper || S_ISDIR(upper->st_mode))) {
    bool opaque = false;
    if (upper) {
      ASSIGN_OR_RETURN(UniqueFd fd, upper_->OpenDir(dir));
      ASSIGN_OR_RETURN(opaque, IsOpaqueDir(fd.get()));
    }
    if (!opaque) {
      if (dir == "/") {
        below = true;
      } else {
        ASSIGN_OR_RETURN(auto lower, lower_->Lookup(dir));
        below = lower && lower->entry.type == EntryType::kDirectory;
      }
    }
  }
  lower_below_[dir] = below;
  return below;
}

Result<UnionRoot::Node> UnionRoot::Resolve(const std::string& path) {
  Node node;
  if (path == "/") {
    node.exists = true;
    if (upper_) {
      ASSIGN_OR_RETURN(node.upper, upper_->Stat("/"));
    }
    ASSIGN_OR_RETURN(node.lower, lower_->Lookup("/"));
    if (!node.lower) {
      storage::ViewEntry root;
      root.entry.type = EntryType::kDirectory;
      root.entry.mode = 0755;
      root.nlink = 2;
      node.lower = root;
    }
    ASSIGN_OR_RETURN(node.lower_below, LowerBelow("/"));
    return node;
  }
  ASSIGN_OR_RETURN(bool parent_below, LowerBelow(ParentOf(path)));
  std::optional<struct stat> upper;
  if (upper_) {
    ASSIGN_OR_RETURN(upper, upper_->Stat(path));
  }
  if (upper && IsWhiteout(*upper)) {
    node.whiteout = true;
    return node;
  }
  if (parent_below) {
    ASSIGN_OR_RETURN(node.lower, lower_->Lookup(path));
  }
  if (upper) {
    node.exists = true;
    node.upper = upper;
    // Merged: an upper directory over a lower one, not opaque. Otherwise the
    // lower entry is hidden, and the upper one is a file of its own (with an
    // identity of its own).
    bool merged = false;
    if (S_ISDIR(upper->st_mode) && node.lower &&
        node.lower->entry.type == EntryType::kDirectory) {
      ASSIGN_OR_RETURN(merged, LowerBelow(path));
    }
    if (!merged) node.lower.reset();
    node.lower_below = merged;
    return node;
  }
  if (node.lower) {
    node.exists = true;
    node.lower_below = node.lower->entry.type == EntryType::kDirectory;
  }
  return node;
}

std::string UnionRoot::LowerKey(const std::string& path, const storage::ViewEntry& v) const {
  const std::string& group =
      v.entry.type == EntryType::kDirectory ? path : v.entry.HardlinkGroup(path);
  return "L" + std::to_string(v.layer) + ":" + group;
}

uint64_t UnionRoot::InoForKey(const std::string& key) {
  // try_emplace: no node is made (and freed) when the key is known.
  auto [it, inserted] = inos_.try_emplace(key, next_ino_);
  if (inserted) ++next_ino_;
  return it->second;
}

uint64_t UnionRoot::InoFor(const std::string& path, const Node& node) {
  if (path == "/") return 1;
  if (node.lower) return InoForKey(LowerKey(path, *node.lower));
  return InoForKey("U" + std::to_string(node.upper->st_ino));
}

struct stat UnionRoot::StatOf(const std::string& path, const Node& node) {
  struct stat st {};
  if (node.upper) {
    st = *node.upper;
    // As overlayfs: the link count of a merged directory is not known
    // cheaply, and 1 says so (tools then do not count on it).
    if (S_ISDIR(st.st_mode) && node.lower) st.st_nlink = 1;
  } else {
    const Entry& e = node.lower->entry;
    st.st_mode = TypeBits(e.type) | (e.mode & 07777);
    st.st_nlink = e.type == EntryType::kDirectory ? node.lower->nlink
                                                  : LowerLinkCount(path, *node.lower);
    st.st_uid = e.uid;
    st.st_gid = e.gid;
    st.st_size = static_cast<off_t>(e.type == EntryType::kSymlink ? e.link_target.size() : e.size);
    st.st_blksize = 4096;
    st.st_blocks = static_cast<blkcnt_t>((e.size + 511) / 512);
    if (e.type == EntryType::kCharDevice || e.type == EntryType::kBlockDevice) {
      st.st_rdev = makedev(e.rdev_major, e.rdev_minor);
    }
    st.st_mtim = {e.mtime_sec, static_cast<long>(e.mtime_nsec)};
    st.st_atim = st.st_mtim;
    st.st_ctim = st.st_mtim;
  }
  st.st_ino = InoFor(path, node);
  return st;
}

uint32_t UnionRoot::LowerLinkCount(const std::string& path, const storage::ViewEntry& v) {
  if (v.nlink <= 1 || upper_ == nullptr) return v.nlink;
  // Names of the group deleted or copied up no longer count.
  auto names = HardlinkNames(path, v);
  if (!names.ok()) return v.nlink;
  uint32_t count = 0;
  const std::string key = LowerKey(path, v);
  for (const auto& name : *names) {
    auto other = name == path ? Result<Node>(Node()) : Resolve(name);
    if (name == path || (other.ok() && other->exists && !other->upper && other->lower &&
                         LowerKey(name, *other->lower) == key)) {
      ++count;
    }
  }
  return count;
}

void UnionRoot::DropUpperIdentity(const struct stat& st) {
  // The host may give the inode number to a new file; it must not inherit
  // this file's union inode number.
  if (S_ISDIR(st.st_mode) || st.st_nlink <= 1) inos_.erase("U" + std::to_string(st.st_ino));
}

Result<struct stat> UnionRoot::Stat(const std::string& path) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  if (!node.exists) return Errno(ENOENT, path);
  return StatOf(path, node);
}

Result<std::vector<DirEntry>> UnionRoot::ReadDir(const std::string& path) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  if (!node.exists) return Errno(ENOENT, path);
  if (!node.is_dir()) return Errno(ENOTDIR, path);
  std::map<std::string, DirEntry> entries;
  std::set<std::string> hidden;
  const std::string prefix = path == "/" ? "/" : path + "/";
  if (node.upper) {
    RETURN_IF_ERROR(upper_->ForEachChild(path, [&](const std::string& name,
                                                   const struct stat& st) -> Status {
      if (IsWhiteout(st)) {
        hidden.insert(name);
        return Ok();
      }
      Node child;
      child.exists = true;
      child.upper = st;
      if (S_ISDIR(st.st_mode) && node.lower_below) {
        ASSIGN_OR_RETURN(auto lower, lower_->Lookup(prefix + name));
        if (lower && lower->entry.type == EntryType::kDirectory) child.lower = lower;
      }
      entries[name] = DirEntry{name, st.st_mode & S_IFMT, InoFor(prefix + name, child)};
      return Ok();
    }));
  }
  if (node.lower_below) {
    RETURN_IF_ERROR(lower_->List(path, [&](std::string_view name, const storage::ViewEntry& v) {
      std::string n(name);
      if (hidden.count(n) || entries.count(n)) return Ok();
      entries[n] = DirEntry{n, TypeBits(v.entry.type), InoForKey(LowerKey(prefix + n, v))};
      return Ok();
    }));
  }
  std::vector<DirEntry> out;
  out.reserve(entries.size());
  for (auto& [name, e] : entries) out.push_back(std::move(e));
  return out;
}

Result<std::string> UnionRoot::ReadLink(const std::string& path) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  if (!node.exists) return Errno(ENOENT, path);
  if (node.type() != S_IFLNK) return Errno(EINVAL, path);
  if (!node.upper) return node.lower->entry.link_target;
  auto [parent, name] = SplitPath(path);
  ASSIGN_OR_RETURN(UniqueFd dir, upper_->OpenDir(parent));
  char buf[PATH_MAX + 1];
  ssize_t n = ::readlinkat(dir.get(), name.c_str(), buf, sizeof buf);
  if (n < 0) return Error::FromErrno("readlink " + path);
  return std::string(buf, static_cast<size_t>(n));
}

Result<OpenedFile> UnionRoot::OpenFile(const std::string& path, int flags,
                                       std::optional<uint64_t> ino) {
  bool write = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
  if (!write && ino) {
    // Still lower-only (a copy-up removes it before the copy shows).
    if (UniqueFd fd = lower_files_.Dup(*ino)) return OpenedFile{std::move(fd), true};
  }
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  if (!node.exists) return Errno(ENOENT, path);
  // Only what an open of an existing file means; the kernel passes more
  // (e.g. FMODE_EXEC on exec) that openat2 refuses.
  flags &= O_ACCMODE | O_APPEND | O_TRUNC | O_DIRECT | O_SYNC | O_DSYNC | O_NOATIME | O_NONBLOCK |
           O_LARGEFILE;
  if (write) {
    RETURN_IF_ERROR(RequireWritable());
    if (node.is_dir()) return Errno(EISDIR, path);
    RETURN_IF_ERROR(CopyUpLocked(path, node));
  } else if (!node.upper) {
    if (node.lower->entry.type != EntryType::kRegular) {
      // Directories are read through ReadDir; special files never reach here.
      return Errno(node.is_dir() ? EISDIR : ENXIO, path);
    }
    ASSIGN_OR_RETURN(UniqueFd fd, lower_->OpenContent(node.lower->entry));
    lower_files_.Add(InoFor(path, node), fd.get());
    return OpenedFile{std::move(fd), true};
  }
  ASSIGN_OR_RETURN(UniqueFd fd, upper_->OpenAt(path, flags));
  return OpenedFile{std::move(fd), false};
}

Status UnionRoot::EnsureUpperDir(const std::string& dir) {
  if (dir == "/") return Ok();
  ASSIGN_OR_RETURN(Node node, Resolve(dir));
  if (!node.exists) return Errno(ENOENT, dir);
  if (!node.is_dir()) return Errno(ENOTDIR, dir);
  return CopyUpLocked(dir, node);
}

Status UnionRoot::Install(const std::string& staged, const std::string& path,
                          bool replace_whiteout, bool make_opaque) {
  auto [parent, name] = SplitPath(path);
  ASSIGN_OR_RETURN(UniqueFd dir, upper_->OpenDir(parent));
  int work = upper_->work_fd();
  if (make_opaque) {
    int fd = ::openat(work, staged.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Error::FromErrno("open staged " + staged);
    UniqueFd guard(fd);
    RETURN_IF_ERROR(SetOpaque(fd));
  }
  struct stat st;
  if (::fstatat(work, staged.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return Error::FromErrno("stat staged " + staged);
  }
  if (replace_whiteout && S_ISDIR(st.st_mode)) {
    // A directory cannot be renamed over a whiteout: swap them, then drop
    // the whiteout now in work/.
    if (::renameat2(work, staged.c_str(), dir.get(), name.c_str(), RENAME_EXCHANGE) != 0) {
      return Error::FromErrno("install " + path);
    }
    ::unlinkat(work, staged.c_str(), 0);
    return Ok();
  }
  unsigned flags = replace_whiteout ? 0 : RENAME_NOREPLACE;
  if (::renameat2(work, staged.c_str(), dir.get(), name.c_str(), flags) != 0) {
    Error err = Error::FromErrno("install " + path);
    (void)upper_->RemoveInWork(staged);
    return err;
  }
  return Ok();
}

Status UnionRoot::MakeEntry(const std::string& path, const Node& node, const Owner& owner,
                            std::optional<mode_t> mode,
                            const std::function<Status(int dirfd, const char* name)>& make) {
  if (node.exists) return Errno(EEXIST, path);
  RETURN_IF_ERROR(EnsureUpperDir(ParentPath(path)));
  // Over a whiteout, build it in work/ and swap it in, so that the lower
  // entry never shows; elsewhere make it in place (creation is exclusive).
  std::string staged;
  UniqueFd parent_fd;
  int dirfd;
  const char* name;
  auto [parent, base] = SplitPath(path);
  if (node.whiteout) {
    staged = upper_->TempName();
    dirfd = upper_->work_fd();
    name = staged.c_str();
  } else {
    ASSIGN_OR_RETURN(parent_fd, upper_->OpenDir(parent));
    dirfd = parent_fd.get();
    name = base.c_str();
  }
  RETURN_IF_ERROR(make(dirfd, name));
  Status owned;
  if (::fchownat(dirfd, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) != 0 ||
      (mode && ::fchmodat(dirfd, name, *mode & 07777, 0) != 0)) {
    owned = Error::FromErrno("set owner of " + path);
  }
  if (!owned.ok()) {
    if (node.whiteout) {
      (void)upper_->RemoveInWork(staged);
    } else {
      struct stat st;
      bool is_dir = ::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
      ::unlinkat(dirfd, name, is_dir ? AT_REMOVEDIR : 0);
    }
    return owned;
  }
  if (!node.whiteout) return Ok();
  struct stat st;
  bool is_dir = ::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
  // A new directory over a whiteout must hide what the lower had there.
  return Install(staged, path, true, is_dir);
}

Result<OpenedFile> UnionRoot::Create(const std::string& path, mode_t mode, int flags,
                                     const Owner& owner) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireWritable());
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  int open_flags = (flags & (O_ACCMODE | O_APPEND | O_DIRECT | O_SYNC | O_DSYNC | O_NOATIME |
                             O_NONBLOCK | O_LARGEFILE)) |
                   O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd file;
  RETURN_IF_ERROR(MakeEntry(path, node, owner, mode, [&](int dirfd, const char* name) -> Status {
    int fd = ::openat(dirfd, name, open_flags, 0600);
    if (fd < 0) return Error::FromErrno("create " + path);
    file.reset(fd);
    return Ok();
  }));
  return OpenedFile{std::move(file), false};
}

Status UnionRoot::Mkdir(const std::string& path, mode_t mode, const Owner& owner) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireWritable());
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  RETURN_IF_ERROR(MakeEntry(path, node, owner, mode, [&](int dirfd, const char* name) -> Status {
    if (::mkdirat(dirfd, name, 0700) != 0) return Error::FromErrno("mkdir " + path);
    return Ok();
  }));
  lower_below_[path] = false;
  return Ok();
}

Status UnionRoot::Mknod(const std::string& path, mode_t mode, dev_t rdev, const Owner& owner) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireWritable());
  if (S_ISCHR(mode) && rdev == 0) {
    return Errno(EPERM, path + ": a 0/0 character device is a whiteout");
  }
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  return MakeEntry(path, node, owner, mode, [&](int dirfd, const char* name) -> Status {
    if (::mknodat(dirfd, name, (mode & S_IFMT) | 0600, rdev) != 0) {
      return Error::FromErrno("mknod " + path);
    }
    return Ok();
  });
}

Status UnionRoot::Symlink(const std::string& target, const std::string& path,
                          const Owner& owner) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireWritable());
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  return MakeEntry(path, node, owner, std::nullopt, [&](int dirfd, const char* name) -> Status {
    if (::symlinkat(target.c_str(), dirfd, name) != 0) return Error::FromErrno("symlink " + path);
    return Ok();
  });
}

Status UnionRoot::Link(const std::string& existing, const std::string& path) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireWritable());
  ASSIGN_OR_RETURN(Node src, Resolve(existing));
  if (!src.exists) return Errno(ENOENT, existing);
  if (src.is_dir()) return Errno(EPERM, existing);
  ASSIGN_OR_RETURN(Node dst, Resolve(path));
  if (dst.exists) return Errno(EEXIST, path);
  RETURN_IF_ERROR(CopyUpLocked(existing, src));
  RETURN_IF_ERROR(EnsureUpperDir(ParentPath(path)));
  auto [sparent, sname] = SplitPath(existing);
  ASSIGN_OR_RETURN(UniqueFd sdir, upper_->OpenDir(sparent));
  std::string staged = upper_->TempName();
  if (::linkat(sdir.get(), sname.c_str(), upper_->work_fd(), staged.c_str(), 0) != 0) {
    return Error::FromErrno("link " + path);
  }
  return Install(staged, path, dst.whiteout, false);
}

Status UnionRoot::Whiteout(const std::string& path) {
  auto [parent, name] = SplitPath(path);
  ASSIGN_OR_RETURN(UniqueFd dir, upper_->OpenDir(parent));
  std::string staged = upper_->TempName();
  int work = upper_->work_fd();
  RETURN_IF_ERROR(MakeWhiteout(work, staged.c_str()));
  struct stat st;
  bool present = ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (present && S_ISDIR(st.st_mode)) {
    // Swap the directory out atomically, then remove it from work/.
    if (::renameat2(work, staged.c_str(), dir.get(), name.c_str(), RENAME_EXCHANGE) != 0) {
      return Error::FromErrno("whiteout " + path);
    }
    return upper_->RemoveInWork(staged);
  }
  if (::renameat2(work, staged.c_str(), dir.get(), name.c_str(), present ? 0 : RENAME_NOREPLACE) !=
      0) {
    Error err = Error::FromErrno("whiteout " + path);
    ::unlinkat(work, staged.c_str(), 0);
    return err;
  }
  return Ok();
}

Status UnionRoot::Unlink(const std::string& path) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireWritable());
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  if (!node.exists) return Errno(ENOENT, path);
  if (node.is_dir()) return Errno(EISDIR, path);
  RETURN_IF_ERROR(EnsureUpperDir(ParentPath(path)));
  ASSIGN_OR_RETURN(bool lower_here, LowerHas(path));
  if (node.upper) DropUpperIdentity(*node.upper);
  if (lower_here) return Whiteout(path);
  auto [dirpath, name] = SplitPath(path);
  ASSIGN_OR_RETURN(UniqueFd dir, upper_->OpenDir(dirpath));
  if (::unlinkat(dir.get(), name.c_str(), 0) != 0) return Error::FromErrno("unlink " + path);
  return Ok();
}

Result<bool> UnionRoot::IsEmptyDir(const std::string& path, const Node& node) {
  // Upper entries other than whiteouts, then lower children not whited out.
  std::set<std::string> hidden;
  if (node.upper) {
    Status walked = upper_->ForEachChild(path, [&](const std::string& name,
                                                   const struct stat& st) -> Status {
      if (!IsWhiteout(st)) return Error(ENOTEMPTY, path);  // stop at the first real entry
      hidden.insert(name);
      return Ok();
    });
    if (!walked.ok()) {
      if (walked.error().code() == ENOTEMPTY) return false;
      return std::move(walked).error();
    }
  }
  if (!node.lower_below) return true;
  bool empty = true;
  Status st = lower_->List(path, [&](std::string_view name, const storage::ViewEntry&) -> Status {
    if (!hidden.count(std::string(name))) {
      empty = false;
      return Error(ECANCELED, "");  // stop at the first visible child
    }
    return Ok();
  });
  if (!st.ok() && st.error().code() != ECANCELED) return std::move(st).error();
  return empty;
}

Status UnionRoot::Rmdir(const std::string& path) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireWritable());
  if (path == "/") return Errno(EBUSY, path);
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  if (!node.exists) return Errno(ENOENT, path);
  if (!node.is_dir()) return Errno(ENOTDIR, path);
  ASSIGN_OR_RETURN(bool empty, IsEmptyDir(path, node));
  if (!empty) return Errno(ENOTEMPTY, path);
  RETURN_IF_ERROR(EnsureUpperDir(ParentPath(path)));
  ASSIGN_OR_RETURN(bool lower_here, LowerHas(path));
  ForgetDirState(path);
  if (node.upper) DropUpperIdentity(*node.upper);
  if (lower_here) return Whiteout(path);
  // Upper only: move it to work/ in one step, then remove it there (it may
  // hold whiteouts of lower children that an opaque marker made moot).
  auto [dirpath, name] = SplitPath(path);
  ASSIGN_OR_RETURN(UniqueFd dir, upper_->OpenDir(dirpath));
  std::string staged = upper_->TempName();
  if (::renameat(dir.get(), name.c_str(), upper_->work_fd(), staged.c_str()) != 0) {
    return Error::FromErrno("rmdir " + path);
  }
  return upper_->RemoveInWork(staged);
}

Status UnionRoot::ClearWhiteouts(const std::string& dir_path) {
  std::vector<std::string> names;
  RETURN_IF_ERROR(upper_->ForEachChild(dir_path, [&](const std::string& name,
                                                     const struct stat& st) {
    if (IsWhiteout(st)) names.push_back(name);
    return Ok();
  }));
  ASSIGN_OR_RETURN(UniqueFd dir, upper_->OpenDir(dir_path));
  for (const auto& name : names) {
    if (::unlinkat(dir.get(), name.c_str(), 0) != 0) {
      return Error::FromErrno("remove whiteout " + name);
    }
  }
  return Ok();
}

Status UnionRoot::Rename(const std::string& from, const std::string& to, unsigned flags) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireWritable());
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return Errno(EINVAL, "rename flags");
  if (from == "/" || to == "/") return Errno(EBUSY, "rename of the root");
  if (IsUnder(to, from)) return Errno(EINVAL, "rename " + from + " into itself");
  const bool exchange = flags & RENAME_EXCHANGE;
  if (exchange && IsUnder(from, to)) return Errno(EINVAL, "rename " + to + " into itself");
  ASSIGN_OR_RETURN(Node src, Resolve(from));
  if (!src.exists) return Errno(ENOENT, from);
  ASSIGN_OR_RETURN(Node dst, Resolve(to));
  if (from == to) return Ok();
  if ((flags & RENAME_NOREPLACE) && dst.exists) return Errno(EEXIST, to);
  if (exchange && !dst.exists) return Errno(ENOENT, to);
  if (!exchange && dst.exists) {
    if (src.is_dir() && !dst.is_dir()) return Errno(ENOTDIR, to);
    if (!src.is_dir() && dst.is_dir()) return Errno(EISDIR, to);
    if (dst.is_dir()) {
      ASSIGN_OR_RETURN(bool empty, IsEmptyDir(to, dst));
      if (!empty) return Errno(ENOTEMPTY, to);
    }
  }
  // Make each moving entry self-contained in the upper. A directory with
  // lower content is copied up whole and made opaque, so at its new place it
  // shows exactly its own children.
  auto prepare = [&](const std::string& path, const Node& node) -> Status {
    if (node.is_dir()) {
      if (node.lower) RETURN_IF_ERROR(CopyUpTree(path));
      ASSIGN_OR_RETURN(UniqueFd fd, upper_->OpenDir(path));
      RETURN_IF_ERROR(SetOpaque(fd.get()));
      ForgetDirState(path);
      return Ok();
    }
    return CopyUpLocked(path, node);
  };
  RETURN_IF_ERROR(prepare(from, src));
  if (exchange) RETURN_IF_ERROR(prepare(to, dst));
  RETURN_IF_ERROR(EnsureUpperDir(ParentPath(to)));

  bool lower_at_from = false;
  if (!exchange) {
    ASSIGN_OR_RETURN(lower_at_from, LowerHas(from));
  }
  auto [fdir_path, fname] = SplitPath(from);
  auto [tdir_path, tname] = SplitPath(to);
  ASSIGN_OR_RETURN(UniqueFd fdir, upper_->OpenDir(fdir_path));
  ASSIGN_OR_RETURN(UniqueFd tdir, upper_->OpenDir(tdir_path));
  if (!exchange) {
    struct stat st;
    bool upper_at_to = ::fstatat(tdir.get(), tname.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (upper_at_to && src.is_dir()) {
      // A directory replaces an empty directory or a whiteout: make room.
      if (IsWhiteout(st)) {
        if (::unlinkat(tdir.get(), tname.c_str(), 0) != 0) {
          return Error::FromErrno("rename over whiteout " + to);
        }
      } else {
        RETURN_IF_ERROR(ClearWhiteouts(to));
      }
    }
  }
  if (!exchange && dst.upper) DropUpperIdentity(*dst.upper);
  unsigned kernel_flags = exchange ? RENAME_EXCHANGE : (lower_at_from ? RENAME_WHITEOUT : 0);
  if (::renameat2(fdir.get(), fname.c_str(), tdir.get(), tname.c_str(), kernel_flags) != 0) {
    return Error::FromErrno("rename " + from + " to " + to);
  }
  ForgetDirState(from);
  ForgetDirState(to);
  return Ok();
}

Result<struct stat> UnionRoot::SetAttr(const std::string& path, const SetAttrRequest& req) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireWritable());
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  if (!node.exists) return Errno(ENOENT, path);
  RETURN_IF_ERROR(CopyUpLocked(path, node));
  UniqueFd dir;
  std::string name = ".";
  if (path == "/") {
    ASSIGN_OR_RETURN(dir, upper_->OpenDir("/"));
  } else {
    auto [parent, base] = SplitPath(path);
    ASSIGN_OR_RETURN(dir, upper_->OpenDir(parent));
    name = base;
  }
  if (req.size) {
    ASSIGN_OR_RETURN(UniqueFd fd, upper_->OpenAt(path, O_WRONLY));
    if (::ftruncate(fd.get(), *req.size) != 0) return Error::FromErrno("truncate " + path);
  }
  if (req.uid || req.gid) {
    if (::fchownat(dir.get(), name.c_str(), req.uid ? *req.uid : static_cast<uid_t>(-1),
                   req.gid ? *req.gid : static_cast<gid_t>(-1), AT_SYMLINK_NOFOLLOW) != 0) {
      return Error::FromErrno("chown " + path);
    }
  }
  if (req.mode) {
    struct stat st;
    if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return Error::FromErrno("stat " + path);
    }
    if (!S_ISLNK(st.st_mode) && ::fchmodat(dir.get(), name.c_str(), *req.mode & 07777, 0) != 0) {
      return Error::FromErrno("chmod " + path);
    }
  }
  if (req.atime || req.mtime) {
    struct timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    if (req.atime) times[0] = *req.atime;
    if (req.mtime) times[1] = *req.mtime;
    if (::utimensat(dir.get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return Error::FromErrno("set times of " + path);
    }
  }
  ASSIGN_OR_RETURN(Node after, Resolve(path));
  return StatOf(path, after);
}

Result<std::string> UnionRoot::GetXattr(const std::string& path, const std::string& name) {
  std::lock_guard lock(mu_);
  if (IsOverlayXattr(name)) return Errno(ENODATA, name);
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  if (!node.exists) return Errno(ENOENT, path);
  if (!node.upper) {
    for (const auto& [key, value] : node.lower->entry.xattrs) {
      if (key == name) return value;
    }
    return Errno(ENODATA, name);
  }
  ASSIGN_OR_RETURN(UniqueFd fd, upper_->OpenAt(path, O_PATH));
  std::string proc = ProcFdPath(fd.get());
  ssize_t n = ::getxattr(proc.c_str(), name.c_str(), nullptr, 0);
  if (n < 0) return Errno(errno, name);
  std::string value(static_cast<size_t>(n), '\0');
  n = ::getxattr(proc.c_str(), name.c_str(), value.data(), value.size());
  if (n < 0) return Errno(errno, name);
  value.resize(static_cast<size_t>(n));
  return value;
}

Result<std::vector<std::string>> UnionRoot::ListXattr(const std::string& path) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  if (!node.exists) return Errno(ENOENT, path);
  std::vector<std::string> names;
  if (!node.upper) {
    for (const auto& [key, value] : node.lower->entry.xattrs) names.push_back(key);
    return names;
  }
  ASSIGN_OR_RETURN(UniqueFd fd, upper_->OpenAt(path, O_PATH));
  ASSIGN_OR_RETURN(auto xattrs, ReadXattrs(fd.get()));
  for (auto& [key, value] : xattrs) {
    if (!IsOverlayXattr(key)) names.push_back(std::move(key));
  }
  return names;
}

Status UnionRoot::SetXattr(const std::string& path, const std::string& name,
                           const std::string& value, int flags) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireWritable());
  if (IsOverlayXattr(name)) return Errno(EPERM, name);
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  if (!node.exists) return Errno(ENOENT, path);
  RETURN_IF_ERROR(CopyUpLocked(path, node));
  ASSIGN_OR_RETURN(UniqueFd fd, upper_->OpenAt(path, O_PATH));
  if (::setxattr(ProcFdPath(fd.get()).c_str(), name.c_str(), value.data(), value.size(),
                 flags) != 0) {
    return Errno(errno, "setxattr " + name);
  }
  return Ok();
}

Status UnionRoot::RemoveXattr(const std::string& path, const std::string& name) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireWritable());
  if (IsOverlayXattr(name)) return Errno(EPERM, name);
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  if (!node.exists) return Errno(ENOENT, path);
  RETURN_IF_ERROR(CopyUpLocked(path, node));
  ASSIGN_OR_RETURN(UniqueFd fd, upper_->OpenAt(path, O_PATH));
  if (::removexattr(ProcFdPath(fd.get()).c_str(), name.c_str()) != 0) {
    return Errno(errno, "removexattr " + name);
  }
  return Ok();
}

Result<struct statvfs> UnionRoot::StatFs() {
  struct statvfs st;
  if (::statvfs(statfs_dir_.empty() ? "/" : statfs_dir_.c_str(), &st) != 0) {
    return Error::FromErrno("statfs " + statfs_dir_);
  }
  return st;
}

}  // namespace strata::fuse
