// ByteSource: a pull stream of bytes (a file, a decompressor, a network
// body). Read returns 0 only at end of stream.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"
#include "storage/digest.h"

namespace strata::storage {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

// Reads a file descriptor.
class FdSource : public ByteSource {
 public:
  explicit FdSource(UniqueFd fd) : fd_(std::move(fd)) {}
  static Result<std::unique_ptr<FdSource>> Open(const std::string& path);
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  UniqueFd fd_;
};

// Passes bytes through while computing their sha256 and counting them.
class HashingSource : public ByteSource {
 public:
  explicit HashingSource(ByteSource* inner) : inner_(inner) {}
  Result<size_t> Read(char* buf, size_t n) override;
  Digest Finish() { return sha_.Finish(); }
  uint64_t bytes() const { return bytes_; }

 private:
  ByteSource* inner_;
  Sha256 sha_;
  uint64_t bytes_ = 0;
};

// Decompresses gzip, zstd, xz, bzip2 (or passes plain data through), detected
// from the data itself; uses libarchive's filters.
class DecompressingSource : public ByteSource {
 public:
  static Result<std::unique_ptr<DecompressingSource>> Open(ByteSource* compressed);
  ~DecompressingSource() override;
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  DecompressingSource() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::storage
