// Copy-up: how a lower entry becomes an upper one before it changes.
//
// Each entry is built in work/ (content, then owner, mode, xattrs, times)
// and renamed into the upper in one step, so a crash never leaves a
// half-copied file visible (made durable in the background:
// deferred_sync.h); the copy keeps the lower file's inode number and
// its hard-link group (the other names become links to the copy).
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fuse/entry_stat.h"
#include "fuse/union_root.h"
#include "storage/schema.h"

namespace strata::fuse {

using storage::schema::ParentPath;

namespace {

// Copies a whole file's content between descriptors, in the kernel, from
// offset 0 of from (whose position, maybe shared with a dup, stays) to to's
// position.
Status CopyContent(int from, int to, uint64_t size) {
  uint64_t left = size;
  loff_t in = 0;
  while (left > 0) {
    ssize_t n = ::copy_file_range(from, &in, to, nullptr, left, 0);
    if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
      off_t at = in;
      n = ::sendfile(to, from, &at, left);
      if (n > 0) in = at;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("copy up content");
    }
    if (n == 0) return Error::Corrupt("copy up: lower content shorter than its entry");
    left -= static_cast<uint64_t>(n);
  }
  return Ok();
}

}  // namespace

Status UnionRoot::CopyUp(const std::string& path) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireWritable());
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  if (!node.exists) return Errno(ENOENT, path);
  return CopyUpLocked(path, node);
}

Result<UniqueFd> UnionRoot::CopyUpNameless(int lower_fd) {
  RETURN_IF_ERROR(RequireWritable());
  struct stat st;
  if (::fstat(lower_fd, &st) != 0) return Error::FromErrno("copy up a file without a name");
  // A file without a name gets none: O_TMPFILE, on the upper's filesystem.
  UniqueFd fd(::openat(upper_->work_fd(), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, st.st_mode & 07777));
  if (!fd) return Error::FromErrno("copy up a file without a name");
  if (::fchown(fd.get(), st.st_uid, st.st_gid) != 0) {
    return Error::FromErrno("copy up a file without a name");
  }
  RETURN_IF_ERROR(CopyContent(lower_fd, fd.get(), static_cast<uint64_t>(st.st_size)));
  return fd;
}

Status UnionRoot::CopyUpLocked(const std::string& path, const Node& node) {
  if (node.upper) return Ok();
  if (!node.lower) return Errno(ENOENT, path);
  RETURN_IF_ERROR(EnsureUpperDir(ParentPath(path)));
  const storage::ViewEntry& v = *node.lower;
  RETURN_IF_ERROR(CopyUpOne(path, v, path));
  if (v.entry.type == EntryType::kDirectory || v.nlink <= 1) return Ok();
  // Keep the hard-link group: the other names still showing the same lower
  // file become links to the copy.
  ASSIGN_OR_RETURN(auto names, HardlinkNames(path, v));
  auto [sparent, sname] = SplitPath(path);
  for (const auto& other : names) {
    if (other == path) continue;
    ASSIGN_OR_RETURN(Node o, Resolve(other));
    if (!o.exists || o.upper || !o.lower || LowerKey(other, *o.lower) != LowerKey(path, v)) {
      continue;
    }
    RETURN_IF_ERROR(EnsureUpperDir(ParentPath(other)));
    ASSIGN_OR_RETURN(UniqueFd sdir, upper_->OpenDir(sparent));
    std::string staged = upper_->TempName();
    if (::linkat(sdir.get(), sname.c_str(), upper_->work_fd(), staged.c_str(), 0) != 0) {
      return Error::FromErrno("link copy-up of " + other);
    }
    RETURN_IF_ERROR(InstallKeepingParentTimes(staged, other));
  }
  return Ok();
}

Result<std::vector<std::string>> UnionRoot::HardlinkNames(const std::string& path,
                                                          const storage::ViewEntry& v) {
  if (!groups_) {
    groups_.emplace();
    RETURN_IF_ERROR(lower_->ForEach([&](const std::string& p, const storage::ViewEntry& e) {
      if (e.nlink > 1 && e.entry.type != EntryType::kDirectory) (*groups_)[LowerKey(p, e)].push_back(p);
      return Ok();
    }));
  }
  auto it = groups_->find(LowerKey(path, v));
  if (it == groups_->end()) return std::vector<std::string>{};
  return it->second;
}

