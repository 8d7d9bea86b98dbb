// Image prune: removes the image records that no tag names and no container
// uses (`strata image prune`, as `docker image prune`). Their content goes
// at the next GC, which keeps every image record it finds.
//
// Holds the store's WriteGate exclusively, so no import or commit tags an
// image meanwhile.
#pragma once

#include <set>
#include <vector>

#include "common/result.h"
#include "storage/digest.h"

namespace strata::storage {

class Store;

struct PruneResult {
  std::vector<Digest> removed;  // image IDs (or those that would be, with dry_run)
};

// in_use: image IDs containers use.
Result<PruneResult> PruneImages(Store& store, const std::set<Digest>& in_use, bool dry_run);

}  // namespace strata::storage
