// du of writable layers, and the cache that measures them off the scrape.
#define BOOST_TEST_MODULE monitor_upper_usage
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "monitor/container_collector.h"
#include "monitor/upper_usage.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::monitor;

namespace {

void WriteBytes(const std::string& path, size_t n) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  BOOST_TEST_REQUIRE(fd >= 0);
  std::string data(n, 'x');
  BOOST_TEST_REQUIRE(::write(fd, data.data(), n) == static_cast<ssize_t>(n));
  ::fsync(fd);
  ::close(fd);
}

uint64_t Blocks(const std::string& path) {
  struct stat st;
  BOOST_TEST_REQUIRE(::lstat(path.c_str(), &st) == 0);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

}  // namespace

BOOST_AUTO_TEST_CASE(measure_counts_blocks_and_links_once) {
  auto dir = testing::MakeTempDir();
  std::string d = dir.path();
  BOOST_TEST_REQUIRE(MakeDirs(d + "/a/b").ok());
  WriteBytes(d + "/a/b/f", 100000);
  WriteBytes(d + "/g", 5000);
  BOOST_TEST_REQUIRE(::link((d + "/a/b/f").c_str(), (d + "/a/h").c_str()) == 0);
  uint64_t expect =
      Blocks(d) + Blocks(d + "/a") + Blocks(d + "/a/b") + Blocks(d + "/a/b/f") + Blocks(d + "/g");
  UpperFigure f = MeasureTree(d, 1000);
  BOOST_TEST(f.bytes == expect);
  BOOST_TEST(!f.partial);
  UpperFigure cut = MeasureTree(d, 2);
  BOOST_TEST(cut.partial);
  BOOST_TEST(cut.bytes < expect);
  BOOST_TEST(MeasureTree(d + "/missing", 10).bytes == 0u);
}

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

// A container can nest directories in its upper deeper than stratad may
// hold descriptors open: the walk does not take one per level, and what it
// leaves out it says it left out.
BOOST_AUTO_TEST_CASE(a_deep_tree_is_measured_with_few_descriptors_or_marked_partial) {
  auto dir = testing::MakeTempDir();
  std::string path = dir.path();
  for (int i = 0; i < 200; ++i) path += "/d";
  BOOST_TEST_REQUIRE(MakeDirs(path).ok());
  WriteBytes(path + "/f", 1 << 20);
  struct rlimit saved {};
  BOOST_TEST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  struct rlimit lower = saved;
  lower.rlim_cur = 128;
  BOOST_TEST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &lower) == 0);
  UpperFigure f = MeasureTree(dir.path(), 1000);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  BOOST_TEST((f.partial || f.bytes >= Blocks(path + "/f")),
             "the walk missed the deep file without saying so (" << f.bytes << " bytes)");
  // Whatever the limit: the walk goes 64 levels down, no further.
  UpperFigure unlimited = MeasureTree(dir.path(), 1000);
  BOOST_TEST(unlimited.partial);
  BOOST_TEST(unlimited.bytes < Blocks(path + "/f"));
}
