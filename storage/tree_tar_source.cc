#include "storage/tree_tar_source.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "common/fs.h"

namespace strata::storage {

namespace {

constexpr size_t kChunk = 1 << 20;  // file content written per step
constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<archive_entry, EntryFree>;

Result<std::vector<std::string>> ListDir(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) return Error::FromErrno("opendir " + path);
  fd.release();  // owned by dir now
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

bool KeepXattr(std::string_view name) {
  if (name == "security.selinux") return false;
  return name.substr(0, 5) == "user." || name.substr(0, 9) == "security.";
}

// The xattrs of path (not following a symlink), sorted by name.
Result<std::vector<std::pair<std::string, std::string>>> ReadXattrs(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  ssize_t len = ::llistxattr(path.c_str(), nullptr, 0);
  if (len < 0) {
    if (errno == ENOTSUP) return out;
    return Error::FromErrno("listxattr " + path);
  }
  std::string names(static_cast<size_t>(len), '\0');
  len = ::llistxattr(path.c_str(), names.data(), names.size());
  if (len < 0) return Error::FromErrno("listxattr " + path);
  names.resize(static_cast<size_t>(len));
  for (size_t pos = 0; pos < names.size();) {
    std::string name(names.c_str() + pos);
    pos += name.size() + 1;
    if (!KeepXattr(name)) continue;
    ssize_t vlen = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (vlen < 0) {
      if (errno == ENODATA) continue;  // removed meanwhile
      return Error::FromErrno("getxattr " + path + " " + name);
    }
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (vlen < 0) return Error::FromErrno("getxattr " + path + " " + name);
    value.resize(static_cast<size_t>(vlen));
    out.emplace_back(std::move(name), std::move(value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool IsOpaqueDir(const std::string& path) {
  char value[4];
  ssize_t n = ::lgetxattr(path.c_str(), kOpaqueXattr, value, sizeof value);
  return n == 1 && value[0] == 'y';
}

}  // namespace

struct TreeTarSource::Impl {
  struct Dir {
    std::string rel;  // "" for the root
    std::vector<std::string> names;
    size_t next = 0;
  };

  std::string root;
  TreeTarOptions options;
  archive* a = nullptr;
  std::string out;  // tar bytes made, not yet read
  size_t out_pos = 0;
  std::vector<Dir> stack;
  UniqueFd file;  // the regular file whose content is being written
  std::string file_rel;
  uint64_t file_left = 0;
  std::map<std::pair<dev_t, ino_t>, std::string> first_names;  // hard links
  std::string chunk;
  bool done = false;

  ~Impl() {
    if (a != nullptr) archive_write_free(a);
  }

  static la_ssize_t WriteCallback(archive*, void* data, const void* buf, size_t n) {
    static_cast<Impl*>(data)->out.append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }

  Error ArchiveError(std::string_view what) const {
    const char* msg = archive_error_string(a);
    return Error(EIO, std::string(what) + ": " + (msg != nullptr ? msg : "tar writer error"));
  }

  std::string FullPath(const std::string& rel) const { return JoinPath(root, rel); }

  // Makes more tar bytes: a piece of the current file, or the next entry's
  // header, or the end of the archive.
  Status Step() {
    if (file) return WriteFileChunk();
    while (!stack.empty()) {
      Dir& top = stack.back();
      if (top.next == top.names.size()) {
        stack.pop_back();
        continue;
      }
      const std::string& name = top.names[top.next++];
      std::string rel = top.rel.empty() ? name : top.rel + "/" + name;
      ASSIGN_OR_RETURN(bool emitted, EmitEntry(rel));
      if (emitted) return Ok();
    }
    if (archive_write_close(a) != ARCHIVE_OK) return ArchiveError("finish tar");
    done = true;
    return Ok();
  }

  Status WriteFileChunk() {
    size_t want = static_cast<size_t>(std::min<uint64_t>(file_left, kChunk));
    chunk.resize(want);
    ASSIGN_OR_RETURN(size_t got, ReadFull(file.get(), chunk.data(), want));
    if (got < want) return Error(EIO, FullPath(file_rel) + ": file shrank while being read");
    if (archive_write_data(a, chunk.data(), got) != static_cast<la_ssize_t>(got)) {
      return ArchiveError("tar " + file_rel);
    }
    file_left -= got;
    if (file_left == 0) file.reset();
    return Ok();
  }

  // Writes the header of rel (and queues its content or children); false if
  // the entry is skipped.
  Result<bool> EmitEntry(const std::string& rel) {
    const std::string path = FullPath(rel);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return Error::FromErrno("stat " + path);
    if (S_ISSOCK(st.st_mode)) return false;
    if (options.skip && options.skip(rel, st)) return false;
    if (options.overlay_upper && S_ISCHR(st.st_mode) && st.st_rdev == 0) {
      const size_t slash = rel.rfind('/');
      const size_t base = slash == std::string::npos ? 0 : slash + 1;
      RETURN_IF_ERROR(WriteMarker(rel.substr(0, base) + std::string(kWhiteoutPrefix) +
                                      rel.substr(base),
                                  st));
      return true;
    }

    EntryPtr e(archive_entry_new());
    archive_entry_set_pathname(e.get(), rel.c_str());
    archive_entry_set_mode(e.get(), st.st_mode);
    archive_entry_set_uid(e.get(), st.st_uid);
    archive_entry_set_gid(e.get(), st.st_gid);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    ASSIGN_OR_RETURN(auto xattrs, ReadXattrs(path));
    for (const auto& [name, value] : xattrs) {
      archive_entry_xattr_add_entry(e.get(), name.c_str(), value.data(), value.size());
    }

    UniqueFd content;
    if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1) {
        auto [it, first] = first_names.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
        if (!first) {
          archive_entry_set_hardlink(e.get(), it->second.c_str());
          archive_entry_set_size(e.get(), 0);
          RETURN_IF_ERROR(WriteHeader(e.get(), rel));
          return true;
        }
      }
      archive_entry_set_size(e.get(), st.st_size);
      if (st.st_size > 0) {
        ASSIGN_OR_RETURN(content, OpenFile(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY));
      }
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return Error::FromErrno("readlink " + path);
      if (static_cast<size_t>(n) == target.size()) {
        return Error(EIO, path + ": symlink changed while being read");
      }
      target.resize(static_cast<size_t>(n));
      archive_entry_set_symlink(e.get(), target.c_str());
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      archive_entry_set_rdevmajor(e.get(), major(st.st_rdev));
      archive_entry_set_rdevminor(e.get(), minor(st.st_rdev));
    }
    RETURN_IF_ERROR(WriteHeader(e.get(), rel));
    if (content) {
      file = std::move(content);
      file_rel = rel;
      file_left = static_cast<uint64_t>(st.st_size);
    }
    if (S_ISDIR(st.st_mode)) {
      if (options.overlay_upper && IsOpaqueDir(path)) {
        RETURN_IF_ERROR(WriteMarker(rel + "/" + std::string(kOpaqueMarker), st));
      }
      ASSIGN_OR_RETURN(auto names, ListDir(path));
      stack.push_back(Dir{rel, std::move(names), 0});
    }
    return true;
  }

  // An empty regular file that marks a whiteout or an opaque directory.
  Status WriteMarker(const std::string& rel, const struct stat& st) {
    EntryPtr e(archive_entry_new());
    archive_entry_set_pathname(e.get(), rel.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), 0);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    return WriteHeader(e.get(), rel);
  }

  Status WriteHeader(archive_entry* e, const std::string& rel) {
    int r = archive_write_header(a, e);
    if (r < ARCHIVE_WARN) return ArchiveError("tar " + rel);
    return Ok();
  }
};

Result<std::unique_ptr<TreeTarSource>> TreeTarSource::Open(const std::string& root,
                                                           TreeTarOptions options) {
  std::unique_ptr<TreeTarSource> src(new TreeTarSource());
  src->impl_ = std::make_unique<Impl>();
  Impl& impl = *src->impl_;
  impl.root = root;
  impl.options = std::move(options);
  ASSIGN_OR_RETURN(auto names, ListDir(root));
  impl.stack.push_back(Impl::Dir{"", std::move(names), 0});
  impl.a = archive_write_new();
  if (impl.a == nullptr) return Error(ENOMEM, "archive_write_new");
  // pax: long names, big ids and xattrs (SCHILY.xattr.*) where ustar cannot.
  if (archive_write_set_format_pax_restricted(impl.a) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(impl.a, 1) != ARCHIVE_OK ||
      archive_write_open(impl.a, &impl, nullptr, &Impl::WriteCallback, nullptr) != ARCHIVE_OK) {
    return impl.ArchiveError("tar writer");
  }
  return src;
}

TreeTarSource::~TreeTarSource() = default;

Result<size_t> TreeTarSource::Read(char* buf, size_t n) {
  Impl& impl = *impl_;
  while (impl.out_pos == impl.out.size()) {
    impl.out.clear();
    impl.out_pos = 0;
    if (impl.done) return size_t{0};
    RETURN_IF_ERROR(impl.Step());
  }
  size_t take = std::min(n, impl.out.size() - impl.out_pos);
  std::memcpy(buf, impl.out.data() + impl.out_pos, take);
  impl.out_pos += take;
  return take;
}

}  // namespace strata::storage
