// VolumeCollector: the strata_volume_* families — the host filesystem
// behind every volume site (runtime/volume_sites.h: containers' uppers and
// volumes, unused named volumes, the store), made at scrape time.
//
// Per scrape: the sites are listed, each is matched to its mount in
// /proc/self/mountinfo (text only: a hung mount is not touched), and
// statvfs runs once per distinct filesystem through a StatfsProber with a
// deadline. A filesystem that does not answer in time shows as
// strata_volume_up 0 (and, while its call stays stuck, at once on the
// following scrapes). Sites are then compared to their low-space
// threshold: strata_volume_low flips to 1 (and one line is logged) when a
// volume's available bytes fall below it, and back (another line) when
// they recover.
//
// Thread safety: Collect may run on several scrape threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "common/result.h"
#include "monitor/low_space.h"
#include "runtime/statfs_prober.h"
#include "runtime/volume_sites.h"

namespace strata::monitor {

struct VolumeCollectorOptions {
  // Lists the sites; required.
  std::function<Result<std::vector<runtime::VolumeSite>>()> sites;
  runtime::StatfsProber* prober = nullptr;  // required
  std::chrono::milliseconds timeout{2000};  // for all statvfs calls of a scrape
  double low_space_percent = 10;            // default threshold (0: never low)
};

class VolumeCollector : public prometheus::Collectable {
 public:
  explicit VolumeCollector(VolumeCollectorOptions options) : options_(std::move(options)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  VolumeCollectorOptions options_;
  mutable LowSpaceTracker low_;
};

}  // namespace strata::monitor
