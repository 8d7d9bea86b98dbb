// The cgroup front's pure logic: host layouts (v1, v2, hybrid, a container's
// subtree mounts), where a container's cgroup goes, the v1 device rules and
// the v2 value conversions.
#define BOOST_TEST_MODULE oci_runtime_cgroup
#include <boost/test/unit_test.hpp>

#include "runtime/oci/cgroup.h"
#include "runtime/oci/device_filter.h"

using namespace strata::runtime::oci;

namespace {

// This project's CI machines: v1 controllers plus an empty cgroup2.
constexpr const char* kHybridMountinfo =
    "22 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr const char* kHybridSelf =
    "9:name=systemd:/\n8:pids:/\n6:freezer:/\n4:memory:/box/1c43\n3:cpuset:/\n"
    "2:cpuacct:/\n1:cpu:/\n0::/\n";

// A systemd host on cgroup v2 only.
constexpr const char* kV2Mountinfo =
    "24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "26 24 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";
constexpr const char* kV2Self = "0::/user.slice/user-0.slice/session-3.scope\n";

// Inside another container: co-mounted controllers and subtree mounts.
constexpr const char* kV1NestedMountinfo =
    "700 690 0:40 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
    "701 690 0:41 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n"
    "702 690 0:41 /docker/abc /mnt/again rw - cgroup cgroup rw,memory\n"
    "703 690 0:42 /docker/a\\040b /sys/fs/cgroup/pi\\040ds rw - cgroup cgroup rw,pids\n";
constexpr const char* kV1NestedSelf =
    "5:pids:/docker/a b\n4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n";

}  // namespace

BOOST_AUTO_TEST_CASE(hybrid_layout_has_v1_controllers_and_the_unified_mount) {
  auto layout = ParseCgroupLayout(kHybridMountinfo, kHybridSelf);
  BOOST_TEST_REQUIRE(layout.ok());
  BOOST_TEST((layout->mode == CgroupMode::kHybrid));
  BOOST_TEST(layout->v1.size() == 7u);
  BOOST_TEST(layout->unified.mountpoint == "/sys/fs/cgroup/unified");
  BOOST_TEST(layout->unified.own_path == "/");
  const CgroupHierarchy* memory = layout->V1For("memory");
  BOOST_TEST_REQUIRE(memory != nullptr);
  BOOST_TEST(memory->mountpoint == "/sys/fs/cgroup/memory");
  BOOST_TEST(memory->own_path == "/box/1c43");
  const CgroupHierarchy* systemd = layout->V1For("name=systemd");
  BOOST_TEST_REQUIRE(systemd != nullptr);
  BOOST_TEST(systemd->key == "name=systemd");  // "xattr" is an option, not a controller
  BOOST_TEST(layout->V1For("blkio") == nullptr);
}

BOOST_AUTO_TEST_CASE(v2_layout) {
  auto layout = ParseCgroupLayout(kV2Mountinfo, kV2Self);
  BOOST_TEST_REQUIRE(layout.ok());
  BOOST_TEST((layout->mode == CgroupMode::kV2));
  BOOST_TEST(layout->v1.empty());
  BOOST_TEST(layout->unified.mountpoint == "/sys/fs/cgroup");
  BOOST_TEST(layout->unified.own_path == "/user.slice/user-0.slice/session-3.scope");
}

BOOST_AUTO_TEST_CASE(v1_layout_with_comounted_and_subtree_mounts) {
  auto layout = ParseCgroupLayout(kV1NestedMountinfo, kV1NestedSelf);
  BOOST_TEST_REQUIRE(layout.ok());
  BOOST_TEST((layout->mode == CgroupMode::kV1));
  BOOST_TEST(layout->v1.size() == 3u);  // the second memory mount is ignored
  const CgroupHierarchy* cpu = layout->V1For("cpuacct");
  BOOST_TEST_REQUIRE(cpu != nullptr);
  BOOST_TEST(cpu->key == "cpu,cpuacct");
  BOOST_TEST(cpu->mount_root == "/docker/abc");
  BOOST_TEST(cpu->Dir("/docker/abc/strata/c1").value() == "/sys/fs/cgroup/cpu,cpuacct/strata/c1");
  BOOST_TEST(!cpu->Dir("/elsewhere/c1").ok());
  BOOST_TEST(!cpu->Dir("/docker/abcd/c1").ok());
  const CgroupHierarchy* pids = layout->V1For("pids");
  BOOST_TEST_REQUIRE(pids != nullptr);
  BOOST_TEST(pids->mountpoint == "/sys/fs/cgroup/pi ds");  // \040 unescaped
  BOOST_TEST(pids->own_path == "/docker/a b");
}

BOOST_AUTO_TEST_CASE(no_cgroup_mounted_is_an_error) {
  auto layout = ParseCgroupLayout("22 1 254:0 / / rw - ext4 /dev/vda rw\n", "");
  BOOST_TEST(!layout.ok());
}

