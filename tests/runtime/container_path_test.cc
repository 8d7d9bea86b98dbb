// Paths resolved inside a container's root: symlinks followed in the root,
// escapes refused.
#define BOOST_TEST_MODULE runtime_container_path
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include "common/fs.h"
#include "runtime/container_path.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::runtime;

namespace {

struct Root {
  TempDir dir = testing::MakeTempDir();
  Root() {
    BOOST_REQUIRE(MakeDirs(dir.path() + "/var/data").ok());
    BOOST_REQUIRE(WriteFileAtomic(dir.path() + "/file", "x").ok());
    Link("/var/data", "abs");             // absolute: taken from the root
    Link("var/data", "rel");              // relative
    Link("../../../../../../tmp", "up");  // climbs out
    Link("/..", "abs_up");
    Link("loop2", "loop1");
    Link("loop1", "loop2");
    Link("../data", "var/data2");  // relative inside a directory
  }
  void Link(const char* target, const char* name) {
    BOOST_REQUIRE(::symlink(target, (dir.path() + "/" + name).c_str()) == 0);
  }
  Result<std::string> Resolve(const char* path) { return ResolveInContainer(dir.path(), path); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(plain_and_missing_paths) {
  Root r;
  BOOST_TEST(r.Resolve("/var/data").value() == "/var/data");
  BOOST_TEST(r.Resolve("/var/./data/").value() == "/var/data");
  BOOST_TEST(r.Resolve("/new/dir").value() == "/new/dir");
  BOOST_TEST(r.Resolve("/var/data/../data").value() == "/var/data");
  BOOST_TEST(r.Resolve("/").value() == "/");
}

BOOST_AUTO_TEST_CASE(symlinks_resolve_inside_the_root) {
  Root r;
  BOOST_TEST(r.Resolve("/abs").value() == "/var/data");
  BOOST_TEST(r.Resolve("/abs/sub").value() == "/var/data/sub");
  BOOST_TEST(r.Resolve("/rel").value() == "/var/data");
  BOOST_TEST(r.Resolve("/var/data2").value() == "/data");  // ../data from /var
}

BOOST_AUTO_TEST_CASE(escapes_are_refused) {
  Root r;
  for (const char* path : {"/up", "/up/x", "/abs_up", "/..", "/var/../../etc"}) {
    BOOST_TEST_CONTEXT(path) {
      auto res = r.Resolve(path);
      BOOST_REQUIRE(!res.ok());
      BOOST_TEST(res.error().code() == EXDEV);
    }
  }
  auto loop = r.Resolve("/loop1");
  BOOST_REQUIRE(!loop.ok());
  BOOST_TEST(loop.error().code() == ELOOP);
  auto notdir = r.Resolve("/file/x");
  BOOST_REQUIRE(!notdir.ok());
  BOOST_TEST(notdir.error().code() == ENOTDIR);
}