Status UnionRoot::CopyUpOne(const std::string& path, const storage::ViewEntry& v,
                            const std::string& target) {
  const Entry& e = v.entry;
  std::string staged = upper_->TempName();
  int work = upper_->work_fd();
  const char* name = staged.c_str();
  Status made;
  switch (e.type) {
    case EntryType::kRegular: {
      int fd = ::openat(work, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
      if (fd < 0) return Error::FromErrno("copy up " + path);
      UniqueFd out(fd);
      if (e.has_object()) {
        ASSIGN_OR_RETURN(UniqueFd in, lower_->OpenContent(e));
        made = CopyContent(in.get(), fd, e.size);
      }
      // Complete before it becomes visible, so a crash of any process never
      // shows a short file; made durable soon after, in the background.
      break;
    }
    case EntryType::kDirectory:
      if (::mkdirat(work, name, 0700) != 0) made = Error::FromErrno("copy up " + path);
      break;
    case EntryType::kSymlink:
      if (::symlinkat(e.link_target.c_str(), work, name) != 0) {
        made = Error::FromErrno("copy up " + path);
      }
      break;
    case EntryType::kCharDevice:
    case EntryType::kBlockDevice:
    case EntryType::kFifo:
    case EntryType::kSocket:
      if (::mknodat(work, name, TypeBits(e.type) | 0600, makedev(e.rdev_major, e.rdev_minor)) != 0) {
        made = Error::FromErrno("copy up " + path);
      }
      break;
    case EntryType::kWhiteout:
      return Errno(EINVAL, "copy up of a whiteout");
  }
  if (made.ok()) {
    Metadata meta;
    meta.mode = e.mode;
    meta.uid = e.uid;
    meta.gid = e.gid;
    meta.mtime = {e.mtime_sec, static_cast<long>(e.mtime_nsec)};
    meta.atime = meta.mtime;
    meta.xattrs = e.xattrs;
    made = ApplyMetadata(work, staged, e.type == EntryType::kSymlink, meta);
  }
  if (!made.ok()) {
    (void)upper_->RemoveInWork(staged);
    return std::move(made).error().Context("copy up " + path);
  }
  uint64_t ino = InoForKey(LowerKey(path, v));
  // Opens that come after the copy shows must not get the lower content.
  lower_files_.Remove(ino);
  RETURN_IF_ERROR(InstallKeepingParentTimes(staged, target));
  auto [parent, base] = SplitPath(target);
  ASSIGN_OR_RETURN(UniqueFd parent_fd, upper_->OpenDir(parent));
  if (e.type == EntryType::kDirectory) {
    struct timespec times[2] = {{e.mtime_sec, static_cast<long>(e.mtime_nsec)},
                                {e.mtime_sec, static_cast<long>(e.mtime_nsec)}};
    if (::utimensat(parent_fd.get(), base.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return Error::FromErrno("set times of " + target);
    }
  }
  // The copy keeps the lower file's inode number.
  ASSIGN_OR_RETURN(auto st, upper_->Stat(target));
  if (st) inos_["U" + std::to_string(st->st_ino)] = ino;
  if (e.type == EntryType::kRegular && e.has_object()) copy_up_syncs_->Requested();
  if (FuseStats* stats = stats_.load(std::memory_order_relaxed)) {
    stats->copy_ups.fetch_add(1, std::memory_order_relaxed);
    if (e.type == EntryType::kRegular) {
      stats->copy_up_bytes.fetch_add(e.size, std::memory_order_relaxed);
    }
  }
  return Ok();
}

// Installing changes the parent's times (and a moved directory's own, as its
// ".." changes); a copy-up must not, as in overlayfs.
Status UnionRoot::InstallKeepingParentTimes(const std::string& staged, const std::string& target) {
  ASSIGN_OR_RETURN(UniqueFd parent_fd, upper_->OpenDir(SplitPath(target).first));
  struct stat parent_st;
  if (::fstat(parent_fd.get(), &parent_st) != 0) return Error::FromErrno("stat parent of " + target);
  RETURN_IF_ERROR(Install(staged, target, false, false));
  struct timespec parent_times[2] = {parent_st.st_atim, parent_st.st_mtim};
  if (::utimensat(parent_fd.get(), ".", parent_times, 0) != 0) {
    return Error::FromErrno("restore times of the parent of " + target);
  }
  return Ok();
}

Status UnionRoot::CopyUpTree(const std::string& path) {
  ASSIGN_OR_RETURN(Node node, Resolve(path));
  RETURN_IF_ERROR(CopyUpLocked(path, node));
  if (!node.lower_below && node.upper) return Ok();
  // Children that still come from the lower.
  std::vector<std::pair<std::string, bool>> children;  // (path, is_dir)
  RETURN_IF_ERROR(lower_->List(path, [&](std::string_view name, const storage::ViewEntry& v) {
    children.emplace_back((path == "/" ? "/" : path + "/") + std::string(name),
                          v.entry.type == EntryType::kDirectory);
    return Ok();
  }));
  for (const auto& [child, is_dir] : children) {
    ASSIGN_OR_RETURN(Node c, Resolve(child));
    if (!c.exists || !c.lower) continue;  // whited out, or upper only
    if (c.is_dir()) {
      RETURN_IF_ERROR(CopyUpTree(child));
    } else {
      RETURN_IF_ERROR(CopyUpLocked(child, c));
    }
  }
  return Ok();
}

}  // namespace strata::fuse
