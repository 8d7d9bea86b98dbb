// The FUSE adapters. Each op decodes its request, calls the UnionRoot of the
// node (or answers for the synthetic top levels), and replies exactly once.
// Locks: the inode table's and a root's are taken inside their own methods
// only; no lock is held across a fuse_reply_*.
#define FUSE_USE_VERSION 312
#include "fuse/fuse_server.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "common/fs.h"
#include "common/log.h"
#include "fuse/entry_stat.h"
#include "fuse/read_ahead.h"
#include "storage/schema.h"

namespace strata::fuse {

namespace {

constexpr size_t kMaxName = 255;

// The op this thread is serving, so that an error reply counts against it.
thread_local FuseOp current_op = FuseOp::kCount;

// Counts one request of an op and its time until the scope ends (after the
// reply).
class OpScope {
 public:
  OpScope(FuseStats& stats, FuseOp op)
      : stats_(stats), op_(op), start_(std::chrono::steady_clock::now()) {
    current_op = op;
  }
  ~OpScope() {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::steady_clock::now() - start_)
                  .count();
    stats_.Count(op_, static_cast<uint64_t>(ns));
    current_op = FuseOp::kCount;
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  FuseStats& stats_;
  FuseOp op_;
  std::chrono::steady_clock::time_point start_;
};

std::string ChildPath(const std::string& dir, const char* name) {
  return dir == "/" ? "/" + std::string(name) : dir + "/" + name;
}

}  // namespace

struct FuseOps {
  static FuseServer* Self(fuse_req_t req) { return static_cast<FuseServer*>(fuse_req_userdata(req)); }

  static void ReplyError(fuse_req_t req, FuseServer* self, int err) {
    if (err != 0 && current_op != FuseOp::kCount) self->stats_.CountError(current_op, err);
    fuse_reply_err(req, err);
  }
  static int Code(const Error& e) { return e.code() != 0 ? e.code() : EIO; }

  static double Timeout(FuseServer* self, const NodeInfo& node) {
    // The top levels and each root's own entry come and go with mounts.
    if (node.kind == NodeKind::kStatus) return 0;  // every open sees fresh content
    if (node.kind != NodeKind::kUnion || node.path == "/") return 1.0;
    return node.root->read_only() ? self->options_.image_timeout : self->options_.container_timeout;
  }

  static struct stat SyntheticStat(uint64_t id) {
    struct stat st {};
    st.st_ino = id;
    st.st_mode = S_IFDIR | 0755;
    st.st_nlink = 2;
    return st;
  }

  static std::shared_ptr<UnionRoot> FindRoot(FuseServer* self, const std::string& category,
                                             const std::string& name) {
    std::lock_guard lock(self->roots_mu_);
    auto cat = self->roots_.find(category);
    if (cat == self->roots_.end()) return nullptr;
    auto it = cat->second.find(name);
    return it == cat->second.end() ? nullptr : it->second;
  }

  // Resolves parent + name into the node info and attributes of the child.
  static Result<std::pair<NodeInfo, struct stat>> LookupChild(FuseServer* self,
                                                              const NodeInfo& parent,
                                                              const char* name) {
    NodeInfo child;
    switch (parent.kind) {
      case NodeKind::kTop: {
        std::string n = name;
        if (n != FuseServer::kImages && n != FuseServer::kContainers && n != FuseServer::kStatus) {
          return Errno(ENOENT, n);
        }
        child.kind = NodeKind::kCategory;
        child.category = n;
        child.ino = n == FuseServer::kImages       ? FuseServer::kImagesId
                    : n == FuseServer::kContainers ? FuseServer::kContainersId
                                                   : FuseServer::kStatusId;
        return std::make_pair(child, SyntheticStat(child.ino));
      }
      case NodeKind::kStatus:
        return self->StatusLookup(parent, name);
      case NodeKind::kCategory: {
        if (parent.category == FuseServer::kStatus) return self->StatusLookup(parent, name);
        auto root = FindRoot(self, parent.category, name);
        if (!root) return Errno(ENOENT, name);
        child.kind = NodeKind::kUnion;
        child.category = parent.category;
        child.root_name = name;
        child.root = root;
        child.path = "/";
        break;
      }
      case NodeKind::kUnion:
        child = parent;
        child.path = ChildPath(parent.path, name);
        child.unlinked = false;
        break;
    }
    ASSIGN_OR_RETURN(struct stat st, child.root->Stat(child.path));
    child.ino = st.st_ino;
    return std::make_pair(child, st);
  }

  // Gives the kernel a reference to info's node: its id.
  static uint64_t RefEntry(FuseServer* self, const NodeInfo& info) {
    uint64_t id = self->table_.Ref(info);
    if (info.kind == NodeKind::kStatus && !info.path.empty()) self->KeepStatusFile(id, info);
    return id;
  }

  static void ReplyEntry(fuse_req_t req, FuseServer* self, const NodeInfo& info,
                         const struct stat& st) {
    fuse_entry_param e {};
    e.ino = RefEntry(self, info);
    e.attr = st;
    if (info.kind == NodeKind::kStatus) e.attr.st_ino = e.ino;
    e.attr_timeout = e.entry_timeout = Timeout(self, info);
    if (S_ISDIR(st.st_mode)) self->RememberStat(e.ino, st);
    if (fuse_reply_entry(req, &e) != 0) self->table_.Forget(e.ino, 1);
  }

  // Looks up a node, or replies ESTALE.
  static NodeSnapshot Node(fuse_req_t req, fuse_ino_t ino) {
    auto node = Self(req)->table_.Get(ino);
    if (!node) ReplyError(req, Self(req), ESTALE);
    return node;
  }
  // The node, which must be inside a union root; else replies.
  static NodeSnapshot UnionNode(fuse_req_t req, fuse_ino_t ino, int err_if_not) {
    auto node = Node(req, ino);
    if (node && node->kind != NodeKind::kUnion) {
      ReplyError(req, Self(req), err_if_not);
      return nullptr;
    }
    return node;
  }

  static Owner OwnerFor(fuse_req_t req, const NodeInfo& parent, mode_t* mode) {
    const fuse_ctx* ctx = fuse_req_ctx(req);
    Owner owner{ctx->uid, ctx->gid};
    // A setgid directory hands its group down (and, to directories, the bit).
    auto st = parent.root->Stat(parent.path);
    if (st.ok() && (st->st_mode & S_ISGID)) {
      owner.gid = st->st_gid;
      if (mode != nullptr && S_ISDIR(*mode)) *mode |= S_ISGID;
    }
    return owner;
  }

