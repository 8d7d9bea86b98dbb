// Fuzzes the decoding of tar-split records (storage/tar_split.h), which
// export reads back from the index: a damaged chunk must fail with EBADMSG,
// never read out of bounds. A chunk that decodes is re-encoded with
// TarSplitWriter and must decode to the same records (empty segments, which
// the writer drops, excepted).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "storage/tar_split.h"

namespace {

using strata::Ok;
using strata::Status;
using strata::storage::TarSplitRecord;

struct Copy {
  TarSplitRecord::Kind kind;
  std::string segment;
  uint64_t size;
  std::string object;
  bool operator==(const Copy&) const = default;
};

std::vector<Copy> Decode(std::string_view chunk, bool* ok) {
  std::vector<Copy> out;
  Status s = strata::storage::ParseTarSplitChunk(chunk, [&](const TarSplitRecord& r) -> Status {
    if (r.kind == TarSplitRecord::Kind::kSegment && r.segment.empty()) return Ok();
    out.push_back({r.kind, std::string(r.segment), r.size,
                   r.size > 0 ? std::string(r.object.raw()) : std::string()});
    return Ok();
  });
  *ok = s.ok();
  if (!s.ok() && s.error().code() != EBADMSG) std::abort();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view chunk(reinterpret_cast<const char*>(data), size);
  bool ok = false;
  std::vector<Copy> records = Decode(chunk, &ok);
  if (!ok) return 0;

  strata::storage::TarSplitWriter writer;
  for (const Copy& r : records) {
    if (r.kind == TarSplitRecord::Kind::kSegment) {
      writer.AddSegment(r.segment);
    } else {
      writer.AddFile(r.size, strata::storage::ObjectId::FromBytes(
                                 r.object.empty() ? std::string(16, '\0') : r.object));
    }
  }
  std::vector<Copy> again;
  for (const std::string& c : writer.Finish()) {
    std::vector<Copy> part = Decode(c, &ok);
    if (!ok) std::abort();
    again.insert(again.end(), part.begin(), part.end());
  }
  if (again != records) std::abort();
  return 0;
}
