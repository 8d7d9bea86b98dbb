#include "monitor/text_format.h"

#include <charconv>
#include <cmath>

namespace strata::monitor {

namespace {

void AppendDouble(double v, std::string& out) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

void AppendUint(uint64_t v, std::string& out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Label values escape \, " and newline; HELP text \ and newline.
void AppendEscaped(const std::string& s, bool quote, std::string& out) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void AppendLabels(const std::vector<prometheus::ClientMetric::Label>& labels,
                  const char* extra_name, const std::string* extra_value, std::string& out) {
  if (labels.empty() && extra_name == nullptr) return;
  out += '{';
  bool first = true;
  for (const auto& l : labels) {
    if (!first) out += ',';
    first = false;
    out += l.name;
    out += "=\"";
    AppendEscaped(l.value, true, out);
    out += '"';
  }
  if (extra_name != nullptr) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    AppendEscaped(*extra_value, true, out);
    out += '"';
  }
  out += '}';
}

// NAME SUFFIX {labels} and the space before the value.
void AppendSampleName(const std::string& name, const char* suffix,
                      const std::vector<prometheus::ClientMetric::Label>& labels,
                      const char* extra_name, const std::string* extra_value, std::string& out) {
  out += name;
  out += suffix;
  AppendLabels(labels, extra_name, extra_value, out);
  out += ' ';
}

void AppendSample(const std::string& name, const char* suffix,
                  const std::vector<prometheus::ClientMetric::Label>& labels,
                  const char* extra_name, const std::string* extra_value, double value,
                  std::string& out) {
  AppendSampleName(name, suffix, labels, extra_name, extra_value, out);
  AppendDouble(value, out);
  out += '\n';
}

// A count (bucket or _count line): an integer, printed exactly.
void AppendCount(const std::string& name, const char* suffix,
                 const std::vector<prometheus::ClientMetric::Label>& labels,
                 const char* extra_name, const std::string* extra_value, uint64_t count,
                 std::string& out) {
  AppendSampleName(name, suffix, labels, extra_name, extra_value, out);
  AppendUint(count, out);
  out += '\n';
}

const char* TypeName(prometheus::MetricType t) {
  switch (t) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Summary:
      return "summary";
    case prometheus::MetricType::Histogram:
      return "histogram";
    default:
      return "untyped";
  }
}

}  // namespace

void AppendTextFormat(const std::vector<prometheus::MetricFamily>& families, std::string& out) {
  for (const auto& f : families) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    AppendEscaped(f.help, false, out);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += TypeName(f.type);
    out += '\n';
    for (const auto& m : f.metric) {
      switch (f.type) {
        case prometheus::MetricType::Counter:
          AppendSample(f.name, "", m.label, nullptr, nullptr, m.counter.value, out);
          break;
        case prometheus::MetricType::Gauge:
          AppendSample(f.name, "", m.label, nullptr, nullptr, m.gauge.value, out);
          break;
        case prometheus::MetricType::Histogram: {
          std::string le;
          for (const auto& b : m.histogram.bucket) {
            le.clear();
            AppendDouble(b.upper_bound, le);
            AppendCount(f.name, "_bucket", m.label, "le", &le, b.cumulative_count, out);
          }
          AppendSample(f.name, "_sum", m.label, nullptr, nullptr, m.histogram.sample_sum, out);
          AppendCount(f.name, "_count", m.label, nullptr, nullptr, m.histogram.sample_count, out);
          break;
        }
        case prometheus::MetricType::Summary: {
          std::string q;
          for (const auto& x : m.summary.quantile) {
            q.clear();
            AppendDouble(x.quantile, q);
            AppendSample(f.name, "", m.label, "quantile", &q, x.value, out);
          }
          AppendSample(f.name, "_sum", m.label, nullptr, nullptr, m.summary.sample_sum, out);
          AppendCount(f.name, "_count", m.label, nullptr, nullptr, m.summary.sample_count, out);
          break;
        }
        default:
          AppendSample(f.name, "", m.label, nullptr, nullptr, m.untyped.value, out);
          break;
      }
    }
  }
}

}  // namespace strata::monitor
