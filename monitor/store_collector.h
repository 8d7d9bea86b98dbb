// StoreCollector: the strata_store_* families — what the store holds
// (objects, their bytes, the bytes images would take without sharing,
// layers, chains, images, tags) and its imports and exports.
//
// Counting what the store holds scans the index's object, layer, chain,
// image and tag records; the counts are cached for `refresh` (default
// 30 s) so frequent scrapes do not rescan. The import and export counters
// are read live.
//
// Thread safety: Collect may run on several scrape threads at once.
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include <prometheus/collectable.h>

#include "storage/store.h"

namespace strata::monitor {

class StoreCollector : public prometheus::Collectable {
 public:
  StoreCollector(storage::Store& store, std::chrono::seconds refresh)
      : store_(store), refresh_(refresh) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Counts {
    uint64_t objects = 0, object_bytes = 0, logical_bytes = 0;
    uint64_t layers = 0, chains = 0, images = 0, tags = 0;
  };
  Result<Counts> Count() const;

  storage::Store& store_;
  std::chrono::seconds refresh_;
  mutable std::mutex mu_;
  mutable Counts counts_;                                  // guarded by mu_
  mutable std::chrono::steady_clock::time_point taken_{};  // guarded by mu_
  mutable bool have_ = false;                              // guarded by mu_
};

}  // namespace strata::monitor
