#include "storage/export_sink.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <set>

#include "common/fs.h"
#include "common/unique_fd.h"

namespace strata::storage {

namespace {

// "a/b/c" -> "a/b"; "c" -> ".".
std::string DirOf(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string BaseOf(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Error SizeMismatch(const std::string& name, uint64_t written, uint64_t size) {
  return Error::Corrupt(name + ": " + (written > size ? "more" : "fewer") + " bytes than the " +
                        std::to_string(size) + " announced");
}

// Passes pieces to write, refusing to go past size.
Status ProduceExactly(const std::string& name, uint64_t size,
                      const std::function<Status(const ExportSink::Writer&)>& produce,
                      const std::function<Status(std::string_view)>& write) {
  uint64_t written = 0;
  RETURN_IF_ERROR(produce([&](std::string_view piece) -> Status {
    if (piece.size() > size - written) return SizeMismatch(name, written + piece.size(), size);
    written += piece.size();
    return write(piece);
  }));
  if (written != size) return SizeMismatch(name, written, size);
  return Ok();
}

class DirSink : public ExportSink {
 public:
  DirSink(std::string target, TempDir tmp) : target_(std::move(target)), tmp_(std::move(tmp)) {}

  Status AddFile(const std::string& name, std::string_view data) override {
    ASSIGN_OR_RETURN(UniqueFd fd, Create(name));
    return WriteAll(fd.get(), data);
  }

  Status AddStream(const std::string& name, uint64_t size,
                   const std::function<Status(const Writer&)>& produce) override {
    ASSIGN_OR_RETURN(UniqueFd fd, Create(name));
    return ProduceExactly(name, size, produce,
                          [&](std::string_view piece) { return WriteAll(fd.get(), piece); });
  }

  Status Commit() override {
    const std::string& tmp = tmp_.path();
    if (::chmod(tmp.c_str(), 0755) != 0) return Error::FromErrno("chmod " + tmp);
    {
      ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_RDONLY | O_DIRECTORY));
      if (::syncfs(fd.get()) != 0) return Error::FromErrno("syncfs " + tmp);
    }
    if (::rename(tmp.c_str(), target_.c_str()) != 0) {
      if (errno == ENOTEMPTY || errno == EEXIST) {
        return Error::Exists(target_ + ": exists and is not an empty directory");
      }
      return Error::FromErrno("rename " + tmp + " to " + target_);
    }
    tmp_.Keep();
    return FsyncPath(DirOf(target_));
  }

 private:
  Result<UniqueFd> Create(const std::string& name) {
    std::string path = JoinPath(tmp_.path(), name);
    RETURN_IF_ERROR(MakeDirs(DirOf(path)));
    return OpenFile(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
  }

  std::string target_;
  TempDir tmp_;
};

class TarSink : public ExportSink {
 public:
  TarSink(std::string target, std::string tmp_path, UniqueFd fd)
      : target_(std::move(target)), tmp_path_(std::move(tmp_path)), fd_(std::move(fd)) {}

  ~TarSink() override {
    if (a_ != nullptr) archive_write_free(a_);
    if (!committed_) ::unlink(tmp_path_.c_str());
  }

  Status Open() {
    a_ = archive_write_new();
    if (a_ == nullptr) return Error(ENOMEM, "archive_write_new");
    if (archive_write_set_format_pax_restricted(a_) != ARCHIVE_OK ||
        archive_write_open(a_, this, nullptr, &TarSink::WriteCallback, nullptr) != ARCHIVE_OK) {
      return ArchiveError("open tar writer");
    }
    return Ok();
  }

  Status AddFile(const std::string& name, std::string_view data) override {
    RETURN_IF_ERROR(Header(name, AE_IFREG, 0644, data.size()));
    return Data(name, data);
  }

  Status AddStream(const std::string& name, uint64_t size,
                   const std::function<Status(const Writer&)>& produce) override {
    RETURN_IF_ERROR(Header(name, AE_IFREG, 0644, size));
    return ProduceExactly(name, size, produce,
                          [&](std::string_view piece) { return Data(name, piece); });
  }

  Status Commit() override {
    if (archive_write_close(a_) != ARCHIVE_OK) return ArchiveError("finish " + tmp_path_);
    if (::fchmod(fd_.get(), 0644) != 0) return Error::FromErrno("chmod " + tmp_path_);
    if (::fsync(fd_.get()) != 0) return Error::FromErrno("fsync " + tmp_path_);
    if (::rename(tmp_path_.c_str(), target_.c_str()) != 0) {
      return Error::FromErrno("rename " + tmp_path_ + " to " + target_);
    }
    committed_ = true;
    return FsyncPath(DirOf(target_));
  }

 private:
  static la_ssize_t WriteCallback(archive*, void* data, const void* buf, size_t n) {
    auto* self = static_cast<TarSink*>(data);
    Status st = WriteAll(self->fd_.get(), {static_cast<const char*>(buf), n});
    if (!st.ok()) {
      self->io_error_ = std::move(st).error();
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }

  Error ArchiveError(const std::string& what) {
    if (io_error_) return Error(*io_error_).Context(what);
    const char* msg = archive_error_string(a_);
    return Error(EIO, what + ": " + (msg != nullptr ? msg : "tar writer error"));
  }

  Status Header(const std::string& name, unsigned type, mode_t mode, uint64_t size) {
    // Parent directories first, each once.
    for (size_t slash = name.find('/'); slash != std::string::npos;
         slash = name.find('/', slash + 1)) {
      std::string dir = name.substr(0, slash + 1);
      if (dirs_.insert(dir).second) RETURN_IF_ERROR(Header(dir, AE_IFDIR, 0755, 0));
    }
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                               archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), mode);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), 0, 0);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    if (archive_write_header(a_, e.get()) != ARCHIVE_OK) return ArchiveError("tar " + name);
    return Ok();
  }

