// Warming a container root: which file its first exec runs, found from the
// host the way execvp in the container finds it (PATH order, the working
// directory, symlinks resolved inside the root), and which mount points
// the runtime will need.
#define BOOST_TEST_MODULE runtime_root_warmup
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>

#include "common/fs.h"
#include "runtime/container_record.h"
#include "runtime/root_warmup.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::runtime;

namespace {

struct Root {
  TempDir dir = testing::MakeTempDir();
  UniqueFd fd;
  Root() {
    for (const char* d : {"/bin", "/usr/bin", "/app", "/opt/tool"}) {
      BOOST_REQUIRE(MakeDirs(dir.path() + d).ok());
    }
    BOOST_REQUIRE(WriteFileAtomic(dir.path() + "/bin/busybox", "busybox").ok());
    BOOST_REQUIRE(WriteFileAtomic(dir.path() + "/usr/bin/env", "usr-env").ok());
    BOOST_REQUIRE(WriteFileAtomic(dir.path() + "/bin/env", "bin-env").ok());
    BOOST_REQUIRE(WriteFileAtomic(dir.path() + "/app/run.sh", "script").ok());
    Link("busybox", "/bin/true");                  // relative
    Link("/bin/busybox", "/usr/bin/abs");          // absolute: from the root, not the host
    Link("../../../../../etc/passwd", "/bin/up");  // climbs: clamped to the root
    fd.reset(::open(dir.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    BOOST_REQUIRE(fd);
  }
  void Link(const char* target, const std::string& name) {
    BOOST_REQUIRE(::symlink(target, (dir.path() + name).c_str()) == 0);
  }
  // The content of the file found for args, or the error's text.
  std::string Find(std::vector<std::string> args, std::string path = "/usr/bin:/bin",
                   std::string workdir = "/") {
    auto f = OpenEntrypoint(fd.get(), args, {"HOME=/root", "PATH=" + path}, workdir);
    if (!f.ok()) return "error: " + f.error().message();
    char buf[64] = {};
    ssize_t n = ::pread(f->get(), buf, sizeof buf - 1, 0);
    BOOST_REQUIRE(n >= 0);
    return std::string(buf, static_cast<size_t>(n));
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_name_is_looked_up_in_path_order) {
  Root r;
  BOOST_TEST(r.Find({"env"}) == "usr-env");
  BOOST_TEST(r.Find({"env"}, "/bin:/usr/bin") == "bin-env");
  BOOST_TEST(r.Find({"true", "ignored"}) == "busybox");
  BOOST_TEST(r.Find({"abs"}) == "busybox");
}

BOOST_AUTO_TEST_CASE(a_path_is_taken_as_given_or_from_the_working_directory) {
  Root r;
  BOOST_TEST(r.Find({"/bin/true"}) == "busybox");
  BOOST_TEST(r.Find({"./run.sh"}, "/bin", "/app") == "script");
  BOOST_TEST(r.Find({"run.sh"}, "/bin:", "/app") == "script");  // empty entry: the workdir
}

BOOST_AUTO_TEST_CASE(nothing_outside_the_root_and_nothing_but_files) {
  Root r;
  BOOST_TEST(r.Find({"up"}).starts_with("error:"));  // /etc/passwd of the root: missing
  BOOST_TEST(r.Find({"tool"}, "/opt").starts_with("error:"));
  BOOST_TEST(r.Find({"/opt/tool"}).starts_with("error:"));  // a directory
  BOOST_TEST(r.Find({"missing"}).starts_with("error:"));
  BOOST_TEST(r.Find({""}).starts_with("error:"));
  BOOST_TEST(r.Find({}).starts_with("error:"));
}

BOOST_AUTO_TEST_CASE(mount_points_are_the_bundles) {
  TempDir host = testing::MakeTempDir();
  BOOST_REQUIRE(WriteFileAtomic(host.path() + "/hosts", "127.0.0.1 x\n").ok());
  ContainerConfig config;
  config.workdir = "/srv/app";
  Mount file_bind;  // a host file over stratad's /etc/hosts
  file_bind.source = host.path() + "/hosts";
  file_bind.destination = "/etc/hosts";
  Mount dir_bind;
  dir_bind.source = host.path();
  dir_bind.destination = "/data";
  Mount missing;  // its source is gone: nothing to say about it
  missing.source = host.path() + "/missing";
  missing.destination = "/gone";
  Mount volume;
  volume.type = Mount::Type::kVolume;
  volume.source = "cache";
  volume.destination = "/cache";
  Mount tmpfs;
  tmpfs.type = Mount::Type::kTmpfs;
  tmpfs.destination = "/scratch";
  config.mounts = {file_bind, dir_bind, missing, volume, tmpfs};
  std::vector<MountPoint> want = {
      {"/proc", true},        {"/dev", true},   {"/sys", true},
      {"/etc/resolv.conf", false}, {"/etc/hostname", false}, {"/run/strata", true},
      {"/etc/hosts", false},  {"/data", true},  {"/cache", true},
      {"/scratch", true},     {"/srv/app", true}};
  auto got = MountPoints(config);
  BOOST_TEST(got.size() == want.size());
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    BOOST_TEST_INFO(i);
    BOOST_TEST(got[i].path == want[i].path);
    BOOST_TEST(got[i].directory == want[i].directory);
  }
  BOOST_TEST(MountPoints(ContainerConfig{}).back().path == "/");
}

// A fifo or device node named as the entrypoint is refused without being
// opened: opening a fifo blocks until a writer comes, and opening an
// image's device node from stratad reaches the host's device.
BOOST_AUTO_TEST_CASE(a_fifo_entrypoint_is_refused_without_blocking) {
  Root r;
  const std::string fifo = r.dir.path() + "/bin/sh";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0755) == 0);
  auto found = std::async(std::launch::async, [&] { return r.Find({"sh"}, "/bin"); });
  bool returned = found.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (!returned) {
    // Releases the blocked open so the test can end.
    UniqueFd writer(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  }
  BOOST_TEST(returned);
  BOOST_TEST(found.get().starts_with("error:"));
}
