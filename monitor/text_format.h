// TextFormat: metric families as Prometheus text exposition format 0.0.4,
// written straight into one string (the scrape's hot path: 10,000s of
// series with 7 labels each must not go through iostreams).
//
// Thread safety: a plain function.
#pragma once

#include <string>
#include <vector>

#include <prometheus/metric_family.h>

namespace strata::monitor {

// Appends families to out: # HELP, # TYPE, then each sample (histograms as
// _bucket/_sum/_count, summaries as quantiles/_sum/_count).
void AppendTextFormat(const std::vector<prometheus::MetricFamily>& families, std::string& out);

}  // namespace strata::monitor
