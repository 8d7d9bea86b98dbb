#include "monitor/cron_collector.h"

#include "monitor/family.h"

namespace strata::monitor {

std::vector<prometheus::MetricFamily> CronCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  auto runs = Family::Counter("strata_cron_runs_total", "Scheduled job runs by job and result");
  auto last =
      Family::Gauge("strata_cron_last_run_timestamp_seconds", "When the job's last run started");
  auto duration =
      Family::Gauge("strata_cron_last_duration_seconds", "How long the job's last run took");
  for (const auto& j : cron_.Metrics()) {
    for (auto [result, n] : {std::pair{"succeeded", j.runs_succeeded},
                             {"failed", j.runs_failed},
                             {"skipped", j.runs_skipped},
                             {"timed_out", j.runs_timed_out}}) {
      runs.Add({{"cron_job", j.job}, {"result", result}}, static_cast<double>(n));
    }
    if (j.last_run_unix > 0) {
      last.Add({{"cron_job", j.job}}, j.last_run_unix);
      duration.Add({{"cron_job", j.job}}, j.last_duration_seconds);
    }
  }
  runs.MoveTo(out);
  last.MoveTo(out);
  duration.MoveTo(out);
  return out;
}

}  // namespace strata::monitor
