// ImageDir: the directory form of an image being imported (an OCI layout or
// an unpacked docker-archive), either given by the user or staged from an
// archive by ExtractImageArchive.
//
// Every path an image names (index.json's blobs, manifest.json's Config and
// Layers) is hostile: it must be relative, without "..", and resolve beneath
// the directory. Files are opened with openat2(RESOLVE_BENEATH) where the
// kernel has it (symlinks inside the directory are followed, none out of it)
// and otherwise component by component without following any symlink. Only
// regular files are opened (a FIFO cannot block the import).
//
// Thread safety: an ImageDir is immutable after Open; its methods may be
// called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::storage {

class ImageDir {
 public:
  static Result<ImageDir> Open(const std::string& path);

  // Opens a regular file below the directory for reading. EINVAL for a path
  // that is absolute, contains ".." or escapes; ENOENT if missing.
  Result<UniqueFd> OpenFile(std::string_view rel) const;
  // Reads a whole file of at most max_bytes (EFBIG beyond, naming the file).
  Result<std::string> ReadFile(std::string_view rel, uint64_t max_bytes) const;
  // Whether rel names an existing regular file (false for anything invalid).
  bool HasFile(std::string_view rel) const;

  const std::string& path() const { return path_; }

 private:
  ImageDir(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

// "./a//b" -> "a/b"; "" or "." -> "" (the root). Refuses absolute paths,
// "..", NUL, components over 255 bytes and paths over 4096 bytes (EINVAL).
Result<std::string> CleanRelativePath(std::string_view path);

struct ExtractLimits {
  uint64_t max_bytes = 0;        // total content bytes written
  uint64_t max_entries = 65536;  // archive members of any type
};

// Extracts a tar (plain or compressed with anything libarchive reads) into
// dir, an existing empty directory that nobody else writes. Regular files
// and directories are written (files 0600, directories 0700); hard links to
// a file already extracted become hard links; symlinks, devices and other
// members are skipped (no image format needs them: skopeo's and docker's
// legacy symlinks point at files manifest.json names directly). Member paths
// go through CleanRelativePath; a duplicate file or a limit exceeded is an
// error. On error dir is left for its owner (a TempDir) to remove.
// progress (optional) gets the content bytes written so far, every few MiB.
Status ExtractImageArchive(const std::string& archive_path, const std::string& dir,
                           const ExtractLimits& limits,
                           const std::function<void(uint64_t bytes)>& progress = nullptr);

}  // namespace strata::storage
