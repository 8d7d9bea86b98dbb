// CronCollector: the strata_cron_* families from the scheduler's counts
// (runtime/cron_scheduler.h): each job's runs by result, its last run's
// time and duration. Jobs are few and named by users, so the job's name is
// a label: `cron_job` (Prometheus gives `job` to the scrape job).
//
// Thread safety: Collect may run on several scrape threads at once.
#pragma once

#include <vector>

#include <prometheus/collectable.h>

#include "runtime/cron_scheduler.h"

namespace strata::monitor {

class CronCollector : public prometheus::Collectable {
 public:
  explicit CronCollector(const runtime::CronScheduler& cron) : cron_(cron) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const runtime::CronScheduler& cron_;
};

}  // namespace strata::monitor
