#include "storage/image_dir.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <set>

#include "common/fs.h"
#include "storage/oci.h"

namespace strata::storage {

namespace {

constexpr size_t kMaxPath = 4096;
constexpr size_t kMaxComponent = 255;
constexpr uint64_t kProgressEvery = 4 << 20;

std::string Shown(std::string_view path) { return oci::Quoted(path, 200); }

// Opens rel (already clean) below dirfd without leaving it. Returns -1 with
// errno set; EXDEV or ELOOP mean the path tried to leave.
int OpenBeneath(int dirfd, const std::string& rel) {
  constexpr int kFlags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  int fd = strata::OpenAt2(dirfd, rel, kFlags, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
  if (fd >= 0) return fd;
  // Older kernels (ENOSYS) and some seccomp profiles (EPERM) lack openat2.
  if (errno != ENOSYS && errno != EPERM) return -1;
  // Fallback: walk the components, following no symlink at all.
  UniqueFd cur(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
  if (!cur) return -1;
  size_t start = 0;
  for (;;) {
    size_t slash = rel.find('/', start);
    std::string part = rel.substr(start, slash == std::string::npos ? slash : slash - start);
    bool last = slash == std::string::npos;
    int flags = last ? kFlags | O_NOFOLLOW : O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int next = ::openat(cur.get(), part.c_str(), flags);
    if (next < 0) return -1;
    cur.reset(next);
    if (last) return cur.release();
    start = slash + 1;
  }
}

struct ArchiveReadFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

Error ArchiveError(struct archive* a, std::string_view what) {
  int err = archive_errno(a);
  // libarchive reports format errors as EILSEQ and others as -1: not errnos a user wants.
  if (err <= 0 || err == EILSEQ) err = EINVAL;
  const char* msg = archive_error_string(a);
  return Error(err, std::string(what) + ": " + (msg != nullptr ? msg : "archive error"));
}

// mkdir -p of rel below root; every existing component must be a directory
// (the staging dir holds only directories and regular files).
Status MakeDirsAt(int root, const std::string& rel) {
  size_t pos = 0;
  while (pos <= rel.size()) {
    size_t slash = rel.find('/', pos);
    if (slash == std::string::npos) slash = rel.size();
    std::string prefix = rel.substr(0, slash);
    if (::mkdirat(root, prefix.c_str(), 0700) != 0) {
      if (errno != EEXIST) return Error::FromErrno("mkdir " + prefix);
      struct stat st;
      if (::fstatat(root, prefix.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return Error::FromErrno("stat " + prefix);
      }
      if (!S_ISDIR(st.st_mode)) {
        return Error::Invalid("archive member " + Shown(rel) + ": " + Shown(prefix) +
                              " is not a directory");
      }
    }
    pos = slash + 1;
  }
  return Ok();
}

Status MakeParentsAt(int root, const std::string& rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string::npos) return Ok();
  return MakeDirsAt(root, rel.substr(0, slash));
}

Status CopyMemberData(struct archive* a, int fd, const std::string& rel) {
  char buf[1 << 16];
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf, sizeof buf);
    if (n < 0) return ArchiveError(a, "archive member " + Shown(rel));
    if (n == 0) return Ok();
    RETURN_IF_ERROR_CTX(WriteAll(fd, std::string_view(buf, static_cast<size_t>(n))),
                        "staging " + rel);
  }
}

}  // namespace

Result<std::string> CleanRelativePath(std::string_view path) {
  auto bad = [&](std::string_view why) {
    return Error::Invalid("invalid path " + Shown(path) + ": " + std::string(why));
  };
  if (path.size() > kMaxPath) return bad("longer than 4096 bytes");
  if (path.find('\0') != std::string_view::npos) return bad("contains NUL");
  if (!path.empty() && path.front() == '/') return bad("absolute");
  std::string out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return bad("contains \"..\"");
    if (part.size() > kMaxComponent) return bad("a component is longer than 255 bytes");
    if (!out.empty()) out.push_back('/');
    out.append(part);
  }
  return out;
}

Result<ImageDir> ImageDir::Open(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, strata::OpenFile(path, O_RDONLY | O_DIRECTORY));
  return ImageDir(path, std::move(fd));
}

Result<UniqueFd> ImageDir::OpenFile(std::string_view rel_in) const {
  ASSIGN_OR_RETURN(std::string rel, CleanRelativePath(rel_in));
  if (rel.empty()) return Error::Invalid("invalid path " + Shown(rel_in) + ": names no file");
  UniqueFd fd(OpenBeneath(fd_.get(), rel));
  if (!fd) {
    if (errno == EXDEV || errno == ELOOP) {
      return Error::Invalid("open " + rel + ": leaves the image directory through a symlink");
    }
    return Error::FromErrno("open " + rel);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::FromErrno("stat " + rel);
  if (!S_ISREG(st.st_mode)) return Error::Invalid(rel + ": not a regular file");
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return Error::FromErrno("fcntl " + rel);
  }
  return fd;
}

