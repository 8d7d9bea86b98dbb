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

// A source that computes the sha256 of the stream it hands out and counts
// its bytes (a layer's diffID and tar size).
class DigestingSource : public ByteSource {
 public:
  // The sha256 of the stream; once, after Read returned 0.
  virtual Digest Finish() = 0;
  // Bytes handed out by Read so far.
  virtual uint64_t bytes() const = 0;
};

// Passes bytes through while computing their sha256 and counting them.
class HashingSource : public DigestingSource {
 public:
  explicit HashingSource(ByteSource* inner) : inner_(inner) {}
  Result<size_t> Read(char* buf, size_t n) override;
  Digest Finish() override { return sha_.Finish(); }
  uint64_t bytes() const override { return bytes_; }

 private:
  ByteSource* inner_;
  Sha256 sha_;
  uint64_t bytes_ = 0;
};

// Decompresses gzip, zstd, xz, bzip2 (or passes plain data through), detected
// from the data itself: gzip with GzipSource (ISA-L), the others with
// libarchive's filters. Open reads the first bytes of the input.
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
