#include "storage/image_prune.h"

#include <mutex>

#include "storage/store.h"

namespace strata::storage {

Result<PruneResult> PruneImages(Store& store, const std::set<Digest>& in_use, bool dry_run) {
  std::unique_lock gate(store.write_gate());
  Index& index = store.index();
  std::set<Digest> tagged;
  RETURN_IF_ERROR(index.ForEachTag([&](std::string_view, const Digest& id) {
    tagged.insert(id);
    return Ok();
  }));
  PruneResult result;
  Index::Batch batch;
  RETURN_IF_ERROR(index.ForEachImage([&](const ImageRecord& r) {
    if (tagged.count(r.id) != 0 || in_use.count(r.id) != 0) return Ok();
    result.removed.push_back(r.id);
    batch.DeleteImage(r.id);
    return Ok();
  }));
  if (!dry_run && batch.count() > 0) RETURN_IF_ERROR_CTX(index.Write(batch), "prune images");
  return result;
}

}  // namespace strata::storage
