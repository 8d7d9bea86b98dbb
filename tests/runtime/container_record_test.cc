// Container records: JSON round trips, persistence (tmp + rename), volume
// specs, names and IDs.
#define BOOST_TEST_MODULE runtime_container_record
#include <boost/test/unit_test.hpp>

#include <set>

#include <boost/json.hpp>

#include "common/fs.h"
#include "runtime/container_record.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::runtime;

namespace {

ContainerConfig SampleConfig() {
  ContainerConfig c;
  c.id = std::string(64, 'a');
  c.name = "web";
  c.created = "2024-05-01T12:00:00.000000001Z";
  c.image = "sha256:" + std::string(64, 'b');
  c.image_ref = "busybox";
  c.chain = "sha256:" + std::string(64, 'c');
  c.entrypoint = {"/bin/entry"};
  c.cmd = {"sh", "-c", "echo hi"};
  c.env = {"PATH=/bin", "A=1"};
  c.workdir = "/srv";
  c.user = "1000:1000";
  c.hostname = "box";
  c.labels = {{"k", "v"}};
  c.restart = *RestartPolicy::Parse("on-failure:3");
  c.mounts = {*ParseVolumeSpec("/host:/data:ro"), *ParseVolumeSpec("vol:/v"),
              *ParseTmpfsSpec("/scratch:size=1m")};
  c.memory = 64 << 20;
  c.pids_limit = 100;
  c.cpus = 0.5;
  c.tty = true;
  c.interactive = true;
  c.auto_remove = false;
  c.network = NetworkMode::kHost;
  c.stop_signal = "SIGQUIT";
  c.stop_timeout = 3;
  return c;
}

}  // namespace

BOOST_AUTO_TEST_CASE(config_round_trips_through_json) {
  ContainerConfig c = SampleConfig();
  auto back = ConfigFromJson(ConfigToJson(c));
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->id == c.id);
  BOOST_TEST(back->name == c.name);
  BOOST_TEST(back->Args() == (std::vector<std::string>{"/bin/entry", "sh", "-c", "echo hi"}));
  BOOST_TEST(back->env == c.env);
  BOOST_TEST(back->workdir == c.workdir);
  BOOST_TEST(back->user == c.user);
  BOOST_TEST((back->labels == c.labels));
  BOOST_TEST(back->restart.str() == "on-failure:3");
  BOOST_TEST((back->mounts == c.mounts));
  BOOST_TEST(back->memory == c.memory);
  BOOST_TEST(back->pids_limit == c.pids_limit);
  BOOST_TEST(back->cpus == c.cpus);
  BOOST_TEST(back->tty);
  BOOST_TEST(back->interactive);
  BOOST_TEST((back->network == NetworkMode::kHost));
  BOOST_TEST(back->stop_signal == "SIGQUIT");
  BOOST_TEST(back->stop_timeout == 3);
}

BOOST_AUTO_TEST_CASE(config_with_a_bad_id_or_policy_is_corrupt) {
  auto o = ConfigToJson(SampleConfig());
  o["id"] = "short";
  BOOST_TEST(!ConfigFromJson(o).ok());
  o = ConfigToJson(SampleConfig());
  o["restart"] = "sometimes";
  BOOST_TEST(!ConfigFromJson(o).ok());
}

BOOST_AUTO_TEST_CASE(state_round_trips_and_defaults) {
  ContainerState s;
  s.status = ContainerStatus::kRestarting;
  s.pid = 42;
  s.exit_code = 137;
  s.oom_killed = true;
  s.started_at = "2024-05-01T12:00:00Z";
  s.finished_at = "2024-05-01T12:00:01Z";
  s.restart_count = 2;
  s.manually_stopped = true;
  s.error = "boom";
  ContainerState back = StateFromJson(StateToJson(s));
  BOOST_TEST((back.status == ContainerStatus::kRestarting));
  BOOST_TEST(back.pid == 42);
  BOOST_TEST(back.exit_code == 137);
  BOOST_TEST(back.oom_killed);
  BOOST_TEST(back.started_at == s.started_at);
  BOOST_TEST(back.finished_at == s.finished_at);
  BOOST_TEST(back.restart_count == 2);
  BOOST_TEST(back.manually_stopped);
  BOOST_TEST(back.error == "boom");
  // Unknown status and missing fields read as a fresh created container.
  ContainerState fresh = StateFromJson(boost::json::object{{"status", "weird"}});
  BOOST_TEST((fresh.status == ContainerStatus::kCreated));
  BOOST_TEST(fresh.restart_count == 0);
}