BOOST_AUTO_TEST_CASE(cgroup_paths_resolve_like_runc) {
  // No cgroupsPath: strata/<id>, relative to the runtime's own cgroup.
  BOOST_TEST(ResolveCgroupPath("", "c1", "/", false).value() == "/strata/c1");
  BOOST_TEST(ResolveCgroupPath("", "c1", "/box/1c43", false).value() == "/box/1c43/strata/c1");
  // v2: relative to the parent of the runtime's cgroup (which holds processes).
  BOOST_TEST(ResolveCgroupPath("", "c1", "/user.slice/session-3.scope", true).value() ==
             "/user.slice/strata/c1");
  BOOST_TEST(ResolveCgroupPath("", "c1", "/", true).value() == "/strata/c1");
  // Absolute: from the hierarchy's root, cleaned.
  BOOST_TEST(ResolveCgroupPath("/docker/c1", "c1", "/box", false).value() == "/docker/c1");
  BOOST_TEST(ResolveCgroupPath("//a/./b//c/", "c1", "/box", true).value() == "/a/b/c");
  BOOST_TEST(ResolveCgroupPath("/a/../b", "c1", "/", false).value() == "/b");
  BOOST_TEST(ResolveCgroupPath("mine/c1", "c1", "/box", false).value() == "/box/mine/c1");
  // Never the root, never above it.
  BOOST_TEST(!ResolveCgroupPath("/", "c1", "/", false).ok());
  BOOST_TEST(!ResolveCgroupPath("/a/../..", "c1", "/", false).ok());
  BOOST_TEST(!ResolveCgroupPath("../../../../etc", "c1", "/box", false).ok());
}

BOOST_AUTO_TEST_CASE(paths_find_the_hierarchy_of_a_controller) {
  CgroupPaths paths;
  paths.dirs = {{"cpu,cpuacct", "/a"}, {"memory", "/b"}, {"unified", "/c"}};
  BOOST_TEST(paths.DirFor("cpuacct") == "/a");
  BOOST_TEST(paths.DirFor("memory") == "/b");
  BOOST_TEST(paths.DirFor("unified") == "/c");
  BOOST_TEST(paths.DirFor("freezer") == "");
}

BOOST_AUTO_TEST_CASE(device_rules_keep_order_and_add_the_defaults) {
  std::vector<DeviceRule> rules = {
      {false, 'a', -1, -1, "rwm"}, {true, 'c', 10, 200, "rw"}, {true, 'b', 8, -1, "r"}};
  auto out = DeviceCgroupRules(rules);
  BOOST_TEST_REQUIRE(out.size() > 3u);
  BOOST_TEST(out[0] == "deny a *:* rwm");
  BOOST_TEST(out[1] == "allow c 10:200 rw");
  BOOST_TEST(out[2] == "allow b 8:* r");
  BOOST_TEST((std::find(out.begin(), out.end(), "allow c 1:3 rwm") != out.end()));    // /dev/null
  BOOST_TEST((std::find(out.begin(), out.end(), "allow c 136:* rwm") != out.end()));  // ptys
}

BOOST_AUTO_TEST_CASE(v2_values_from_v1_numbers) {
  BOOST_TEST(CpuWeightFromShares(2) == 1u);
  BOOST_TEST(CpuWeightFromShares(1024) == 39u);  // runc's conversion
  BOOST_TEST(CpuWeightFromShares(262144) == 10000u);
  BOOST_TEST(CpuMaxV2(50000, 100000) == "50000 100000");
  BOOST_TEST(CpuMaxV2(std::nullopt, 20000) == "max 20000");
  BOOST_TEST(CpuMaxV2(-1, std::nullopt) == "max 100000");
  BOOST_TEST(MemorySwapMaxV2(100, 300).value() == "200");
  BOOST_TEST(MemorySwapMaxV2(100, -1).value() == "max");
  BOOST_TEST(!MemorySwapMaxV2(0, 300).ok());
  BOOST_TEST(!MemorySwapMaxV2(300, 100).ok());
}

BOOST_AUTO_TEST_CASE(flat_keyed_files) {
  using cgroup_internal::FlatKeyedValue;
  const char* events = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
  BOOST_TEST(FlatKeyedValue(events, "oom_kill").value() == 2u);
  BOOST_TEST(FlatKeyedValue(events, "oom").value() == 3u);
  BOOST_TEST(!FlatKeyedValue(events, "frozen").has_value());
}

BOOST_AUTO_TEST_CASE(v2_device_filter_program) {
  // runc spec's rules: deny everything, then the defaults allowed. Read from
  // the last rule back, the deny-all rule is the last block and ends the
  // program (anything after it would be unreachable, which the verifier
  // refuses).
  auto rules = EffectiveDeviceRules({{false, 'a', -1, -1, "rwm"}});
  auto prog = DeviceFilterProgram(rules);
  BOOST_TEST_REQUIRE(prog.size() > 8u);
  BOOST_TEST(prog.back().code == (BPF_JMP | BPF_EXIT));
  BOOST_TEST(prog[prog.size() - 2].imm == 0);  // deny
  // Without a deny-all rule, what no rule matches is allowed.
  auto open = DeviceFilterProgram({{false, 'c', 10, 229, "w"}});
  BOOST_TEST(open[open.size() - 2].imm == 1);
  // Every jump lands inside the program.
  for (size_t i = 0; i < prog.size(); ++i) {
    if ((prog[i].code & 0x07) == BPF_JMP32) {
      BOOST_TEST(i + 1 + prog[i].off < prog.size());
    }
  }
}