  static void init(void* userdata, fuse_conn_info* conn) {
    if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
    if (conn->capable & FUSE_CAP_SPLICE_MOVE) conn->want |= FUSE_CAP_SPLICE_MOVE;
    if (conn->capable & FUSE_CAP_SPLICE_READ) conn->want |= FUSE_CAP_SPLICE_READ;
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
    // Symlinks never change in place (a new target is a new symlink), so
    // the kernel keeps their targets in its page cache: no readlink round
    // trip per warm follow.
    if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
    // Writes gather in the kernel's page cache and reach the session in
    // large requests (as with fuse-overlayfs): every write to a container
    // root goes through this session and one kernel inode per file, so
    // the kernel's cached size and times stay right. Files opened for
    // writing are opened read-write here (the kernel reads around partial
    // pages) and without O_APPEND (the kernel places appends itself).
    auto* server = static_cast<FuseServer*>(userdata);
    if (server->options_.writeback_cache && (conn->capable & FUSE_CAP_WRITEBACK_CACHE)) {
      conn->want |= FUSE_CAP_WRITEBACK_CACHE;
      server->writeback_ = true;
    } else {
      conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    }
    // Files are opened without the session (open); an open therefore
    // cannot truncate (O_TRUNC comes as a setattr).
    server->no_open_ = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
    conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
    // Locks stay in the kernel (no getlk/setlk/flock ops).
    conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
    // libfuse wants the mount option's value here too (read_ahead.h).
    conn->max_read = static_cast<unsigned>(server->max_read_);
  }

  static void lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    OpScope scope(Self(req)->stats_, FuseOp::kLookup);
    FuseServer* self = Self(req);
    auto node = Node(req, parent);
    if (!node) return;
    if (std::strlen(name) > kMaxName) return ReplyError(req, self, ENAMETOOLONG);
    auto child = LookupChild(self, *node, name);
    if (!child.ok()) {
      if (child.error().code() == ENOENT) {
        // A negative entry the kernel may cache as long as a positive one.
        fuse_entry_param e {};
        e.entry_timeout = node->kind == NodeKind::kUnion ? Timeout(self, *node) : 0;
        fuse_reply_entry(req, &e);
        return;
      }
      return ReplyError(req, self, Code(child.error()));
    }
    ReplyEntry(req, self, child->first, child->second);
  }

  static void Forget(FuseServer* self, uint64_t ino, uint64_t count) {
    auto dropped = self->table_.Forget(ino, count);
    if (!dropped) return;
    self->Forgot(ino);
    self->files_.Forget(ino);
    if (dropped->kind == NodeKind::kUnion) dropped->root->Forget(dropped->ino);
  }

