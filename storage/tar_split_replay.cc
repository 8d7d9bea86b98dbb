// ReassembleLayer (storage/tar_split.h): replays a stored layer's tar-split
// records with its objects. Apart from the record encoding (tar_split.cc),
// which is pure and needs neither the index nor the objects.
#include "storage/tar_split.h"

#include <algorithm>

#include "common/fs.h"
#include "storage/index.h"
#include "storage/object_store.h"

namespace strata::storage {

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
        ASSIGN_OR_RETURN(size_t got,
                         ReadFull(fd.get(), buf.data(),
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