BOOST_AUTO_TEST_CASE(records_persist_and_reload) {
  TempDir dir = testing::MakeTempDir();
  ContainerConfig c = SampleConfig();
  BOOST_REQUIRE(SaveConfig(dir.path(), c).ok());
  // No state.json yet: a created container.
  auto loaded = LoadRecord(dir.path());
  BOOST_REQUIRE(loaded.ok());
  BOOST_TEST((loaded->state.status == ContainerStatus::kCreated));

  ContainerState s;
  s.status = ContainerStatus::kExited;
  s.exit_code = 3;
  BOOST_REQUIRE(SaveState(dir.path(), s).ok());
  loaded = LoadRecord(dir.path());
  BOOST_REQUIRE(loaded.ok());
  BOOST_TEST(loaded->config.name == "web");
  BOOST_TEST((loaded->state.status == ContainerStatus::kExited));
  BOOST_TEST(loaded->state.exit_code == 3);
  // Written by rename: no temporary file is left beside them.
  BOOST_TEST(!PathExists(dir.path() + "/.state.json.tmp"));
  BOOST_TEST(!PathExists(dir.path() + "/.config.json.tmp"));

  // A torn state.json reads as created; a missing config.json is ENOENT.
  BOOST_REQUIRE(WriteFileAtomic(dir.path() + "/state.json", "{\"status\": ").ok());
  loaded = LoadRecord(dir.path());
  BOOST_REQUIRE(loaded.ok());
  BOOST_TEST((loaded->state.status == ContainerStatus::kCreated));
  TempDir empty = testing::MakeTempDir();
  auto missing = LoadRecord(empty.path());
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().IsNotFound());
}

BOOST_AUTO_TEST_CASE(volume_specs) {
  auto bind = ParseVolumeSpec("/srv/data/:/data:ro");
  BOOST_REQUIRE(bind.ok());
  BOOST_TEST((bind->type == Mount::Type::kBind));
  BOOST_TEST(bind->source == "/srv/data");
  BOOST_TEST(bind->destination == "/data");
  BOOST_TEST(bind->read_only);

  auto named = ParseVolumeSpec("cache:/var//cache2/");
  BOOST_REQUIRE(named.ok());
  BOOST_TEST((named->type == Mount::Type::kVolume));
  BOOST_TEST(named->source == "cache");
  BOOST_TEST(named->destination == "/var/cache2");
  BOOST_TEST(!named->read_only);

  auto tmpfs = ParseTmpfsSpec("/run:size=64m,mode=1777");
  BOOST_REQUIRE(tmpfs.ok());
  BOOST_TEST((tmpfs->type == Mount::Type::kTmpfs));
  BOOST_TEST(tmpfs->destination == "/run");
  BOOST_TEST(tmpfs->tmpfs_options == "size=64m,mode=1777");

  for (const char* bad : {"", "/a", "a:b", "/a:relative", "/a:/b:rx", "/a:/b:ro:x", "bad name:/x",
                          "-x:/x", "/a:/", "/a:/..", "/a:/b/../c", "/a:/../../etc"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!ParseVolumeSpec(bad).ok()); }
  }
  BOOST_TEST(!ParseTmpfsSpec("relative").ok());
  // Found by tests/fuzz/volume_spec: the kernel would stop at the NUL.
  BOOST_TEST(!ParseTmpfsSpec(std::string_view("/run:size=1m\0,exec", 19)).ok());
  BOOST_TEST(!ParseVolumeSpec(std::string_view("/srv:/data\0x", 12)).ok());
}

BOOST_AUTO_TEST_CASE(names_and_ids) {
  BOOST_TEST(ValidateContainerName("web-1.a_b").value() == "web-1.a_b");
  BOOST_TEST(ValidateContainerName("/web").value() == "web");
  for (const char* bad : {"", "a", "-web", "we b", "web/1", "_x"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!ValidateContainerName(bad).ok()); }
  }
  std::set<std::string> names;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    std::string n = GenerateName(seed * 7919);
    BOOST_TEST(ValidateContainerName(n).ok());
    names.insert(n);
  }
  BOOST_TEST(names.size() > 100u);
  std::string id = NewContainerId();
  BOOST_TEST(id.size() == 64u);
  BOOST_TEST(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_TEST(id != NewContainerId());
  std::string now = NowRfc3339Nano();
  BOOST_TEST(now.size() == 30u);
  BOOST_TEST(now.back() == 'Z');
}
