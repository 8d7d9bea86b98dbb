// The mount table: parsing mountinfo and finding a path's mount by text.
#define BOOST_TEST_MODULE monitor_mount_info
#include <boost/test/unit_test.hpp>

#include "monitor/mount_info.h"

using namespace strata::monitor;

namespace {

const char* kMountInfo =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "23 22 0:21 / /proc rw,nosuid - proc proc rw\n"
    "30 22 0:40 / /var/lib/strata/mnt rw,nosuid - fuse.strata strata rw\n"
    "31 22 0:41 / /mnt/my\\040disk ro,relatime - tmpfs tmpfs ro,size=1024k\n"
    "32 22 0:42 / /data rw - tmpfs tmpfs rw\n"
    "33 22 0:43 / /data rw - xfs /dev/sdb1 rw\n"
    "34 33 8:1 /srv /data/srv rw - ext4 /dev/sda1 rw\n"
    "garbage line\n";

}  // namespace

BOOST_AUTO_TEST_CASE(parse) {
  auto m = ParseMountInfo(kMountInfo);
  BOOST_TEST_REQUIRE(m.size() == 7u);
  BOOST_TEST(m[0].mount_id == 22);
  BOOST_TEST(m[0].device == "8:1");
  BOOST_TEST(m[0].mount_point == "/");
  BOOST_TEST(m[0].fstype == "ext4");
  BOOST_TEST(m[0].source == "/dev/sda1");
  BOOST_TEST(!m[0].read_only);
  BOOST_TEST(m[2].fstype == "fuse.strata");
  BOOST_TEST(m[3].mount_point == "/mnt/my disk");  // \040 unescaped
  BOOST_TEST(m[3].read_only);
}

BOOST_AUTO_TEST_CASE(find) {
  auto m = ParseMountInfo(kMountInfo);
  auto at = [&](const char* path) { return m[FindMount(m, path).value()].mount_id; };
  BOOST_TEST(at("/") == 22);
  BOOST_TEST(at("/etc/passwd") == 22);
  BOOST_TEST(at("/proc") == 23);
  BOOST_TEST(at("/proc/1/root") == 23);
  BOOST_TEST(at("/processes") == 22);  // a prefix, not a component
  BOOST_TEST(at("/var/lib/strata/mnt/containers/x") == 30);
  BOOST_TEST(at("/mnt/my disk/a") == 31);
  BOOST_TEST(at("/data/x") == 33);  // stacked: the later mount is on top
  BOOST_TEST(at("/data/srv/y") == 34);
  BOOST_TEST(!FindMount(m, "relative").has_value());
  BOOST_TEST(!FindMount({}, "/x").has_value());
}

BOOST_AUTO_TEST_CASE(table_agrees_with_find) {
  auto m = ParseMountInfo(kMountInfo);
  MountTable table(m);
  for (const char* path : {"/", "/etc/passwd", "/proc", "/proc/1/root", "/processes",
                           "/var/lib/strata/mnt/containers/x", "/mnt/my disk/a", "/data/x",
                           "/data/srv/y", "/data", "relative", ""}) {
    BOOST_TEST_CONTEXT(path) { BOOST_TEST((table.Find(path) == FindMount(m, path))); }
  }
  BOOST_TEST(!MountTable({}).Find("/x").has_value());
}

BOOST_AUTO_TEST_CASE(read_own) {
  auto m = ReadMountInfo();
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(FindMount(*m, "/").has_value());
}
