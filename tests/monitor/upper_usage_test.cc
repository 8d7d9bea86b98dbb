// The cache that measures writable layers off the scrape (the walk itself:
// tests/runtime/tree_usage_test.cc), and the collector's time parsing.
#define BOOST_TEST_MODULE monitor_upper_usage
#include <boost/test/unit_test.hpp>

#include <thread>

#include "common/fs.h"
#include "monitor/container_collector.h"
#include "monitor/upper_usage.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::monitor;

namespace {

// n bytes, durable (so that their blocks are allocated).
void WriteBytes(const std::string& path, size_t n) {
  BOOST_TEST_REQUIRE(WriteFileAtomic(path, std::string(n, 'x')).ok());
}

}  // namespace

BOOST_AUTO_TEST_CASE(cache_measures_off_thread) {
  auto dir = testing::MakeTempDir();
  WriteBytes(dir.path() + "/f", 70000);
  UpperUsage usage(std::chrono::seconds(60), 1000);
  BOOST_TEST(!usage.Get("c1").has_value());
  usage.Track({{"c1", dir.path()}});
  std::optional<UpperFigure> f;
  for (int i = 0; i < 200 && !(f = usage.Get("c1")); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BOOST_TEST_REQUIRE(f.has_value());
  BOOST_TEST(f->bytes >= 70000u);
  usage.Track({});  // gone
  BOOST_TEST(!usage.Get("c1").has_value());
}

BOOST_AUTO_TEST_CASE(rfc3339) {
  BOOST_TEST(ParseRfc3339("1970-01-01T00:00:10Z").value() == 10.0);
  BOOST_TEST(ParseRfc3339("2024-05-01T12:00:00.5Z").value() == 1714564800.5);
  BOOST_TEST(!ParseRfc3339("").has_value());
  BOOST_TEST(!ParseRfc3339("2024-05-01 12:00:00").has_value());
}