  static void forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    Forget(Self(req), ino, nlookup);
    fuse_reply_none(req);
  }

  static void forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
    for (size_t i = 0; i < count; ++i) Forget(Self(req), forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
  }

  static void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    OpScope scope(Self(req)->stats_, FuseOp::kGetattr);
    FuseServer* self = Self(req);
    auto node = Node(req, ino);
    if (!node) return;
    if (node->kind == NodeKind::kStatus) {
      struct stat st = self->StatusStat(*node);
      fuse_reply_attr(req, &st, 0);
      return;
    }
    if (node->kind != NodeKind::kUnion) {
      struct stat st = SyntheticStat(node->ino);
      fuse_reply_attr(req, &st, 1.0);
      return;
    }
    auto st = node->unlinked ? Result<struct stat>(Errno(ENOENT, node->path))
                             : node->root->Stat(node->path);
    if (!st.ok() && (node->unlinked || st.error().code() == ENOENT)) {
      // A file whose names are gone (or whose root was unmounted): an open
      // descriptor still knows it (fstat reaches us without the file
      // handle); a removed directory someone still sits in keeps its last
      // attributes.
      struct stat fst;
      if (self->StatOpenFile(ino, &fst)) {
        fst.st_ino = node->ino;
        fst.st_nlink = 0;
        fuse_reply_attr(req, &fst, 0);
        return;
      }
      if (auto last = self->LastStat(ino); node->unlinked && last && S_ISDIR(last->st_mode)) {
        last->st_nlink = 1;
        fuse_reply_attr(req, &*last, 0);
        return;
      }
    }
    if (!st.ok()) return ReplyError(req, self, Code(st.error()));
    // Only a directory's are ever read back (LastStat).
    if (S_ISDIR(st->st_mode)) self->RememberStat(ino, *st);
    fuse_reply_attr(req, &*st, Timeout(self, *node));
  }

  static void setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
                      fuse_file_info*) {
    OpScope scope(Self(req)->stats_, FuseOp::kSetattr);
    FuseServer* self = Self(req);
    auto node = UnionNode(req, ino, EPERM);
    if (!node) return;
    SetAttrRequest r;
    if (to_set & FUSE_SET_ATTR_MODE) r.mode = attr->st_mode;
    if (to_set & FUSE_SET_ATTR_UID) r.uid = attr->st_uid;
    if (to_set & FUSE_SET_ATTR_GID) r.gid = attr->st_gid;
    if (to_set & FUSE_SET_ATTR_ATIME) r.atime = attr->st_atim;
    if (to_set & FUSE_SET_ATTR_MTIME) r.mtime = attr->st_mtim;
    if (to_set & FUSE_SET_ATTR_ATIME_NOW) r.atime = timespec{0, UTIME_NOW};
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) r.mtime = timespec{0, UTIME_NOW};
    if (node->unlinked) {
      // No name left (the kernel writes back an unlinked file's pages and
      // times when it is closed): only its kept descriptor reaches it (a
      // lower one is copied up without a name, FileOf).
      bool times_only = !(to_set & FUSE_SET_ATTR_SIZE) && !r.mode && !r.uid && !r.gid;
      if (auto kept = self->files_.Find(ino); !times_only || (kept != nullptr && !kept->lower)) {
        auto file = FileOf(self, ino, true);
        if (!file.ok()) return ReplyError(req, self, Code(file.error()));
        return SetAttrByFd(req, self, *node, (*file)->fd.get(), r, to_set, attr->st_size);
      }
      // The kernel also sends the times it keeps of a file it was not
      // writing (its ctime changes with the unlink); they are nobody's to
      // see but fstat's, and an object file is never changed.
      struct stat fst {};
      if (!self->StatOpenFile(ino, &fst)) {
        // Nothing keeps the file open either: the kernel is writing back
        // the times it kept of a file whose last name went (a syncfs, the
        // inode's eviction). They have nowhere to go, and an error would
        // fail the syncfs that commit and unmount rely on. (Only regular
        // files' times are kept by the kernel; it does not use this reply.)
        fst.st_mode = S_IFREG;
        fst.st_atim = attr->st_atim;
        fst.st_mtim = attr->st_mtim;
      }
      fst.st_ino = node->ino;
      fst.st_nlink = 0;
      return (void)fuse_reply_attr(req, &fst, 0);
    }
    if (to_set & FUSE_SET_ATTR_SIZE) r.size = attr->st_size;
    auto st = node->root->SetAttr(node->path, r);
    if (!st.ok()) return ReplyError(req, self, Code(st.error()));
    fuse_reply_attr(req, &*st, Timeout(self, *node));
  }

  static void SetAttrByFd(fuse_req_t req, FuseServer* self, const NodeInfo& node, int fd,
                          const SetAttrRequest& r, int to_set, off_t size) {
    if ((to_set & FUSE_SET_ATTR_SIZE) && ::ftruncate(fd, size) != 0) {
      return ReplyError(req, self, errno);
    }
    if ((r.uid || r.gid) && ::fchown(fd, r.uid ? *r.uid : static_cast<uid_t>(-1),
                                     r.gid ? *r.gid : static_cast<gid_t>(-1)) != 0) {
      return ReplyError(req, self, errno);
    }
    if (r.mode && ::fchmod(fd, *r.mode & 07777) != 0) return ReplyError(req, self, errno);
    if (r.atime || r.mtime) {
      struct timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
      if (r.atime) times[0] = *r.atime;
      if (r.mtime) times[1] = *r.mtime;
      if (::futimens(fd, times) != 0) return ReplyError(req, self, errno);
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) return ReplyError(req, self, errno);
    st.st_ino = node.ino;
    st.st_nlink = 0;
    fuse_reply_attr(req, &st, 0);
  }

  static void readlink(fuse_req_t req, fuse_ino_t ino) {
    OpScope scope(Self(req)->stats_, FuseOp::kReadlink);
    FuseServer* self = Self(req);
    auto node = UnionNode(req, ino, EINVAL);
    if (!node) return;
    auto target = node->root->ReadLink(node->path);
    if (!target.ok()) return ReplyError(req, self, Code(target.error()));
    fuse_reply_readlink(req, target->c_str());
  }

  // The union node parent and the path of its child name; or replies with
  // the error and returns nullopt.
  static std::optional<std::pair<NodeSnapshot, std::string>> ChildOf(fuse_req_t req,
                                                                     fuse_ino_t parent,
                                                                     const char* name) {
    FuseServer* self = Self(req);
    auto node = UnionNode(req, parent, EPERM);
    if (!node) return std::nullopt;
    if (std::strlen(name) > kMaxName) {
      ReplyError(req, self, ENAMETOOLONG);
      return std::nullopt;
    }
    std::string path = ChildPath(node->path, name);
    return std::make_pair(std::move(node), std::move(path));
  }

  // Replies with the entry of a child just made by op.
  template <typename Op>
  static void MakeChild(fuse_req_t req, fuse_ino_t parent, const char* name, Op op) {
    FuseServer* self = Self(req);
    auto child_of = ChildOf(req, parent, name);
    if (!child_of) return;
    auto& [node_info, path] = *child_of;
    const NodeInfo* node = node_info.get();
    Status made = op(*node, path);
    if (!made.ok()) return ReplyError(req, self, Code(made.error()));
    auto child = LookupChild(self, *node, name);
    if (!child.ok()) return ReplyError(req, self, Code(child.error()));
    ReplyEntry(req, self, child->first, child->second);
  }

  static void mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
    OpScope scope(Self(req)->stats_, FuseOp::kMknod);
    MakeChild(req, parent, name, [&](const NodeInfo& p, const std::string& path) {
      Owner owner = OwnerFor(req, p, &mode);
      return p.root->Mknod(path, mode, rdev, owner);
    });
  }

  static void mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
    OpScope scope(Self(req)->stats_, FuseOp::kMkdir);
    MakeChild(req, parent, name, [&](const NodeInfo& p, const std::string& path) {
      mode |= S_IFDIR;
      Owner owner = OwnerFor(req, p, &mode);
      return p.root->Mkdir(path, mode, owner);
    });
  }

  static void symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
    OpScope scope(Self(req)->stats_, FuseOp::kSymlink);
    MakeChild(req, parent, name, [&](const NodeInfo& p, const std::string& path) {
      Owner owner = OwnerFor(req, p, nullptr);
      return p.root->Symlink(link, path, owner);
    });
  }

  static void link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char* name) {
    OpScope scope(Self(req)->stats_, FuseOp::kLink);
    auto src = Self(req)->table_.Get(ino);
    if (!src || src->kind != NodeKind::kUnion) return ReplyError(req, Self(req), EPERM);
    MakeChild(req, parent, name, [&](const NodeInfo& p, const std::string& path) -> Status {
      if (p.root != src->root) return Errno(EXDEV, path);
      return p.root->Link(src->path, path);
    });
  }

  static void Remove(fuse_req_t req, fuse_ino_t parent, const char* name, bool dir) {
    FuseServer* self = Self(req);
    auto child_of = ChildOf(req, parent, name);
    if (!child_of) return;
    auto& [node_info, path] = *child_of;
    const NodeInfo* node = node_info.get();
    if (!dir) KeepFileOf(self, *node, path);
    Status st = dir ? node->root->Rmdir(path) : node->root->Unlink(path);
    if (!st.ok()) return ReplyError(req, self, Code(st.error()));
    self->table_.Unlinked(node->root.get(), path);
    fuse_reply_err(req, 0);
  }
  static void unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
    OpScope scope(Self(req)->stats_, FuseOp::kUnlink);
    Remove(req, parent, name, false);
  }
  static void rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
    OpScope scope(Self(req)->stats_, FuseOp::kRmdir);
    Remove(req, parent, name, true);
  }

  static void rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
                     const char* newname, unsigned int flags) {
    OpScope scope(Self(req)->stats_, FuseOp::kRename);
    FuseServer* self = Self(req);
    auto from = UnionNode(req, parent, EPERM);
    if (!from) return;
    auto to = UnionNode(req, newparent, EPERM);
    if (!to) return;
    if (from->root != to->root) return ReplyError(req, self, EXDEV);
    if (std::strlen(name) > kMaxName || std::strlen(newname) > kMaxName) {
      return ReplyError(req, self, ENAMETOOLONG);
    }
    std::string a = ChildPath(from->path, name), b = ChildPath(to->path, newname);
    if (!(flags & RENAME_EXCHANGE)) KeepFileOf(self, *to, b);
    Status st = from->root->Rename(a, b, flags);
    if (!st.ok()) return ReplyError(req, self, Code(st.error()));
    if (flags & RENAME_EXCHANGE) {
      self->table_.Exchange(from->root.get(), a, b);
    } else {
      self->table_.Move(from->root.get(), a, b);
    }
    fuse_reply_err(req, 0);
  }

  // The descriptor node's reads (write: and writes) go through
  // (node_files.h): the one kept for it, or the lower object (cached by the
  // root's LowerFiles), or the upper file, kept from now on. A write to a
  // lower file copies it up first.
  static Result<NodeFiles::FilePtr> FileOf(FuseServer* self, fuse_ino_t ino, bool write) {
    NodeFiles::FilePtr kept = self->files_.Find(ino);
    if (kept != nullptr && (!write || kept->writable)) return kept;
    auto node = self->table_.Get(ino);
    if (!node) return Errno(ESTALE, "node " + std::to_string(ino));
    if (node->kind == NodeKind::kStatus) return Errno(write ? EROFS : ENOENT, node->path);
    if (node->kind != NodeKind::kUnion) return Errno(EISDIR, node->category);
    // A file whose last name went is reached only through what was kept; a
    // lower one written now is copied up without a name.
    if (node->unlinked) {
      if (kept == nullptr) return Errno(ENOENT, node->path);
      ASSIGN_OR_RETURN(UniqueFd copy, node->root->CopyUpNameless(kept->fd.get()));
      return self->files_.Put(ino, node->root.get(), {std::move(copy), false, true}, true);
    }
    ASSIGN_OR_RETURN(OpenedFile opened,
                     node->root->OpenFile(node->path, write ? O_RDWR : O_RDONLY, node->ino));
    NodeFiles::File file{std::move(opened.fd), opened.lower, write};
    if (opened.lower) return std::make_shared<const NodeFiles::File>(std::move(file));
    return self->files_.Put(ino, node->root.get(), std::move(file));
  }

  // Keeps a descriptor of the file at path in dir's root while the kernel
  // knows it, before an unlink or a rename over it: an open file whose last
  // name goes must go on working (node_files.h).
  static void KeepFileOf(FuseServer* self, const NodeInfo& dir, const std::string& path) {
    auto id = self->table_.Find(dir.root.get(), path);
    if (!id) return;
    if (self->files_.Find(*id) == nullptr) {
      auto node = self->table_.Get(*id);
      // Only a regular file has content to keep (a fifo's open would block).
      auto st = dir.root->Stat(path);
      if (!node || !st.ok() || !S_ISREG(st->st_mode)) return;
      auto opened = dir.root->OpenFile(path, O_RDONLY, node->ino);
      if (!opened.ok()) return;
      NodeFiles::File file{std::move(opened->fd), opened->lower, false};
      if (!file.lower) {
        // Read-write, since nothing could reopen it once it has no name.
        UniqueFd rw(::open(ProcFdPath(file.fd.get()).c_str(), O_RDWR | O_CLOEXEC));
        if (rw) file = {std::move(rw), false, true};
      }
      self->files_.Put(*id, dir.root.get(), std::move(file), true);
    }
    self->files_.Pin(*id);
  }

  // The kernel opens files without the session (node_files.h): the first
  // open is answered ENOSYS, and the kernel then sends no open or release
  // again. A kernel without FUSE_NO_OPEN_SUPPORT gets an open with no
  // handle; either way every open keeps the kernel's cached pages (lower
  // files never change, every write to an upper one comes through its one
  // kernel inode, a status file is a node per content).
  static void open(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    OpScope scope(Self(req)->stats_, FuseOp::kOpen);
    if (Self(req)->no_open_) return (void)fuse_reply_err(req, ENOSYS);
    fi->fh = 0;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
  }

  static void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                     fuse_file_info* fi) {
    OpScope scope(Self(req)->stats_, FuseOp::kCreate);
    FuseServer* self = Self(req);
    auto child_of = ChildOf(req, parent, name);
    if (!child_of) return;
    auto& [node_info, path] = *child_of;
    const NodeInfo* node = node_info.get();
    Owner owner = OwnerFor(req, *node, &mode);
    // Read-write and without O_APPEND whatever the caller asked: the
    // kernel reads around partial pages of its cache, and places appends.
    auto file = node->root->Create(path, mode, O_RDWR, owner);
    if (!file.ok()) return ReplyError(req, self, Code(file.error()));
    auto child = LookupChild(self, *node, name);
    if (!child.ok()) return ReplyError(req, self, Code(child.error()));
    fuse_entry_param e {};
    e.ino = self->table_.Ref(child->first);
    self->files_.Put(e.ino, node->root.get(), {std::move(file->fd), false, true});
    fi->fh = 0;
    fi->keep_cache = 1;
    e.attr = child->second;
    e.attr_timeout = e.entry_timeout = Timeout(self, *node);
    if (fuse_reply_create(req, &e, fi) != 0) Forget(self, e.ino, 1);
  }

  static void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    OpScope scope(Self(req)->stats_, FuseOp::kRead);
    FuseServer* self = Self(req);
    auto file = FileOf(self, ino, false);
    if (!file.ok()) return ReplyError(req, self, Code(file.error()));
    const int fd = (*file)->fd.get();
    if (std::span<char> space = UringChannel::ReplySpace(); space.size() >= size) {
      // Over io_uring the data goes straight into the ring's buffer.
      // (EINVAL: a size this buffer cannot take from an O_DIRECT file; the
      // way below copies through a pipe.)
      ssize_t n = ::pread(fd, space.data(), size, off);
      if (n >= 0) {
        self->stats_.bytes_read += static_cast<uint64_t>(n);
        fuse_reply_buf(req, space.data(), static_cast<size_t>(n));
        return;
      }
      if (errno != EINVAL) return ReplyError(req, self, errno);
    }
    // Hand the kernel the descriptor: libfuse splices from it when it can.
    fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
    buf.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    buf.buf[0].fd = fd;
    buf.buf[0].pos = off;
    self->stats_.bytes_read += size;
    fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
  }

  static void write_buf(fuse_req_t req, fuse_ino_t ino, fuse_bufvec* in, off_t off,
                        fuse_file_info*) {
    OpScope scope(Self(req)->stats_, FuseOp::kWrite);
    FuseServer* self = Self(req);
    auto file = FileOf(self, ino, true);
    if (!file.ok()) return ReplyError(req, self, Code(file.error()));
    fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
    out.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    out.buf[0].fd = (*file)->fd.get();
    out.buf[0].pos = off;
    ssize_t n = fuse_buf_copy(&out, in, FUSE_BUF_SPLICE_NONBLOCK);
    if (n < 0) return ReplyError(req, self, static_cast<int>(-n));
    self->stats_.bytes_written += static_cast<uint64_t>(n);
    fuse_reply_write(req, static_cast<size_t>(n));
  }

  // Sent only for created files (their handle is 0): nothing to free.
  static void release(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
    OpScope scope(Self(req)->stats_, FuseOp::kRelease);
    fuse_reply_err(req, 0);
  }

  // Copy-ups are made durable in the background; an fsync waits for them
  // (the file may be one, and its name is in a directory the copy-up
  // changed).
  static int FlushCopyUps(FuseServer* self, fuse_ino_t ino) {
    auto node = self->table_.Get(ino);
    if (!node || node->kind != NodeKind::kUnion) return 0;
    Status flushed = node->root->FlushCopyUps();
    return flushed.ok() ? 0 : Code(flushed.error());
  }

  static void fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
    OpScope scope(Self(req)->stats_, FuseOp::kFsync);
    // Only an upper file can have been written (a file without a name and
    // without a kept descriptor has nothing left to sync).
    int err = 0;
    if (auto file = FileOf(Self(req), ino, false); file.ok() && !(*file)->lower) {
      int r = datasync ? ::fdatasync((*file)->fd.get()) : ::fsync((*file)->fd.get());
      if (r != 0) err = errno;
    }
    ReplyError(req, Self(req), err != 0 ? err : FlushCopyUps(Self(req), ino));
  }

  // No opendir (dir_listings.h): the kernel then sends none, nor any
  // releasedir, and caches every directory's listing (FOPEN_CACHE_DIR and
  // FOPEN_KEEP_CACHE are its defaults then). A cached listing is dropped
  // when its directory changes through the mount; the synthetic levels
  // that change otherwise are invalidated by the server (DirChanged).
  static void opendir(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
    OpScope scope(Self(req)->stats_, FuseOp::kOpendir);
    fuse_reply_err(req, ENOSYS);
  }

  // What directory node lists, "." and ".." first.
  static Result<DirListings::Entries> ListDir(FuseServer* self, const NodeInfo& node) {
    // ".." gets a placeholder number: readers skip entries numbered 0.
    DirListings::Entries entries = {{".", S_IFDIR, node.ino}, {"..", S_IFDIR, 1}};
    if (node.kind == NodeKind::kTop) {
      entries.push_back({FuseServer::kContainers, S_IFDIR, FuseServer::kContainersId});
      entries.push_back({FuseServer::kImages, S_IFDIR, FuseServer::kImagesId});
      entries.push_back({FuseServer::kStatus, S_IFDIR, FuseServer::kStatusId});
    } else if (node.kind == NodeKind::kStatus ||
               (node.kind == NodeKind::kCategory && node.category == FuseServer::kStatus)) {
      ASSIGN_OR_RETURN(auto listed, self->StatusList(node));
      for (auto& e : listed) entries.push_back(std::move(e));
    } else if (node.kind == NodeKind::kCategory) {
      std::lock_guard lock(self->roots_mu_);
      for (const auto& [name, root] : self->roots_[node.category]) {
        entries.push_back({name, S_IFDIR, 1});
      }
    } else if (!node.unlinked) {
      ASSIGN_OR_RETURN(auto listed, node.root->ReadDir(node.path));
      for (auto& e : listed) entries.push_back(std::move(e));
    }
    return entries;
  }

  static void DoReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                        fuse_file_info*, bool plus) {
    FuseServer* self = Self(req);
    auto node = Node(req, ino);
    if (!node) return;
    // A listing is made at offset 0 and continued by the reads after it.
    const uint64_t offset = static_cast<uint64_t>(off);
    std::optional<DirListings::Listing> listing;
    if (offset != 0) listing = self->listings_.Find(ino, offset);
    if (!listing) {
      // (A continuation whose listing is gone goes on in a new one.)
      auto entries = ListDir(self, *node);
      if (!entries.ok()) return ReplyError(req, self, Code(entries.error()));
      listing = self->listings_.Add(ino, std::move(*entries));
    }
    const DirListings::Entries& entries = *listing->entries;
    const size_t first = offset == 0 ? 0 : DirListings::NextIndex(offset);
    if (first >= entries.size()) {
      self->listings_.Drop(ino, listing->generation);  // read to the end
      return (void)fuse_reply_buf(req, nullptr, 0);
    }
    std::string buf(size, '\0');
    size_t used = 0;
    for (size_t i = first; i < entries.size(); ++i) {
      const DirEntry& e = entries[i];
      const auto next = static_cast<off_t>(DirListings::OffsetAfter(listing->generation, i));
      size_t need;
      if (!plus) {
        struct stat st {};
        st.st_ino = e.ino;
        st.st_mode = e.type;
        need = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(), &st, next);
        if (need > size - used) break;
      } else if (e.name == "." || e.name == "..") {
        // The kernel takes no reference for these.
        fuse_entry_param entry {};
        entry.attr.st_ino = e.ino;
        entry.attr.st_mode = e.type;
        need = fuse_add_direntry_plus(req, buf.data() + used, size - used, e.name.c_str(), &entry,
                                      next);
        if (need > size - used) break;
      } else {
        auto child = LookupChild(self, *node, e.name.c_str());
        if (!child.ok()) continue;  // gone since the listing was made
        need = fuse_add_direntry_plus(req, nullptr, 0, e.name.c_str(), nullptr, 0);
        if (need > size - used) break;
        // Only an entry that is sent gives the kernel a reference.
        fuse_entry_param entry {};
        entry.ino = RefEntry(self, child->first);
        entry.attr = child->second;
        if (child->first.kind == NodeKind::kStatus) entry.attr.st_ino = entry.ino;
        entry.attr_timeout = entry.entry_timeout = Timeout(self, child->first);
        fuse_add_direntry_plus(req, buf.data() + used, size - used, e.name.c_str(), &entry, next);
      }
      used += need;
    }
    fuse_reply_buf(req, buf.data(), used);
  }

  static void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    OpScope scope(Self(req)->stats_, FuseOp::kReaddir);
    DoReaddir(req, ino, size, off, fi, false);
  }
  static void readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                          fuse_file_info* fi) {
    OpScope scope(Self(req)->stats_, FuseOp::kReaddirplus);
    DoReaddir(req, ino, size, off, fi, true);
  }

  // Never sent: opendir is refused.
  static void releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
    OpScope scope(Self(req)->stats_, FuseOp::kReleasedir);
    fuse_reply_err(req, 0);
  }

  static void fsyncdir(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
    ReplyError(req, Self(req), FlushCopyUps(Self(req), ino));
  }

  static void statfs(fuse_req_t req, fuse_ino_t ino) {
    OpScope scope(Self(req)->stats_, FuseOp::kStatfs);
    FuseServer* self = Self(req);
    auto node = Node(req, ino);
    if (!node) return;
    struct statvfs st;
    if (node->kind == NodeKind::kUnion) {
      auto r = node->root->StatFs();
      if (!r.ok()) return ReplyError(req, self, Code(r.error()));
      st = *r;
    } else if (::statvfs(self->options_.statfs_dir.c_str(), &st) != 0) {
      return ReplyError(req, self, errno);
    }
    fuse_reply_statfs(req, &st);
  }

  static void setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value,
                       size_t size, int flags) {
    OpScope scope(Self(req)->stats_, FuseOp::kSetxattr);
    FuseServer* self = Self(req);
    auto node = UnionNode(req, ino, ENOTSUP);
    if (!node) return;
    Status st = node->root->SetXattr(node->path, name, std::string(value, size), flags);
    ReplyError(req, self, st.ok() ? 0 : Code(st.error()));
  }

  static void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
    OpScope scope(Self(req)->stats_, FuseOp::kGetxattr);
    FuseServer* self = Self(req);
    auto node = UnionNode(req, ino, ENODATA);
    if (!node) return;
    auto value = node->root->GetXattr(node->path, name);
    if (!value.ok()) return ReplyError(req, self, Code(value.error()));
    if (size == 0) return (void)fuse_reply_xattr(req, value->size());
    if (size < value->size()) return ReplyError(req, self, ERANGE);
    fuse_reply_buf(req, value->data(), value->size());
  }

  static void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    OpScope scope(Self(req)->stats_, FuseOp::kListxattr);
    FuseServer* self = Self(req);
    auto node = Node(req, ino);
    if (!node) return;
    std::string list;
    if (node->kind == NodeKind::kUnion) {
      auto names = node->root->ListXattr(node->path);
      if (!names.ok()) return ReplyError(req, self, Code(names.error()));
      for (const auto& n : *names) list.append(n).push_back('\0');
    }
    if (size == 0) return (void)fuse_reply_xattr(req, list.size());
    if (size < list.size()) return ReplyError(req, self, ERANGE);
    fuse_reply_buf(req, list.data(), list.size());
  }

  static void removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
    OpScope scope(Self(req)->stats_, FuseOp::kRemovexattr);
    FuseServer* self = Self(req);
    auto node = UnionNode(req, ino, ENOTSUP);
    if (!node) return;
    Status st = node->root->RemoveXattr(node->path, name);
    ReplyError(req, self, st.ok() ? 0 : Code(st.error()));
  }

  static void access(fuse_req_t req, fuse_ino_t ino, int) {
    OpScope scope(Self(req)->stats_, FuseOp::kAccess);
    // default_permissions: the kernel checks modes itself; this only says
    // whether the node still exists.
    auto node = Node(req, ino);
    if (!node) return;
    fuse_reply_err(req, 0);
  }

  static void fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                        fuse_file_info*) {
    OpScope scope(Self(req)->stats_, FuseOp::kFallocate);
    auto file = FileOf(Self(req), ino, true);
    if (!file.ok()) return ReplyError(req, Self(req), Code(file.error()));
    int r = ::fallocate((*file)->fd.get(), mode, offset, length);
    ReplyError(req, Self(req), r == 0 ? 0 : errno);
  }

  static void lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info*) {
    OpScope scope(Self(req)->stats_, FuseOp::kLseek);
    auto file = FileOf(Self(req), ino, false);
    if (!file.ok()) return ReplyError(req, Self(req), Code(file.error()));
    off_t r = ::lseek((*file)->fd.get(), off, whence);
    if (r < 0) return ReplyError(req, Self(req), errno);
    fuse_reply_lseek(req, r);
  }

  static void copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, fuse_file_info*,
                              fuse_ino_t ino_out, off_t off_out, fuse_file_info*, size_t len,
                              int flags) {
    OpScope scope(Self(req)->stats_, FuseOp::kCopyFileRange);
    auto in = FileOf(Self(req), ino_in, false);
    if (!in.ok()) return ReplyError(req, Self(req), Code(in.error()));
    auto out = FileOf(Self(req), ino_out, true);
    if (!out.ok()) return ReplyError(req, Self(req), Code(out.error()));
    loff_t a = off_in, b = off_out;
    ssize_t n = ::copy_file_range((*in)->fd.get(), &a, (*out)->fd.get(), &b, len,
                                  static_cast<unsigned>(flags));
    if (n < 0) return ReplyError(req, Self(req), errno);
    Self(req)->stats_.bytes_written += static_cast<uint64_t>(n);
    fuse_reply_write(req, static_cast<size_t>(n));
  }

  // The session's I/O over io_uring (uring_channel.h); libfuse passes the
  // session's userdata.
  static ssize_t IoRead(int fd, void* buf, size_t len, void* userdata) {
    return static_cast<FuseServer*>(userdata)->uring_->Read(fd, buf, len);
  }
  static ssize_t IoWritev(int fd, struct iovec* iov, int count, void* userdata) {
    return static_cast<FuseServer*>(userdata)->uring_->Writev(fd, iov, count);
  }
  static ssize_t IoSpliceSend(int fdin, off_t* offin, int fdout, off_t* offout, size_t len,
                              unsigned int flags, void* userdata) {
    return static_cast<FuseServer*>(userdata)->uring_->SpliceSend(fdin, offin, fdout, offout, len,
                                                                  flags);
  }

  static fuse_lowlevel_ops Table() {
    fuse_lowlevel_ops ops {};
    ops.init = init;
    ops.lookup = lookup;
    ops.forget = forget;
    ops.forget_multi = forget_multi;
    ops.getattr = getattr;
    ops.setattr = setattr;
    ops.readlink = readlink;
    ops.mknod = mknod;
    ops.mkdir = mkdir;
    ops.symlink = symlink;
    ops.link = link;
    ops.unlink = unlink;
    ops.rmdir = rmdir;
    ops.rename = rename;
    ops.open = open;
    ops.create = create;
    ops.read = read;
    ops.write_buf = write_buf;
    // No flush: closing a file needs nothing from the session (locks stay
    // in the kernel, writes are not buffered here), and without the op the
    // kernel stops sending FUSE_FLUSH after the first ENOSYS, which saves a
    // synchronous round trip per close.
    ops.release = release;
    ops.fsync = fsync;
    ops.opendir = opendir;
    ops.readdir = readdir;
    ops.readdirplus = readdirplus;
    ops.releasedir = releasedir;
    ops.fsyncdir = fsyncdir;
    ops.statfs = statfs;
    ops.setxattr = setxattr;
    ops.getxattr = getxattr;
    ops.listxattr = listxattr;
    ops.removexattr = removexattr;
    ops.access = access;
    ops.fallocate = fallocate;
    ops.lseek = lseek;
    ops.copy_file_range = copy_file_range;
    return ops;
  }
};

