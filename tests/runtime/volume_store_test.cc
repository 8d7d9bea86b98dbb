// Named volumes: removal of what a container left in one.
#define BOOST_TEST_MODULE runtime_volume_store
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "runtime/volume_store.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::runtime;

namespace {

// Lowers the soft limit on open descriptors for the scope.
struct FdLimit {
  struct rlimit saved {};
  explicit FdLimit(rlim_t n) {
    BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    struct rlimit lower = saved;
    lower.rlim_cur = n;
    BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &lower) == 0);
  }
  ~FdLimit() { ::setrlimit(RLIMIT_NOFILE, &saved); }
};

// mkdir d; cd d; ... depth times, as a shell in the container can.
void MakeDeepTree(const std::string& top, int depth) {
  UniqueFd dir(::open(top.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  BOOST_REQUIRE(dir);
  for (int i = 0; i < depth; ++i) {
    BOOST_REQUIRE(::mkdirat(dir.get(), "d", 0755) == 0);
    dir.reset(::openat(dir.get(), "d", O_PATH | O_DIRECTORY | O_CLOEXEC));
    BOOST_REQUIRE(dir);
  }
  UniqueFd file(::openat(dir.get(), "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  BOOST_REQUIRE(file);
}

// A symlink at the bottom of the tree to outside.
void LinkAtBottom(const std::string& top, int depth, const std::string& target) {
  std::string path = top;
  for (int i = 0; i < depth; ++i) path += "/d";
  BOOST_REQUIRE(::symlink(target.c_str(), (path + "/out").c_str()) == 0);
}

}  // namespace

// A container can nest directories in a volume deeper than stratad may
// hold descriptors open; removal must not need one per level.
BOOST_AUTO_TEST_CASE(a_volume_nested_deeper_than_the_descriptor_limit_is_removed) {
  TempDir root = testing::MakeTempDir();
  VolumeStore volumes(root.path() + "/volumes");
  auto info = volumes.Create("deep");
  BOOST_REQUIRE(info.ok());
  MakeDeepTree(info->mountpoint, 600);
  TempDir outside = testing::MakeTempDir();
  BOOST_REQUIRE(WriteFileAtomic(outside.path() + "/keep", "host").ok());
  LinkAtBottom(info->mountpoint, 600, outside.path());
  // With a file next to the tree, so the walk goes on after the deep part.
  BOOST_REQUIRE(WriteFileAtomic(info->mountpoint + "/z", "z").ok());
  {
    FdLimit limit(128);
    Status removed = volumes.Remove("deep");
    BOOST_TEST(removed.ok(), (removed.ok() ? "" : removed.error().message()));
  }
  BOOST_TEST(!PathExists(root.path() + "/volumes/deep"));
  BOOST_TEST(!PathExists(root.path() + "/volumes/.rm-deep"));
  BOOST_TEST(ListDir(root.path() + "/volumes")->empty());
  BOOST_TEST(PathExists(outside.path() + "/keep"));  // the link went, not its target
}
