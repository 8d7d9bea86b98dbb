// GzipSource: the decompressed stream of gzip data, with ISA-L's igzip
// inflate (Debian's libisal), about twice as fast as zlib's: gunzip is the
// largest single cost of importing or pulling a gzip layer.
//
// Each member's header is parsed and its CRC-32 and length checked.
// Concatenated members are read one after another (RFC 1952 allows them);
// after a member, anything that does not start another gzip header ends the
// stream and is left unread in the input, as libarchive's gzip filter does
// (a layer's digest still covers it: the caller hashes the compressed
// source to its end). Corrupt deflate data, a bad checksum or input that
// ends inside a member is EBADMSG.
//
// Not thread-safe; one reader at a time.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "storage/byte_source.h"

namespace strata::storage {

class GzipSource : public ByteSource {
 public:
  // `prefix`: bytes already read from `compressed` (the caller looked at
  // the magic number), decoded before the rest of `compressed`.
  GzipSource(ByteSource* compressed, std::string prefix);
  ~GzipSource() override;
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  Result<size_t> Read(char* buf, size_t n) override;

  // Whether data starts with the gzip magic number (1f 8b).
  static bool LooksLikeGzip(std::string_view data);

 private:
  // Makes at least `want` unread input bytes available, unless the input
  // ends first; returns how many there are.
  Result<size_t> FillInput(size_t want);

  struct State;
  ByteSource* input_;
  std::unique_ptr<State> state_;
  std::string in_buf_;
  bool input_eof_ = false;
  bool done_ = false;
};

}  // namespace strata::storage