  Status Data(const std::string& name, std::string_view data) {
    while (!data.empty()) {
      la_ssize_t n = archive_write_data(a_, data.data(), data.size());
      if (n <= 0) return ArchiveError("tar " + name);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Ok();
  }

  std::string target_;
  std::string tmp_path_;
  UniqueFd fd_;
  archive* a_ = nullptr;
  std::set<std::string> dirs_;
  std::optional<Error> io_error_;
  bool committed_ = false;
};

Result<bool> IsEmptyDir(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) return Error::FromErrno("opendir " + path);
  fd.release();
  bool empty = true;
  while (struct dirent* de = ::readdir(dir)) {
    std::string_view name = de->d_name;
    if (name != "." && name != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(dir);
  return empty;
}

}  // namespace

Result<std::unique_ptr<ExportSink>> ExportSink::CreateDir(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    ASSIGN_OR_RETURN(bool empty, S_ISDIR(st.st_mode) ? IsEmptyDir(path) : Result<bool>(false));
    if (!empty) return Error::Exists(path + ": exists and is not an empty directory");
  }
  std::string prefix = "." + BaseOf(path) + ".tmp-";
  ASSIGN_OR_RETURN(TempDir tmp, TempDir::Create(DirOf(path), prefix));
  return std::unique_ptr<ExportSink>(new DirSink(path, std::move(tmp)));
}

Result<std::unique_ptr<ExportSink>> ExportSink::CreateTar(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Error(EISDIR, path + ": is a directory");
  }
  std::string tmp = JoinPath(DirOf(path), "." + BaseOf(path) + ".tmp-XXXXXX");
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return Error::FromErrno("create " + tmp);
  auto sink = std::make_unique<TarSink>(path, tmp, UniqueFd(fd));
  RETURN_IF_ERROR(sink->Open());
  return std::unique_ptr<ExportSink>(std::move(sink));
}

}  // namespace strata::storage
