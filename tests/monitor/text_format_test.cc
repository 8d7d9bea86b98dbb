// The text exposition format, as Prometheus parses it.
#define BOOST_TEST_MODULE monitor_text_format
#include <boost/test/unit_test.hpp>

#include <limits>

#include "monitor/family.h"
#include "monitor/text_format.h"

using namespace strata::monitor;

BOOST_AUTO_TEST_CASE(gauges_counters_and_escaping) {
  std::vector<prometheus::MetricFamily> fams;
  Family::Gauge("a_bytes", "Bytes\\ of\nit")
      .Add({{"path", "/x \"y\"\\z\nw"}, {"kind", "bind"}}, 270553174016.0)
      .Add({}, 0.25)
      .MoveTo(fams);
  Family::Counter("b_total", "B").Add({{"r", "ok"}}, 3).MoveTo(fams);
  Family::Gauge("empty", "none").MoveTo(fams);  // no samples: left out
  std::string out;
  AppendTextFormat(fams, out);
  BOOST_TEST(out ==
             "# HELP a_bytes Bytes\\\\ of\\nit\n"
             "# TYPE a_bytes gauge\n"
             "a_bytes{path=\"/x \\\"y\\\"\\\\z\\nw\",kind=\"bind\"} 270553174016\n"
             "a_bytes 0.25\n"
             "# HELP b_total B\n"
             "# TYPE b_total counter\n"
             "b_total{r=\"ok\"} 3\n");
}

BOOST_AUTO_TEST_CASE(histogram) {
  prometheus::MetricFamily f;
  f.name = "d_seconds";
  f.help = "D";
  f.type = prometheus::MetricType::Histogram;
  prometheus::ClientMetric m;
  m.label = {{"op", "read"}};
  m.histogram.bucket = {{2, 0.001}, {5, std::numeric_limits<double>::infinity()}};
  m.histogram.sample_count = 5;
  m.histogram.sample_sum = 1.5;
  f.metric.push_back(m);
  std::string out;
  AppendTextFormat({f}, out);
  BOOST_TEST(out ==
             "# HELP d_seconds D\n"
             "# TYPE d_seconds histogram\n"
             "d_seconds_bucket{op=\"read\",le=\"0.001\"} 2\n"
             "d_seconds_bucket{op=\"read\",le=\"+Inf\"} 5\n"
             "d_seconds_sum{op=\"read\"} 1.5\n"
             "d_seconds_count{op=\"read\"} 5\n");
}
