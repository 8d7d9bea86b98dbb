#include "common/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace strata {

Result<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return Error::FromErrno("open " + path);
  return UniqueFd(fd);
}

Result<std::string> ReadAll(int fd, size_t limit) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("read");
    }
    if (n == 0) break;
    if (static_cast<size_t>(n) > limit - out.size()) {
      return Error(EFBIG, "more than " + std::to_string(limit) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

int OpenAt2(int dirfd, const std::string& path, uint64_t flags, uint64_t resolve, mode_t mode) {
  struct open_how how {};
  how.flags = flags | O_CLOEXEC;
  // openat2 takes a mode only with O_CREAT or O_TMPFILE (which contains
  // O_DIRECTORY's bit: tested whole).
  how.mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0;
  how.resolve = resolve;
  for (;;) {
    long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) return static_cast<int>(fd);
  }
}

Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags) {
  UniqueFd fd(OpenAt2(root_fd, path, static_cast<uint64_t>(flags),
                      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
  if (!fd) return Error::FromErrno("open " + path);
  return fd;
}

Result<UniqueFd> OpenRegularInRoot(int root_fd, const std::string& path, struct stat* st) {
  ASSIGN_OR_RETURN(UniqueFd found, OpenInRoot(root_fd, path, O_PATH));
  struct stat own;
  if (st == nullptr) st = &own;
  if (::fstat(found.get(), st) != 0) return Error::FromErrno("stat " + path);
  if (!S_ISREG(st->st_mode)) return Error::Invalid(path + " is not a regular file");
  return OpenFile(ProcFdPath(found.get()), O_RDONLY | O_NOCTTY);
}

Result<std::string> ReadFile(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  auto data = ReadAll(fd.get());
  if (!data.ok()) return std::move(data).error().Context(path);
  return data;
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

Result<size_t> ReadFull(int fd, char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::read(fd, buf + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("read");
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

std::string JoinPath(std::string_view a, std::string_view b) {
  std::string out(a);
  if (!out.empty() && out.back() != '/') out.push_back('/');
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  out.append(b);
  return out;
}

std::string ProcFdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

namespace {

Status WriteAndRename(const std::string& path, std::string_view data, mode_t mode, bool durable) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string tmp = JoinPath(dir, "." + path.substr(slash + 1) + ".tmp");
  {
    ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    RETURN_IF_ERROR_CTX(WriteAll(fd.get(), data), tmp);
    if (durable && ::fsync(fd.get()) != 0) return Error::FromErrno("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error err = Error::FromErrno("rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return err;
  }
  return durable ? FsyncPath(dir) : Ok();
}

}  // namespace

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  return WriteAndRename(path, data, mode, true);
}

Status ReplaceFile(const std::string& path, std::string_view data, mode_t mode) {
  return WriteAndRename(path, data, mode, false);
}

Result<std::vector<std::string>> ListDir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return Error::FromErrno("open " + path);
  }
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") out.emplace_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Status FsyncPath(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  if (::fsync(fd.get()) != 0) return Error::FromErrno("fsync " + path);
  return Ok();
}

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return Ok();
  std::string cur;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    cur = path.substr(0, next);
    pos = next + 1;
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) {
      return Error::FromErrno("mkdir " + cur);
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error::FromErrno("stat " + path);
  if (!S_ISDIR(st.st_mode)) return Error(ENOTDIR, path + ": not a directory");
  return Ok();
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

namespace {

// Levels of a tree RemoveTree holds open at once. A subtree deeper than
// this (a container can nest directories without limit in a volume or its
// upper) is moved up to the top of the tree and removed from there, so the
// descriptors and memory a removal takes do not grow with the depth.
constexpr int kMaxOpenLevels = 32;

struct Remover {
  int top_fd;  // the directory being emptied, where deep subtrees are moved
  uint64_t hoisted = 0;

  // Removes name (below dirfd) and its contents; depth: dirfd's level.
  Status RemoveAt(int dirfd, const char* name, const std::string& shown, int depth) {
    struct stat st;
    if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return Ok();
      return Error::FromErrno("stat " + shown);
    }
    if (!S_ISDIR(st.st_mode)) {
      if (::unlinkat(dirfd, name, 0) != 0 && errno != ENOENT) {
        return Error::FromErrno("unlink " + shown);
      }
      return Ok();
    }
    if (depth >= kMaxOpenLevels) return Hoist(dirfd, name, shown);
    int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Error::FromErrno("open " + shown);
    RETURN_IF_ERROR(Empty(fd, shown, depth + 1));
    if (::unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return Error::FromErrno("rmdir " + shown);
    }
    return Ok();
  }

  // Removes the entries of the directory fd (consumed).
  Status Empty(int fd, const std::string& shown, int depth) {
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      ::close(fd);
      return Error::FromErrno("opendir " + shown);
    }
    Status status;
    while (struct dirent* de = ::readdir(dir)) {
      std::string_view child = de->d_name;
      if (child == "." || child == "..") continue;
      status = RemoveAt(::dirfd(dir), de->d_name, shown + "/" + de->d_name, depth);
      if (!status.ok()) break;
    }
    ::closedir(dir);
    return status;
  }

  // Moves the directory name (below dirfd) to the top, for a later pass.
  Status Hoist(int dirfd, const char* name, const std::string& shown) {
    for (;;) {
      std::string to = ".rm-deep-" + std::to_string(++hoisted);
      if (::renameat2(dirfd, name, top_fd, to.c_str(), RENAME_NOREPLACE) == 0) return Ok();
      if (errno != EEXIST) return Error::FromErrno("move " + shown + " up");
    }
  }
};

}  // namespace

Status RemoveTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Ok();
    return Error::FromErrno("stat " + path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error::FromErrno("unlink " + path);
    return Ok();
  }
  UniqueFd top(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!top) {
    if (errno == ENOENT) return Ok();
    return Error::FromErrno("open " + path);
  }
  Remover remover{top.get()};
  // Each pass removes what the last one moved up.
  for (uint64_t seen = 0;; seen = remover.hoisted) {
    int fd = ::openat(top.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error::FromErrno("open " + path);
    RETURN_IF_ERROR(remover.Empty(fd, path, 1));
    if (remover.hoisted == seen) break;
  }
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return Error::FromErrno("rmdir " + path);
  return Ok();
}

Result<TempDir> TempDir::Create(const std::string& parent, std::string_view prefix) {
  std::string templ = JoinPath(parent, std::string(prefix) + "XXXXXX");
  if (::mkdtemp(templ.data()) == nullptr) return Error::FromErrno("mkdtemp " + templ);
  return TempDir(std::move(templ));
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) (void)RemoveTree(path_);
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

TempDir::~TempDir() {
  if (!path_.empty()) (void)RemoveTree(path_);
}

}  // namespace strata
