#include "storage/tar_split.h"

#include "common/coding.h"

namespace strata::storage {

namespace {
constexpr size_t kChunkTarget = 256 << 10;
}

void TarSplitWriter::MaybeCut() {
  if (current_.size() >= kChunkTarget) {
    chunks_.push_back(std::move(current_));
    current_.clear();
  }
}

void TarSplitWriter::AddSegment(std::string_view bytes) {
  if (bytes.empty()) return;
  current_.push_back('S');
  PutBytes(&current_, bytes);
  MaybeCut();
}

void TarSplitWriter::AddFile(uint64_t size, const ObjectId& object) {
  current_.push_back('F');
  PutVarint(&current_, size);
  if (size > 0) current_.append(object.raw());
  MaybeCut();
}

std::vector<std::string> TarSplitWriter::Finish() {
  if (!current_.empty()) chunks_.push_back(std::move(current_));
  current_.clear();
  return std::move(chunks_);
}

Status ParseTarSplitChunk(std::string_view chunk,
                          const std::function<Status(const TarSplitRecord&)>& fn) {
  Decoder d(chunk);
  while (!d.empty()) {
    std::string_view kind;
    if (!d.GetRaw(1, &kind)) return Error::Corrupt("tar-split: truncated record");
    TarSplitRecord rec{};
    if (kind[0] == 'S') {
      rec.kind = TarSplitRecord::Kind::kSegment;
      if (!d.GetBytes(&rec.segment)) return Error::Corrupt("tar-split: truncated segment");
    } else if (kind[0] == 'F') {
      rec.kind = TarSplitRecord::Kind::kFile;
      if (!d.GetVarint(&rec.size)) return Error::Corrupt("tar-split: truncated file record");
      if (rec.size > 0) {
        std::string_view raw;
        if (!d.GetRaw(16, &raw)) return Error::Corrupt("tar-split: truncated object id");
        rec.object = ObjectId::FromBytes(raw);
      }
    } else {
      return Error::Corrupt("tar-split: unknown record kind");
    }
    RETURN_IF_ERROR(fn(rec));
  }
  return Ok();
}

}  // namespace strata::storage