size_t FuseServer::NodeFilesBudget() {
  // A quarter of the descriptors; LowerFiles takes up to half.
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 256;
  return std::max<size_t>(rl.rlim_cur / 4, 64);
}

void FuseServer::RememberStat(uint64_t node, const struct stat& st) {
  std::lock_guard lock(open_mu_);
  last_dir_stat_[node] = st;
}

void FuseServer::Forgot(uint64_t node) {
  std::lock_guard lock(open_mu_);
  last_dir_stat_.erase(node);
}

std::optional<struct stat> FuseServer::LastStat(uint64_t node) {
  std::lock_guard lock(open_mu_);
  auto it = last_dir_stat_.find(node);
  if (it == last_dir_stat_.end()) return std::nullopt;
  return it->second;
}

bool FuseServer::StatOpenFile(uint64_t node, struct stat* st) {
  NodeFiles::FilePtr file = files_.Find(node);
  return file != nullptr && ::fstat(file->fd.get(), st) == 0;
}

Status FuseServer::CleanStaleMount(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    // Something answers: a live mount of ours cannot be (the store lock
    // says we are alone), so whatever is mounted there is left over.
    struct stat parent;
    std::string up = dir + "/..";
    if (::stat(up.c_str(), &parent) == 0 && parent.st_dev != st.st_dev) {
      if (::umount2(dir.c_str(), MNT_DETACH) != 0) return Error::FromErrno("unmount " + dir);
    }
    return Ok();
  }
  if (errno == ENOTCONN || errno == ECONNABORTED) {
    if (::umount2(dir.c_str(), MNT_DETACH) != 0) return Error::FromErrno("unmount stale " + dir);
    LogInfo("detached a stale FUSE mount at " + dir);
  }
  return Ok();
}