Result<std::string> ImageDir::ReadFile(std::string_view rel, uint64_t max_bytes) const {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(rel));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::FromErrno("stat " + std::string(rel));
  auto too_big = [&] {
    return Error(EFBIG, std::string(rel) + ": larger than the " + std::to_string(max_bytes) +
                            " bytes allowed");
  };
  if (static_cast<uint64_t>(st.st_size) > max_bytes) return too_big();
  std::string data(static_cast<size_t>(max_bytes) + 1, '\0');
  auto n = ReadFull(fd.get(), data.data(), data.size());
  if (!n.ok()) return std::move(n).error().Context(std::string(rel));
  if (*n > max_bytes) return too_big();  // grew while we read
  data.resize(*n);
  return data;
}

bool ImageDir::HasFile(std::string_view rel) const { return OpenFile(rel).ok(); }

Status ExtractImageArchive(const std::string& archive_path, const std::string& dir,
                           const ExtractLimits& limits,
                           const std::function<void(uint64_t bytes)>& progress) {
  std::unique_ptr<struct archive, ArchiveReadFree> a(archive_read_new());
  if (!a) return Error(ENOMEM, "archive_read_new");
  // The compressions docs/images.md lists, through libraries only: "all"
  // would run programs from PATH (lzop -d, lrzip -d, grzip) on the archive.
  for (auto* support : {archive_read_support_filter_gzip, archive_read_support_filter_zstd,
                        archive_read_support_filter_xz, archive_read_support_filter_bzip2}) {
    if (support(a.get()) != ARCHIVE_OK) return ArchiveError(a.get(), archive_path);
  }
  archive_read_support_format_tar(a.get());
  ASSIGN_OR_RETURN(UniqueFd in, strata::OpenFile(archive_path, O_RDONLY));
  if (archive_read_open_fd(a.get(), in.get(), 1 << 16) != ARCHIVE_OK) {
    return ArchiveError(a.get(), archive_path);
  }
  ASSIGN_OR_RETURN(UniqueFd root, strata::OpenFile(dir, O_RDONLY | O_DIRECTORY));
  uint64_t entries = 0, bytes = 0, next_progress = 0;
  std::set<std::string> files;
  for (;;) {
    struct archive_entry* entry = nullptr;
    int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return ArchiveError(a.get(), archive_path);
    if (++entries > limits.max_entries) {
      return Error::Invalid(archive_path + ": more than " + std::to_string(limits.max_entries) +
                            " members");
    }
    const char* name = archive_entry_pathname(entry);
    if (name == nullptr) return Error::Invalid(archive_path + ": a member has no readable name");
    auto cleaned = CleanRelativePath(name);
    if (!cleaned.ok()) return std::move(cleaned).error().Context(archive_path);
    std::string rel = std::move(cleaned).value();

    if (const char* link = archive_entry_hardlink(entry); link != nullptr) {
      auto target = CleanRelativePath(link);
      if (!target.ok()) return std::move(target).error().Context(archive_path);
      if (rel.empty() || files.count(rel) > 0 || files.count(*target) == 0) {
        return Error::Invalid(archive_path + ": hard link " + Shown(rel) + " to " + Shown(*target) +
                              " is not a link to an earlier file");
      }
      RETURN_IF_ERROR(MakeParentsAt(root.get(), rel));
      if (::linkat(root.get(), target->c_str(), root.get(), rel.c_str(), 0) != 0) {
        return Error::FromErrno("link " + rel);
      }
      files.insert(rel);
      continue;
    }
    if (archive_entry_filetype(entry) == AE_IFDIR) {
      if (!rel.empty()) RETURN_IF_ERROR(MakeDirsAt(root.get(), rel));
      continue;
    }
    if (archive_entry_filetype(entry) != AE_IFREG) continue;  // symlinks, devices: skipped

    if (rel.empty()) return Error::Invalid(archive_path + ": a file member names the root");
    if (!files.insert(rel).second) {
      return Error::Invalid(archive_path + ": duplicate member " + Shown(rel));
    }
    la_int64_t size = archive_entry_size(entry);
    if (size < 0) return Error::Invalid(archive_path + ": member " + Shown(rel) + " has no size");
    if (static_cast<uint64_t>(size) > limits.max_bytes - bytes) {
      return Error(EFBIG, archive_path + ": contents exceed the " +
                              std::to_string(limits.max_bytes) + " bytes allowed for staging");
    }
    RETURN_IF_ERROR(MakeParentsAt(root.get(), rel));
    int fd = ::openat(root.get(), rel.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0600);
    if (fd < 0) return Error::FromErrno("staging " + rel);
    UniqueFd out(fd);
    RETURN_IF_ERROR(CopyMemberData(a.get(), out.get(), rel));
    bytes += static_cast<uint64_t>(size);
    if (progress && bytes >= next_progress) {
      progress(bytes);
      next_progress = bytes + kProgressEvery;
    }
  }
  return Ok();
}

}  // namespace strata::storage
