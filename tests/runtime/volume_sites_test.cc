// Where a container's volumes are on the host, and the /run/strata files.
#define BOOST_TEST_MODULE runtime_volume_sites
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "runtime/volume_sites.h"
#include "runtime/volume_status.h"

using namespace strata::runtime;

namespace {

ContainerRecord Record(ContainerStatus status, int pid) {
  ContainerRecord r;
  r.config.id = "abc";
  r.config.name = "web";
  r.config.labels = {{"strata.low-space", "20"}};
  r.config.mounts = {{Mount::Type::kBind, "/srv/data", "/data", true, ""},
                     {Mount::Type::kVolume, "cache", "/cache", false, ""},
                     {Mount::Type::kTmpfs, "", "/scratch", false, "size=1m"}};
  r.state.status = status;
  r.state.pid = pid;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sites_of_a_running_container) {
  auto sites = ContainerVolumeSites(Record(ContainerStatus::kRunning, 42), "/var/lib/strata");
  BOOST_TEST_REQUIRE(sites.size() == 4u);
  BOOST_TEST((sites[0].kind == VolumeKind::kUpper));
  BOOST_TEST(sites[0].host_path == "/var/lib/strata/containers/abc/upper");
  BOOST_TEST(sites[0].mountpoint == "/");
  BOOST_TEST((sites[1].kind == VolumeKind::kBind));
  BOOST_TEST(sites[1].host_path == "/srv/data");
  BOOST_TEST(sites[1].read_only);
  BOOST_TEST((sites[2].kind == VolumeKind::kNamed));
  BOOST_TEST(sites[2].host_path == "/var/lib/strata/volumes/cache/data");
  BOOST_TEST(sites[2].volume == "cache");
  BOOST_TEST((sites[3].kind == VolumeKind::kTmpfs));
  BOOST_TEST(sites[3].host_path == "/proc/42/root/scratch");
  for (const auto& s : sites) {
    BOOST_TEST(s.container == "web");
    BOOST_TEST(s.low_space == "20");
  }
}

BOOST_AUTO_TEST_CASE(a_stopped_container_has_no_tmpfs) {
  auto sites = ContainerVolumeSites(Record(ContainerStatus::kExited, 0), "/r");
  BOOST_TEST(sites.size() == 3u);
  for (const auto& s : sites) BOOST_TEST((s.kind != VolumeKind::kTmpfs));
}

BOOST_AUTO_TEST_CASE(status_files) {
  auto sites = ContainerVolumeSites(Record(ContainerStatus::kExited, 0), "/r");
  std::vector<StatfsResult> stats(3);
  stats[0].outcome = StatfsResult::Outcome::kOk;
  stats[0].st.f_frsize = 4096;
  stats[0].st.f_blocks = 100;
  stats[0].st.f_bfree = 50;
  stats[0].st.f_bavail = 40;
  stats[0].st.f_files = 10;
  stats[0].st.f_ffree = 5;
  stats[1] = stats[0];
  stats[2].outcome = StatfsResult::Outcome::kTimeout;
  std::string text = VolumesText(sites, stats);
  BOOST_TEST(text ==
             "# mountpoint kind size_bytes free_bytes avail_bytes files files_free\n"
             "/ upper 409600 204800 163840 10 5\n"
             "/data bind 409600 204800 163840 10 5\n"
             "/cache named - - - - -\n");
  auto json = boost::json::parse(VolumesJson(sites, stats)).as_array();
  BOOST_TEST_REQUIRE(json.size() == 3u);
  BOOST_TEST(json[1].at("mountpoint").as_string() == "/data");
  BOOST_TEST(json[1].at("read_only").as_bool());
  BOOST_TEST(json[1].at("avail_bytes").to_number<uint64_t>() == 163840u);
  BOOST_TEST(!json[2].at("up").as_bool());
  BOOST_TEST(!json[2].as_object().contains("size_bytes"));
}
