// Family: a small builder of prometheus::MetricFamily, for collectors that
// make their families at scrape time.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

namespace strata::monitor {

using Labels = std::vector<prometheus::ClientMetric::Label>;

class Family {
 public:
  Family(std::string name, std::string help, prometheus::MetricType type) {
    family_.name = std::move(name);
    family_.help = std::move(help);
    family_.type = type;
  }
  static Family Gauge(std::string name, std::string help) {
    return Family(std::move(name), std::move(help), prometheus::MetricType::Gauge);
  }
  static Family Counter(std::string name, std::string help) {
    return Family(std::move(name), std::move(help), prometheus::MetricType::Counter);
  }

  // One sample (a gauge's or a counter's value, by the family's type).
  Family& Add(Labels labels, double value) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    if (family_.type == prometheus::MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    family_.metric.push_back(std::move(m));
    return *this;
  }
  Family& AddMetric(prometheus::ClientMetric m) {
    family_.metric.push_back(std::move(m));
    return *this;
  }
  bool empty() const { return family_.metric.empty(); }

  // Moves the family to out (families without samples are left out).
  void MoveTo(std::vector<prometheus::MetricFamily>& out) {
    if (!family_.metric.empty()) out.push_back(std::move(family_));
  }

 private:
  prometheus::MetricFamily family_;
};

}  // namespace strata::monitor