Result<std::unique_ptr<FuseServer>> FuseServer::Start(const FuseServerOptions& options) {
  std::unique_ptr<FuseServer> server(new FuseServer());
  server->options_ = options;
  if (server->options_.statfs_dir.empty()) server->options_.statfs_dir = options.mountpoint;
  for (const auto& [category, id] :
       {std::pair{kImages, kImagesId}, {kContainers, kContainersId}, {kStatus, kStatusId}}) {
    NodeInfo info;
    info.kind = NodeKind::kCategory;
    info.category = category;
    info.ino = id;
    server->table_.Pin(id, info);
  }
  RETURN_IF_ERROR(CleanStaleMount(options.mountpoint));
  RETURN_IF_ERROR(MakeDirs(options.mountpoint, 0755));

  server->max_read_ = SpliceableReadSize();
  std::vector<std::string> argv = {
      "stratad", "-o",
      "allow_other,default_permissions,dev,suid,fsname=strata,subtype=strata,max_read=" +
          std::to_string(server->max_read_)};
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(cargv.size()), cargv.data());
  fuse_lowlevel_ops ops = FuseOps::Table();
  server->session_ = fuse_session_new(&args, &ops, sizeof ops, server.get());
  fuse_opt_free_args(&args);  // the session keeps what it parsed
  if (server->session_ == nullptr) return Error(EIO, "fuse_session_new failed");
  if (fuse_session_mount(server->session_, options.mountpoint.c_str()) != 0) {
    fuse_session_destroy(server->session_);
    server->session_ = nullptr;
    return Error(EIO, "mount FUSE at " + options.mountpoint + " failed (is /dev/fuse available?)");
  }
  if (options.io_uring) {
    std::string note;
    bool allowed = UringChannel::KernelAllows(true, &note);
    if (!note.empty()) (allowed ? LogInfo : LogWarning)("FUSE over io_uring: " + note);
    if (allowed) {
      // The session keeps its descriptor; the channel reads and writes it
      // until the rings take over.
      const int device = fuse_session_fd(server->session_);
      server->uring_ = std::make_unique<UringChannel>(server->session_, device,
                                                      options.uring_workers_per_cpu,
                                                      &server->stats_.uring_requests);
      fuse_custom_io io {};
      io.read = FuseOps::IoRead;
      io.writev = FuseOps::IoWritev;
      io.splice_send = FuseOps::IoSpliceSend;
      if (fuse_session_custom_io(server->session_, &io, device) != 0) {
        LogWarning("FUSE over io_uring: libfuse refused a custom I/O layer");
        server->uring_.reset();
      }
    }
  }
  FuseServer* raw = server.get();
  server->loop_ = std::thread([raw] {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, static_cast<unsigned>(raw->options_.max_threads));
    // A worker, once started, stays: with a cap below the pool, libfuse
    // ended and re-created a thread (stack, buffer, splice pipe) every few
    // hundred requests of a busy walk.
    fuse_loop_cfg_set_idle_threads(cfg, static_cast<unsigned>(raw->options_.max_threads));
    int r = fuse_session_loop_mt(raw->session_, cfg);
    fuse_loop_cfg_destroy(cfg);
    if (r != 0 && !raw->stopped_) LogError("FUSE session ended with " + std::to_string(r));
  });
  // A slower start, not a failure: the mount works with the default window.
  if (Status ra = SetReadAheadKb(options.mountpoint, static_cast<unsigned>(raw->max_read_ >> 10));
      !ra.ok()) {
    LogWarning("FUSE readahead stays at the kernel's default: " + ra.error().message());
  }
  return server;
}

