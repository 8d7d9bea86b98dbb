// Tar-split records: what an uncompressed layer tar holds besides file
// contents (headers, extension headers, padding, the end-of-archive blocks
// and anything after them), kept verbatim, plus one reference per file
// content. Replaying them with the objects reproduces the tar byte for byte,
// so diffIDs, chainIDs and image IDs survive export (invariant 3).
//
// Encoding of a chunk (one index value, up to ~256 KiB): a sequence of
//   'S' varint(len) bytes            a raw segment
//   'F' varint(size) [16-byte id]    a file's content; the id only if size > 0
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/digest.h"

namespace strata::storage {

class Index;
class ObjectStore;

// Accumulates records into chunks.
class TarSplitWriter {
 public:
  void AddSegment(std::string_view bytes);
  void AddFile(uint64_t size, const ObjectId& object);
  // The chunks written so far, the last one included; call once at the end.
  std::vector<std::string> Finish();

 private:
  void MaybeCut();
  std::vector<std::string> chunks_;
  std::string current_;
};

struct TarSplitRecord {
  enum class Kind { kSegment, kFile } kind;
  std::string_view segment;  // kSegment: points into the chunk
  uint64_t size = 0;         // kFile
  ObjectId object;           // kFile, size > 0
};

// Decodes one chunk, calling fn for each record; EBADMSG on malformed data.
Status ParseTarSplitChunk(std::string_view chunk,
                          const std::function<Status(const TarSplitRecord&)>& fn);

// Reassembles a stored layer's tar, feeding it to sink in pieces. Verifies
// each object's size as it goes; EBADMSG if the records are incomplete.
Status ReassembleLayer(Index& index, const ObjectStore& objects, const Digest& diff_id,
                       const std::function<Status(std::string_view)>& sink);

}  // namespace strata::storage
