#include "monitor/gc_collector.h"

#include "monitor/family.h"

namespace strata::monitor {

std::vector<prometheus::MetricFamily> GcCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  runtime::GcMetrics m = gc_.Metrics();
  Family::Counter("strata_gc_runs_total", "Garbage collections by result")
      .Add({{"result", "succeeded"}}, static_cast<double>(m.runs_succeeded))
      .Add({{"result", "failed"}}, static_cast<double>(m.runs_failed))
      .MoveTo(out);
  Family::Counter("strata_gc_reclaimed_bytes_total", "Bytes freed by garbage collections")
      .Add({}, static_cast<double>(m.bytes_reclaimed_total))
      .MoveTo(out);
  if (m.last_run_unix > 0) {
    Family::Gauge("strata_gc_last_run_timestamp_seconds", "When the last collection ended")
        .Add({}, m.last_run_unix)
        .MoveTo(out);
    Family::Gauge("strata_gc_last_duration_seconds", "How long the last collection took")
        .Add({}, m.last_duration_seconds)
        .MoveTo(out);
    Family::Gauge("strata_gc_last_reclaimed_bytes", "Bytes the last collection freed")
        .Add({}, static_cast<double>(m.last_bytes_reclaimed))
        .MoveTo(out);
  }
  return out;
}

}  // namespace strata::monitor