void FuseServer::Stop() {
  if (session_ == nullptr || stopped_.exchange(true)) return;
  fuse_session_exit(session_);
  // Unmounting makes the loop's read of /dev/fuse return, so it ends.
  fuse_session_unmount(session_);
  if (loop_.joinable()) loop_.join();
  if (uring_) uring_->Stop();
  fuse_session_destroy(session_);
  session_ = nullptr;
  // The kernel let go of the rings' buffers when their workers ended.
  uring_.reset();
}

FuseServer::~FuseServer() { Stop(); }

Status FuseServer::AddRoot(const std::string& category, const std::string& name,
                           std::shared_ptr<UnionRoot> root) {
  if (category != kImages && category != kContainers) {
    return Error::Invalid("unknown root category " + category);
  }
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    return Error::Invalid("invalid root name \"" + name + "\"");
  }
  if (root) root->CountInto(&stats_);
  // Negative entries under the categories are never cached, so the new
  // root shows at once.
  {
    std::lock_guard lock(roots_mu_);
    auto [it, inserted] = roots_[category].emplace(name, std::move(root));
    if (!inserted) return Error::Exists(category + "/" + name + " is already mounted");
  }
  DirChanged(category == kImages ? kImagesId : kContainersId);
  return Ok();
}

void FuseServer::DirChanged(uint64_t dir) {
  // The kernel keeps listings (dir_listings.h); this drops the one of a
  // directory that changed other than through the mount. ENOENT: the
  // kernel has none.
  if (session_ != nullptr) (void)fuse_lowlevel_notify_inval_inode(session_, dir, 0, 0);
}

