// ExportSink: where an image export writes its files — a directory (an OCI
// layout) or a tar file (an OCI archive, a docker-archive).
//
// Everything is written under a temporary name beside the target
// (".NAME.tmp-XXXXXX" in the target's directory, so the final rename stays on
// one filesystem) and appears at the target only when Commit() renames it
// into place, after syncing it. A sink destroyed without Commit() removes
// what it wrote: a failed export leaves nothing behind.
//
// Targets: a directory target must not exist or be an empty directory
// (EEXIST otherwise); a tar target may be an existing file, which Commit()
// replaces atomically (as `docker save -o` would), but not a directory.
//
// File names are relative ("blobs/sha256/<hex>"); parents are made as
// needed (a tar gets their directory entries first). Tar members are owned
// by 0:0 with mtime 0, files 0644 and directories 0755, so equal images give
// equal archives.
//
// Not thread-safe; one writer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace strata::storage {

class ExportSink {
 public:
  using Writer = std::function<Status(std::string_view)>;

  static Result<std::unique_ptr<ExportSink>> CreateDir(const std::string& path);
  static Result<std::unique_ptr<ExportSink>> CreateTar(const std::string& path);
  virtual ~ExportSink() = default;

  virtual Status AddFile(const std::string& name, std::string_view data) = 0;
  // Adds a file of exactly size bytes, which produce passes to its writer in
  // pieces. More or fewer bytes than size fail the export (EBADMSG).
  virtual Status AddStream(const std::string& name, uint64_t size,
                           const std::function<Status(const Writer&)>& produce) = 0;
  // Syncs and renames the result to the target path.
  virtual Status Commit() = 0;
};

}  // namespace strata::storage
