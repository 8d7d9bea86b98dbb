// State files and names: /proc/PID/stat parsing (start times tell a recycled
// pid from the container), the `state` JSON, ids, signals, capabilities.
#define BOOST_TEST_MODULE oci_runtime_state
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "common/fs.h"
#include "runtime/oci/capabilities.h"
#include "runtime/oci/signal_names.h"
#include "runtime/oci/state.h"

using namespace strata::runtime::oci;

BOOST_AUTO_TEST_CASE(proc_stat_with_a_hostile_command_name) {
  std::string text =
      "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 95 0 0 0 0 0 0 0 20 0 1 0 987654 2539520 "
      "186 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto stat = ParseProcStat(text);
  BOOST_TEST_REQUIRE(stat.ok());
  BOOST_TEST(stat->state == 'S');
  BOOST_TEST(stat->start_time == 987654u);
  BOOST_TEST(!ParseProcStat("4242 (x) S 1 2").ok());
  BOOST_TEST(!ParseProcStat("garbage").ok());
}

BOOST_AUTO_TEST_CASE(the_caller_is_alive_and_a_wrong_start_time_is_not) {
  auto me = ReadProcStat(getpid());
  BOOST_TEST_REQUIRE(me.ok());
  BOOST_TEST(ProcessAlive(getpid(), me->start_time));
  BOOST_TEST(!ProcessAlive(getpid(), me->start_time + 1));
  BOOST_TEST(!ProcessAlive(0, 0));
}

BOOST_AUTO_TEST_CASE(state_json_is_runcs) {
  ContainerState s;
  s.id = "c1";
  s.pid = 1234;
  s.bundle = "/b";
  s.rootfs = "/b/rootfs";
  s.created = "2024-01-02T03:04:05.000000006Z";
  s.annotations["k"] = "v";
  auto parsed = boost::json::parse(StateJson(s, ContainerStatus::kRunning, 2)).as_object();
  BOOST_TEST(parsed.at("ociVersion").as_string() == "1.0.2");
  BOOST_TEST(parsed.at("id").as_string() == "c1");
  BOOST_TEST(parsed.at("pid").as_int64() == 1234);
  BOOST_TEST(parsed.at("status").as_string() == "running");
  BOOST_TEST(parsed.at("bundle").as_string() == "/b");
  BOOST_TEST(parsed.at("rootfs").as_string() == "/b/rootfs");
  BOOST_TEST(parsed.at("created").as_string() == s.created);
  BOOST_TEST(parsed.at("annotations").at("k").as_string() == "v");
  BOOST_TEST(parsed.at("oomKills").as_int64() == 2);
  // Stopped: pid 0, as runc says it.
  auto stopped =
      boost::json::parse(StateJson(s, ContainerStatus::kStopped, std::nullopt)).as_object();
  BOOST_TEST(stopped.at("pid").as_int64() == 0);
  BOOST_TEST(stopped.at("status").as_string() == "stopped");
  BOOST_TEST(!stopped.contains("oomKills"));
  // Indented by two spaces, one field a line.
  BOOST_TEST(StateJson(s, ContainerStatus::kCreated, std::nullopt).find("\n  \"id\": \"c1\",\n") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(state_dir_round_trip) {
  auto tmp = strata::TempDir::Create("/tmp", "oci-state-test");
  BOOST_TEST_REQUIRE(tmp.ok());
  std::string root = tmp->path() + "/root";
  auto dir = StateDir::Create(root, "c1");
  BOOST_TEST_REQUIRE(dir.ok());
  BOOST_TEST(StateDir::Create(root, "c1").error().code() == EEXIST);
  BOOST_TEST(StateDir::Open(root, "c1").error().IsNotFound());  // no state file yet
  ContainerState s;
  s.id = "c1";
  s.pid = 77;
  s.start_time = 99;
  s.bundle = "/b";
  s.cgroup.mode = CgroupMode::kHybrid;
  s.cgroup.dirs = {{"memory", "/sys/fs/cgroup/memory/strata/c1"}, {"unified", "/u"}};
  s.namespaces = {NamespaceKind::kPid, NamespaceKind::kMount};
  s.own_pid_namespace = true;
  BOOST_TEST_REQUIRE(dir->Save(s).ok());
  auto opened = StateDir::Open(root, "c1");
  BOOST_TEST_REQUIRE(opened.ok());
  auto loaded = opened->Load();
  BOOST_TEST_REQUIRE(loaded.ok());
  BOOST_TEST(loaded->pid == 77);
  BOOST_TEST(loaded->start_time == 99u);
  BOOST_TEST((loaded->cgroup.mode == CgroupMode::kHybrid));
  BOOST_TEST(loaded->cgroup.dirs.at("memory") == "/sys/fs/cgroup/memory/strata/c1");
  BOOST_TEST(loaded->namespaces.size() == 2u);
  BOOST_TEST(loaded->own_pid_namespace);
  // pid 77 with start time 99 is not a live process here.
  BOOST_TEST((DeriveStatus(*loaded, *opened) == ContainerStatus::kStopped));
  BOOST_TEST(opened->Remove().ok());
  BOOST_TEST(StateDir::Open(root, "c1").error().IsNotFound());
}

BOOST_AUTO_TEST_CASE(container_ids) {
  for (const char* good : {"c1", "a.b-c_d+e", "X"}) BOOST_TEST(ValidateContainerId(good).ok());
  for (const char* bad : {"", ".", "..", "a/b", "../x", "a b", "ü"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!ValidateContainerId(bad).ok()); }
  }
}

BOOST_AUTO_TEST_CASE(signal_names) {
  BOOST_TEST(ParseSignal("KILL").value() == SIGKILL);
  BOOST_TEST(ParseSignal("SIGTERM").value() == SIGTERM);
  BOOST_TEST(ParseSignal("hup").value() == SIGHUP);
  BOOST_TEST(ParseSignal("9").value() == 9);
  BOOST_TEST(ParseSignal("SIGRTMIN+2").value() == SIGRTMIN + 2);
  BOOST_TEST(!ParseSignal("0").ok());
  BOOST_TEST(!ParseSignal("SIGNOPE").ok());
  BOOST_TEST(!ParseSignal("9x").ok());
  BOOST_TEST(ParseSignal("SIGRTMIN+" + std::to_string(SIGRTMAX - SIGRTMIN)).value() == SIGRTMAX);
  // Found by review of tests/fuzz/volume_spec: SIGRTMIN + INT_MAX overflowed.
  BOOST_TEST(!ParseSignal("RTMIN+2147483647").ok());
  BOOST_TEST(!ParseSignal("RTMIN+31").ok());
}

BOOST_AUTO_TEST_CASE(capability_names) {
  BOOST_TEST(CapabilityFromName("CAP_CHOWN").value() == 0);
  BOOST_TEST(CapabilityFromName("CAP_SYS_ADMIN").value() == 21);
  BOOST_TEST(CapabilityFromName("CAP_CHECKPOINT_RESTORE").value() == 40);
  BOOST_TEST(!CapabilityFromName("CAP_FLY").has_value());
  BOOST_TEST(CapabilityName(21) == "CAP_SYS_ADMIN");
  BOOST_TEST(LastCapability() >= 36);
}
