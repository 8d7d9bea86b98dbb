#include "storage/tar_split.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "common/coding.h"
#include "common/fs.h"
#include "storage/index.h"
#include "storage/object_store.h"

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

Status ReassembleLayer(Index& index, const ObjectStore& objects, const Digest& diff_id,
                       const std::function<Status(std::string_view)>& sink) {
  ASSIGN_OR_RETURN(auto layer, index.GetLayer(diff_id));
  if (!layer) return Error::NotFound("layer " + diff_id.str() + " is not in the store");
  std::string buf(1 << 17, '\0');
  uint64_t total = 0;
  RETURN_IF_ERROR(index.ForEachTarSplit(diff_id, [&](std::string_view chunk) {
    return ParseTarSplitChunk(chunk, [&](const TarSplitRecord& rec) -> Status {
      if (rec.kind == TarSplitRecord::Kind::kSegment) {
        total += rec.segment.size();
        return sink(rec.segment);
      }
      if (rec.size == 0) return Ok();
      ASSIGN_OR_RETURN(UniqueFd fd, objects.OpenObject(rec.object));
      uint64_t left = rec.size;
      while (left > 0) {
        ASSIGN_OR_RETURN(size_t got, ReadFull(fd.get(), buf.data(),
                                              static_cast<size_t>(std::min<uint64_t>(left, buf.size()))));
        if (got == 0) {
          return Error::Corrupt("object " + rec.object.hex() + " is shorter than recorded (" +
                                std::to_string(rec.size) + " bytes)");
        }
        RETURN_IF_ERROR(sink({buf.data(), got}));
        left -= got;
      }
      total += rec.size;
      char extra;
      ASSIGN_OR_RETURN(size_t more, ReadFull(fd.get(), &extra, 1));
      if (more != 0) {
        return Error::Corrupt("object " + rec.object.hex() + " is longer than recorded");
      }
      return Ok();
    });
  }));
  if (total != layer->tar_size) {
    return Error::Corrupt("tar-split records of layer " + diff_id.str() + " give " +
                          std::to_string(total) + " bytes, expected " +
                          std::to_string(layer->tar_size));
  }
  return Ok();
}

}  // namespace strata::storage
