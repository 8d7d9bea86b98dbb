#include "runtime/upper_layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "common/fs.h"

namespace strata::runtime {

namespace {

constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

struct ArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<archive_entry, EntryFree>;

bool KeepXattr(std::string_view name) {
  if (name == "security.selinux") return false;
  return name.substr(0, 5) == "user." || name.substr(0, 9) == "security.";
}

Result<std::vector<std::string>> ListDir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return Error::FromErrno("opendir " + path);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* de = ::readdir(dir)) {
    std::string_view name = de->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return Error::FromErrno("readdir " + path, err);
  std::sort(names.begin(), names.end());
  return names;
}

class Writer {
 public:
  Writer(std::string upper, archive* a) : upper_(std::move(upper)), a_(a) {}

  Status Tree(const std::string& rel) {
    std::string dir = rel.empty() ? upper_ : upper_ + "/" + rel;
    ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
    for (const auto& name : names) {
      std::string child = rel.empty() ? name : rel + "/" + name;
      RETURN_IF_ERROR(One(child));
    }
    return Ok();
  }

 private:
  Status Check(int r, const std::string& what) {
    if (r >= ARCHIVE_WARN) return Ok();
    const char* msg = archive_error_string(a_);
    return Error(archive_errno(a_) != 0 ? archive_errno(a_) : EIO,
                 "write layer tar: " + what + ": " + (msg ? msg : "error"));
  }

  Status Header(archive_entry* e, const std::string& rel) {
    return Check(archive_write_header(a_, e), rel);
  }

  EntryPtr NewEntry(const std::string& rel, const struct stat& st) {
    EntryPtr e(archive_entry_new());
    archive_entry_set_pathname(e.get(), rel.c_str());
    archive_entry_set_mode(e.get(), st.st_mode);
    archive_entry_set_uid(e.get(), st.st_uid);
    archive_entry_set_gid(e.get(), st.st_gid);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    return e;
  }

  // An empty regular file: a whiteout or an opaque marker.
  Status Marker(const std::string& rel, const struct stat& st) {
    EntryPtr e(archive_entry_new());
    archive_entry_set_pathname(e.get(), rel.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), 0);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    return Header(e.get(), rel);
  }

  Status Xattrs(archive_entry* e, const std::string& path) {
    ssize_t len = ::llistxattr(path.c_str(), nullptr, 0);
    if (len < 0) {
      if (errno == ENOTSUP) return Ok();
      return Error::FromErrno("listxattr " + path);
    }
    std::string names(static_cast<size_t>(len), '\0');
    len = ::llistxattr(path.c_str(), names.data(), names.size());
    if (len < 0) return Error::FromErrno("listxattr " + path);
    names.resize(static_cast<size_t>(len));
    for (size_t start = 0; start < names.size();) {
      std::string name = names.c_str() + start;
      start += name.size() + 1;
      if (!KeepXattr(name)) continue;
      ssize_t vlen = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
      if (vlen < 0) continue;
      std::string value(static_cast<size_t>(vlen), '\0');
      vlen = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (vlen < 0) continue;
      archive_entry_xattr_add_entry(e, name.c_str(), value.data(), static_cast<size_t>(vlen));
    }
    return Ok();
  }

  static bool IsEmptyDir(const std::string& path) {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return false;
    bool empty = true;
    while (struct dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
        empty = false;
        break;
      }
    }
    ::closedir(d);
    return empty;
  }

  static bool IsOpaque(const std::string& path) {
    char value[4];
    ssize_t n = ::lgetxattr(path.c_str(), kOpaqueXattr, value, sizeof value);
    return n == 1 && value[0] == 'y';
  }

  Status One(const std::string& rel) {
    std::string path = upper_ + "/" + rel;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return Error::FromErrno("stat " + path);
    std::string dir = rel.substr(0, rel.rfind('/') == std::string::npos ? 0 : rel.rfind('/') + 1);
    std::string name = rel.substr(dir.size());

    if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
      return Marker(dir + std::string(kWhiteoutPrefix) + name, st);
    }
    if (S_ISSOCK(st.st_mode)) return Ok();
    if (S_ISREG(st.st_mode) && st.st_size == 0 &&
        (rel == "etc/hostname" || rel == "etc/hosts" || rel == "etc/resolv.conf")) {
      return Ok();
    }
    // The empty mount point of the status files (/run/strata) is the
    // runtime's, not the container's change.
    if (S_ISDIR(st.st_mode) && rel == "run/strata" && IsEmptyDir(path)) return Ok();

    EntryPtr e = NewEntry(S_ISDIR(st.st_mode) ? rel + "/" : rel, st);
    RETURN_IF_ERROR(Xattrs(e.get(), path));
    if (S_ISDIR(st.st_mode)) {
      RETURN_IF_ERROR(Header(e.get(), rel));
      if (IsOpaque(path)) RETURN_IF_ERROR(Marker(rel + "/" + std::string(kOpaqueMarker), st));
      return Tree(rel);
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return Error::FromErrno("readlink " + path);
      target.resize(static_cast<size_t>(n));
      archive_entry_set_symlink(e.get(), target.c_str());
      return Header(e.get(), rel);
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      archive_entry_set_rdev(e.get(), st.st_rdev);
      return Header(e.get(), rel);
    }
    if (S_ISFIFO(st.st_mode)) return Header(e.get(), rel);
    if (!S_ISREG(st.st_mode)) return Ok();

    if (st.st_nlink > 1) {
      auto [it, first] = links_.emplace(st.st_ino, rel);
      if (!first) {
        archive_entry_set_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        return Header(e.get(), rel);
      }
    }
    archive_entry_set_size(e.get(), st.st_size);
    RETURN_IF_ERROR(Header(e.get(), rel));
    ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    std::vector<char> buf(1 << 20);
    off_t left = st.st_size;
    while (left > 0) {
      ssize_t n = ::read(fd.get(), buf.data(), std::min<size_t>(buf.size(), left));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::FromErrno("read " + path);
      if (n == 0) return Error(EIO, path + " shrank while it was committed");
      la_ssize_t w = archive_write_data(a_, buf.data(), static_cast<size_t>(n));
      if (w < 0) RETURN_IF_ERROR(Check(ARCHIVE_FATAL, rel));
      left -= n;
    }
    return Ok();
  }

  std::string upper_;
  archive* a_;
  std::map<ino_t, std::string> links_;
};

}  // namespace

Status WriteUpperLayer(const std::string& upper_dir, int fd) {
  std::unique_ptr<archive, ArchiveFree> a(archive_write_new());
  if (!a) return Error(ENOMEM, "archive_write_new");
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open_fd(a.get(), fd) != ARCHIVE_OK) {
    return Error(EIO, std::string("write layer tar: ") + archive_error_string(a.get()));
  }
  Writer writer(upper_dir, a.get());
  RETURN_IF_ERROR(writer.Tree(""));
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return Error(EIO, std::string("write layer tar: ") + archive_error_string(a.get()));
  }
  return Ok();
}

}  // namespace strata::runtime
