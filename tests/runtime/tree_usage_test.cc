// du of a directory tree (a container's writable layer): blocks, hard
// links once, and the bounds of a walk of a tree a container made.
#define BOOST_TEST_MODULE runtime_tree_usage
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "runtime/tree_usage.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::runtime;

namespace {

// n bytes, durable (so that their blocks are allocated).
void WriteBytes(const std::string& path, size_t n) {
  BOOST_TEST_REQUIRE(WriteFileAtomic(path, std::string(n, 'x')).ok());
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
  TreeUsage f = MeasureTree(d, 1000);
  BOOST_TEST(f.bytes == expect);
  BOOST_TEST(!f.partial);
  TreeUsage cut = MeasureTree(d, 2);
  BOOST_TEST(cut.partial);
  BOOST_TEST(cut.bytes < expect);
  BOOST_TEST(MeasureTree(d + "/missing", 10).bytes == 0u);
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
  TreeUsage f = MeasureTree(dir.path(), 1000);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  BOOST_TEST((f.partial || f.bytes >= Blocks(path + "/f")),
             "the walk missed the deep file without saying so (" << f.bytes << " bytes)");
  // Whatever the limit: the walk goes 64 levels down, no further.
  TreeUsage unlimited = MeasureTree(dir.path(), 1000);
  BOOST_TEST(unlimited.partial);
  BOOST_TEST(unlimited.bytes < Blocks(path + "/f"));
}
