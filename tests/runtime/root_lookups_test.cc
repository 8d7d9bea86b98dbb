// Lookups in a container's root made in a child process: the same answers
// as ResolveUser and ResolveInContainer in stratad's own process, errors
// (errno and message) carried back whole.
#define BOOST_TEST_MODULE runtime_root_lookups
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "runtime/root_lookups.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::runtime;

namespace {

struct Fixture {
  std::unique_ptr<ChildReaper> reaper = ChildReaper::Start().value();
  TempDir root = testing::MakeTempDir();
  Fixture() {
    BOOST_REQUIRE(MakeDirs(root.path() + "/etc").ok());
    BOOST_REQUIRE(MakeDirs(root.path() + "/srv/data").ok());
    BOOST_REQUIRE(WriteFileAtomic(root.path() + "/etc/passwd",
                                  "root:x:0:0:root:/root:/bin/sh\n"
                                  "app:x:1000:1001::/home/app:/bin/sh\n")
                      .ok());
    BOOST_REQUIRE(
        WriteFileAtomic(root.path() + "/etc/group", "app:x:1001:\nstaff:x:50:app\nops:x:60:app\n")
            .ok());
    BOOST_REQUIRE(::symlink("/srv/data", (root.path() + "/data").c_str()) == 0);
  }
};

BOOST_FIXTURE_TEST_CASE(answers_as_the_functions_in_process, Fixture) {
  auto looked = LookUpInRoot(*reaper, root.path(), "app", {"/data/x", "/new/dir"});
  BOOST_REQUIRE_MESSAGE(looked.ok(), (looked.ok() ? "" : looked.error().message()));
  auto user = ResolveUser(root.path(), "app").value();
  BOOST_TEST(looked->user.uid == 1000u);
  BOOST_TEST(looked->user.gid == 1001u);
  BOOST_TEST(looked->user.additional_gids == user.additional_gids);
  BOOST_TEST(looked->user.additional_gids == (std::vector<uint32_t>{50, 60}));
  BOOST_TEST(looked->destinations == (std::vector<std::string>{"/srv/data/x", "/new/dir"}));

  auto nobody = LookUpInRoot(*reaper, root.path(), "", {});
  BOOST_REQUIRE(nobody.ok());
  BOOST_TEST(nobody->user.uid == 0u);
  BOOST_TEST(nobody->destinations.empty());
}

BOOST_FIXTURE_TEST_CASE(errors_come_back_whole, Fixture) {
  auto missing = LookUpInRoot(*reaper, root.path(), "nobody", {});
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().code() == ResolveUser(root.path(), "nobody").error().code());
  BOOST_TEST(missing.error().message() == ResolveUser(root.path(), "nobody").error().message());

  BOOST_REQUIRE(::symlink("../../..", (root.path() + "/up").c_str()) == 0);
  auto escape = LookUpInRoot(*reaper, root.path(), "", {"/srv", "/up/etc"});
  BOOST_REQUIRE(!escape.ok());
  BOOST_TEST(escape.error().code() == EXDEV);
  BOOST_TEST(escape.error().message().find("volume /up/etc") != std::string::npos,
             escape.error().message());

  BOOST_REQUIRE(::unlink((root.path() + "/etc/passwd").c_str()) == 0);
  BOOST_REQUIRE(::mkfifo((root.path() + "/etc/passwd").c_str(), 0644) == 0);
  auto fifo = LookUpInRoot(*reaper, root.path(), "app", {});
  BOOST_REQUIRE(!fifo.ok());
  BOOST_TEST(fifo.error().message().find("not a regular file") != std::string::npos,
             fifo.error().message());

  auto gone = LookUpInRoot(*reaper, root.path() + "/no-such-root", "app", {});
  BOOST_TEST(!gone.ok());
}

}  // namespace
