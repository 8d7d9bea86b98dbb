// GcCollector: the strata_gc_* families from the GC service's counts
// (runtime/gc_service.h): runs by result, bytes reclaimed, the last run's
// time, duration and bytes.
//
// Thread safety: Collect may run on several scrape threads at once.
#pragma once

#include <vector>

#include <prometheus/collectable.h>

#include "runtime/gc_service.h"

namespace strata::monitor {

class GcCollector : public prometheus::Collectable {
 public:
  explicit GcCollector(const runtime::GcService& gc) : gc_(gc) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const runtime::GcService& gc_;
};

}  // namespace strata::monitor