void FuseServer::StatusChanged() { DirChanged(kStatusId); }

void FuseServer::SetSelfAccess(SelfAccess run) {
  std::lock_guard lock(self_access_mu_);
  self_access_ = std::move(run);
}

Status FuseServer::WriteBack(const std::string& category, const std::string& name) {
  if (session_ == nullptr) return Ok();
  std::shared_ptr<UnionRoot> root = FuseOps::FindRoot(this, category, name);
  if (!root) return Ok();
  const std::string what = "write back " + category + "/" + name;
  const bool writeback = writeback_;
  // The session cannot tell which files have cached pages (a write of whole
  // pages sends nothing until written back), so every regular file of the
  // root the kernel knows is a candidate (below).
  std::vector<std::string> files;
  if (writeback) {
    for (const NodeSnapshot& node : table_.NodesOf(root.get())) {
      if (!node->unlinked && node->path != "/") files.push_back(RelPath(node->path));
    }
  }
  auto work = [&, dir_path = PathOf(category, name)]() -> Status {
    // syncfs starts the writeback of every cached page of the session's
    // superblock (and of the times the kernel keeps), all files at once.
    ASSIGN_OR_RETURN(UniqueFd dir, OpenFile(dir_path, O_RDONLY | O_DIRECTORY));
    if (::syncfs(dir.get()) != 0) return Error::FromErrno(what);
    // But it does not wait until the session has written them (Linux 6.18
    // skips FUSE mappings when it waits), and the upper is read right after
    // (a commit took a file a running container held open short or empty).
    // Closing a file does wait: fuse_flush writes its inode back and waits,
    // sending nothing since flush is refused, and an open sends nothing
    // either (no open).
    for (const std::string& rel : files) {
      // O_PATH first: opening a device node or a fifo would open what it is.
      UniqueFd path(OpenBeneath(dir.get(), rel, O_PATH | O_NOFOLLOW));
      struct stat st;
      if (!path || ::fstat(path.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;  // gone, moved
      UniqueFd file(::open(ProcFdPath(path.get()).c_str(), O_RDONLY | O_CLOEXEC));
      if (!file) return Error::FromErrno(what + "/" + rel);
      if (::close(file.release()) != 0) return Error::FromErrno(what + "/" + rel);
    }
    return Ok();
  };
  SelfAccess run;
  {
    std::lock_guard lock(self_access_mu_);
    run = self_access_;
  }
  return run ? run(work) : work();
}

Status FuseServer::RemoveRoot(const std::string& category, const std::string& name) {
  // Without the writeback cache a write(2) has reached the upper when it
  // returns; what the kernel may still hold (pages written through a shared
  // mapping) its flusher writes back through the session, which serves a
  // removed root's open files, as overlayfs leaves them to it.
  if (category == kContainers && writeback_) {
    Status written = WriteBack(category, name);
    if (!written.ok()) LogWarning(written.error().message());
  }
  std::shared_ptr<UnionRoot> root;
  {
    std::lock_guard lock(roots_mu_);
    auto cat = roots_.find(category);
    auto it = cat == roots_.end() ? decltype(cat->second.end())() : cat->second.find(name);
    if (cat == roots_.end() || it == cat->second.end()) {
      return Error::NotFound(category + "/" + name + " is not mounted");
    }
    root = std::move(it->second);
    cat->second.erase(it);
  }
  // Whoever removes a root (unmount, stop, commit, reset) gets its copy-ups
  // durable first.
  if (root) {
    root->Unmounted();
    files_.ForgetRoot(root.get());
    Status flushed = root->FlushCopyUps();
    if (!flushed.ok()) LogWarning(flushed.error().message());
  }
  // Drop the kernel's cached entry of the root, so it is gone at once.
  if (session_ != nullptr) {
    fuse_lowlevel_notify_inval_entry(session_, category == kImages ? kImagesId : kContainersId,
                                     name.c_str(), name.size());
  }
  DirChanged(category == kImages ? kImagesId : kContainersId);
  return Ok();
}

bool FuseServer::HasRoot(const std::string& category, const std::string& name) const {
  std::lock_guard lock(roots_mu_);
  auto cat = roots_.find(category);
  return cat != roots_.end() && cat->second.count(name) != 0;
}

std::string FuseServer::PathOf(const std::string& category, const std::string& name) const {
  return JoinPath(JoinPath(options_.mountpoint, category), name);
}

}  // namespace strata::fuse
