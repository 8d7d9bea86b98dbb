// LayerCompressor: compresses a layer's tar, as ReassembleLayer replays it,
// into a file while hashing the compressed bytes — what a push uploads.
//
// gzip (zlib, default level, no name and mtime 0 in the header) or zstd
// (level 3). Equal input and library versions give equal output, so a
// layer compressed twice gets the same digest; the diffID never changes
// since the tar itself is the stored one, byte for byte.
//
// Not thread-safe; one compressor per layer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"
#include "storage/digest.h"

namespace strata::registry {

enum class Compression { kGzip, kZstd };

Result<Compression> ParseCompression(std::string_view name);  // "gzip", "zstd"
std::string_view LayerMediaType(Compression c);               // the OCI tar+gzip / tar+zstd types

class LayerCompressor {
 public:
  // Writes to fd (owned by the caller, positioned at 0).
  static Result<std::unique_ptr<LayerCompressor>> Create(Compression c, int fd);
  ~LayerCompressor();
  Status Write(std::string_view data);
  // Flushes the end of the stream; then digest() and size() are final.
  Status Finish();
  storage::Digest digest() { return digest_; }
  uint64_t size() const { return size_; }

 private:
  LayerCompressor() = default;
  Status Emit(std::string_view out);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int fd_ = -1;
  storage::Sha256 sha_;
  storage::Digest digest_;
  uint64_t size_ = 0;
};

}  // namespace strata::registry
