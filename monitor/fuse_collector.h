// FuseCollector: the strata_fuse_* families, read at scrape time from the
// session's FuseStats: requests by op, errors by op and errno, a latency
// histogram by op, bytes read and written, copy-ups.
//
// Thread safety: Collect may run on several scrape threads at once (it
// only loads atomics).
#pragma once

#include <vector>

#include <prometheus/collectable.h>

#include "fuse/fuse_stats.h"

namespace strata::monitor {

class FuseCollector : public prometheus::Collectable {
 public:
  explicit FuseCollector(const fuse::FuseStats& stats) : stats_(stats) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const fuse::FuseStats& stats_;
};

}  // namespace strata::monitor
