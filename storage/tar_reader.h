// TarReader: a streaming reader of (uncompressed) tar archives that hands out
// every byte it reads: either as a file's content (ReadData) or as raw
// "segment" bytes (headers, extension headers, padding, end blocks, trailing
// data). Concatenating both in order gives back the input exactly, which is
// what tar-split records rely on; libarchive cannot expose its raw headers,
// hence this reader.
//
// Formats: ustar (with prefix), GNU (long names 'L'/'K', base-256 numbers),
// pax ('x' per-entry and 'g' global records: path, linkpath, size, uid, gid,
// mtime, uname/gname ignored, SCHILY.xattr.*). Sparse files and unknown
// entry types are refused (EINVAL); a stream that ends inside an entry or
// a header with a bad checksum is EBADMSG.
//
// Not thread-safe; one reader per stream.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "storage/byte_source.h"

namespace strata::storage {

struct TarHeader {
  std::string path;  // as in the archive, long names applied
  std::string link;  // link target (symlink or hard link)
  char typeflag = '0';
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  uint32_t devmajor = 0;
  uint32_t devminor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // sorted
};

struct TarLimits {
  uint64_t max_extension_bytes = 1 << 20;  // one pax / GNU long-name record
  uint64_t max_trailing_bytes = 1 << 20;   // data after the end-of-archive blocks
};

class TarReader {
 public:
  explicit TarReader(ByteSource* source, TarLimits limits = {});

  // Reads up to and including the next entry's header. Bytes read that are
  // not content (the previous entry's unread content and padding, extension
  // headers, this header) are appended to *raw. Returns false at the end of
  // the archive, with the end blocks and anything after them in *raw.
  Result<bool> Next(TarHeader* header, std::string* raw);

  // Reads the current entry's content; returns 0 at its end.
  Result<size_t> ReadData(char* buf, size_t n);
  // The same without a copy: up to n bytes of the content, in the reader's
  // own buffer, valid until the next call on the reader; empty at its end.
  Result<std::string_view> ReadDataView(size_t n);

  uint64_t offset() const { return offset_; }

 private:
  Result<size_t> Fill(size_t want);          // ensures `want` bytes buffered if possible
  Status TakeRaw(size_t n, std::string* raw);  // moves n buffered/streamed bytes to raw
  Status ApplyPax(std::string_view records, bool global, TarHeader* h,
                  std::map<std::string, std::string>* local);

  ByteSource* source_;
  TarLimits limits_;
  std::string buf_;
  size_t pos_ = 0;  // next unread byte in buf_
  uint64_t offset_ = 0;
  uint64_t data_left_ = 0;     // content bytes of the current entry not yet read
  uint64_t padding_left_ = 0;  // padding after the current entry's content
  bool done_ = false;
  std::map<std::string, std::string> global_pax_;
};

}  // namespace strata::storage
