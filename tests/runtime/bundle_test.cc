// OCI bundle generation: the spec from a container's config, users from the
// container's passwd/group, the network files.
#define BOOST_TEST_MODULE runtime_bundle
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include <boost/json.hpp>

#include "common/fs.h"
#include "runtime/bundle.h"
#include "tests/support/temp_store.h"

namespace json = boost::json;
using namespace strata;
using namespace strata::runtime;

namespace {

ContainerConfig Config() {
  ContainerConfig c;
  c.id = std::string(64, 'f');
  c.name = "t";
  c.entrypoint = {"/entry"};
  c.cmd = {"echo", "hi"};
  c.env = {"A=1"};
  c.workdir = "/srv";
  c.hostname = "box";
  return c;
}

std::vector<std::string> Strings(const json::value& v) {
  std::vector<std::string> out;
  for (const auto& s : v.as_array()) out.emplace_back(s.as_string());
  return out;
}

const json::object* FindMount(const json::object& spec, std::string_view dest) {
  for (const auto& m : spec.at("mounts").as_array()) {
    if (m.as_object().at("destination").as_string() == dest) return &m.as_object();
  }
  return nullptr;
}

std::vector<std::string> Namespaces(const json::object& spec) {
  std::vector<std::string> out;
  for (const auto& n : spec.at("linux").at("namespaces").as_array()) {
    out.emplace_back(n.at("type").as_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(process_root_and_defaults) {
  BundleInputs in;
  in.root_path = "/var/lib/strata/mnt/containers/" + std::string(64, 'f');
  in.hostname_file = "/c/hostname";
  in.hosts_file = "/c/hosts";
  in.resolv_conf_file = "/c/resolv.conf";
  auto spec = BuildSpec(Config(), in);
  BOOST_REQUIRE(spec.ok());
  const json::object& s = *spec;
  const json::object& p = s.at("process").as_object();
  BOOST_TEST(Strings(p.at("args")) == (std::vector<std::string>{"/entry", "echo", "hi"}));
  auto env = Strings(p.at("env"));
  BOOST_TEST(env.front().rfind("PATH=", 0) == 0u);
  BOOST_TEST((std::find(env.begin(), env.end(), "A=1") != env.end()));
  BOOST_TEST((std::find(env.begin(), env.end(), "HOSTNAME=box") != env.end()));
  BOOST_TEST(p.at("cwd").as_string() == "/srv");
  BOOST_TEST(p.at("noNewPrivileges").as_bool());
  BOOST_TEST(p.at("terminal").as_bool() == false);
  BOOST_TEST(p.at("user").at("uid").to_number<int>() == 0);
  auto caps = Strings(p.at("capabilities").at("bounding"));
  BOOST_TEST(caps == DefaultCapabilities());
  BOOST_TEST((std::find(caps.begin(), caps.end(), "CAP_SYS_ADMIN") == caps.end()));
  BOOST_TEST(Strings(p.at("capabilities").at("effective")) == DefaultCapabilities());

  BOOST_TEST(s.at("root").at("path").as_string() == in.root_path);
  BOOST_TEST(s.at("hostname").as_string() == "box");
  // network none (the default): a network namespace of its own.
  BOOST_TEST(Namespaces(s) == (std::vector<std::string>{"ipc", "mount", "network", "pid", "uts"}));
  BOOST_TEST(s.at("linux").at("cgroupsPath").as_string() == "/strata/" + std::string(64, 'f'));
  auto ro = Strings(s.at("linux").at("readonlyPaths"));
  BOOST_TEST((std::find(ro.begin(), ro.end(), "/proc/sys") != ro.end()));
  auto masked = Strings(s.at("linux").at("maskedPaths"));
  BOOST_TEST((std::find(masked.begin(), masked.end(), "/proc/kcore") != masked.end()));

  for (const char* dest : {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"}) {
    BOOST_TEST_CONTEXT(dest) { BOOST_TEST(FindMount(s, dest) != nullptr); }
  }
  auto sys = Strings(FindMount(s, "/sys")->at("options"));
  BOOST_TEST((std::find(sys.begin(), sys.end(), "ro") != sys.end()));
  const json::object* hosts = FindMount(s, "/etc/hosts");
  BOOST_REQUIRE(hosts != nullptr);
  BOOST_TEST(hosts->at("type").as_string() == "bind");
  BOOST_TEST(hosts->at("source").as_string() == "/c/hosts");
  // No limits asked for: no limits set.
  const json::object& res = s.at("linux").at("resources").as_object();
  BOOST_TEST(!res.contains("memory"));
  BOOST_TEST(!res.contains("pids"));
  BOOST_TEST(!res.contains("cpu"));
  BOOST_TEST(res.at("devices").as_array().front().at("allow").as_bool() == false);
}

BOOST_AUTO_TEST_CASE(options_limits_volumes_and_host_network) {
  ContainerConfig c = Config();
  c.tty = true;
  c.network = NetworkMode::kHost;
  c.memory = 64 << 20;
  c.pids_limit = 50;
  c.cpus = 1.5;
  BundleInputs in;
  in.root_path = "/r";
  in.user = {1000, 100, {27}};
  Mount deep = *ParseVolumeSpec("/h2:/data/sub:ro");
  Mount top = *ParseVolumeSpec("vol:/data");
  Mount tmp = *ParseTmpfsSpec("/scratch:size=1m");
  in.volumes = {VolumeMount(deep, "/data/sub", "/h2"), VolumeMount(top, "/data", "/vols/vol/data"),
                VolumeMount(tmp, "/scratch", "")};
  auto spec = BuildSpec(c, in);
  BOOST_REQUIRE(spec.ok());
  const json::object& s = *spec;
  const json::object& p = s.at("process").as_object();
  BOOST_TEST(p.at("terminal").as_bool());
  auto env = Strings(p.at("env"));
  BOOST_TEST((std::find(env.begin(), env.end(), "TERM=xterm") != env.end()));
  BOOST_TEST(p.at("user").at("uid").to_number<int>() == 1000);
  BOOST_TEST(p.at("user").at("gid").to_number<int>() == 100);
  BOOST_TEST(p.at("user").at("additionalGids").as_array().size() == 1u);
  // Not root: no effective capabilities.
  BOOST_TEST(p.at("capabilities").at("effective").as_array().empty());
  BOOST_TEST(Namespaces(s) == (std::vector<std::string>{"ipc", "mount", "pid", "uts"}));

  const json::object& res = s.at("linux").at("resources").as_object();
  BOOST_TEST(res.at("memory").at("limit").to_number<int64_t>() == 64 << 20);
  BOOST_TEST(res.at("memory").at("swap").to_number<int64_t>() == 64 << 20);
  BOOST_TEST(res.at("pids").at("limit").to_number<int64_t>() == 50);
  BOOST_TEST(res.at("cpu").at("quota").to_number<int64_t>() == 150000);
  BOOST_TEST(res.at("cpu").at("period").to_number<int64_t>() == 100000);

  // Volumes: parents before children, whatever the order given.
  std::vector<std::string> order;
  for (const auto& m : s.at("mounts").as_array()) {
    order.emplace_back(m.at("destination").as_string());
  }
  auto pos = [&](const char* d) {
    return std::find(order.begin(), order.end(), d) - order.begin();
  };
  BOOST_TEST(pos("/data") < pos("/data/sub"));
  auto sub = Strings(FindMount(s, "/data/sub")->at("options"));
  BOOST_TEST((std::find(sub.begin(), sub.end(), "ro") != sub.end()));
  BOOST_TEST(FindMount(s, "/data")->at("source").as_string() == "/vols/vol/data");
  const json::object* scratch = FindMount(s, "/scratch");
  BOOST_TEST(scratch->at("type").as_string() == "tmpfs");
  auto opts = Strings(scratch->at("options"));
  BOOST_TEST((std::find(opts.begin(), opts.end(), "size=1m") != opts.end()));
}

BOOST_AUTO_TEST_CASE(no_command_is_an_error) {
  ContainerConfig c = Config();
  c.entrypoint.clear();
  c.cmd.clear();
  BOOST_TEST(!BuildSpec(c, BundleInputs{}).ok());
}

BOOST_AUTO_TEST_CASE(users_resolve_inside_the_container) {
  TempDir root = testing::MakeTempDir();
  BOOST_REQUIRE(MakeDirs(root.path() + "/etc").ok());
  BOOST_REQUIRE(WriteFileAtomic(root.path() + "/etc/passwd",
                                "root:x:0:0:root:/root:/bin/sh\n"
                                "app:x:1000:1001::/home/app:/bin/sh\n")
                    .ok());
  BOOST_REQUIRE(WriteFileAtomic(root.path() + "/etc/group",
                                "root:x:0:\napp:x:1001:\nstaff:x:50:app,other\nwheel:x:10:root\n")
                    .ok());
  auto u = ResolveUser(root.path(), "");
  BOOST_TEST(u->uid == 0u);
  u = ResolveUser(root.path(), "app");
  BOOST_REQUIRE(u.ok());
  BOOST_TEST(u->uid == 1000u);
  BOOST_TEST(u->gid == 1001u);
  BOOST_TEST(u->additional_gids == (std::vector<uint32_t>{50}));
  u = ResolveUser(root.path(), "1000");
  BOOST_TEST(u->gid == 1001u);
  u = ResolveUser(root.path(), "4242");  // no passwd entry: gid 0, as Docker
  BOOST_TEST(u->uid == 4242u);
  BOOST_TEST(u->gid == 0u);
  u = ResolveUser(root.path(), "app:staff");
  BOOST_TEST(u->gid == 50u);
  u = ResolveUser(root.path(), "1:2");
  BOOST_TEST(u->uid == 1u);
  BOOST_TEST(u->gid == 2u);
  BOOST_TEST(!ResolveUser(root.path(), "nobody").ok());
  BOOST_TEST(!ResolveUser(root.path(), "app:nogroup").ok());

  // A passwd that is a symlink out of the root is read inside it (here:
  // not found), never from the host.
  TempDir evil = testing::MakeTempDir();
  BOOST_REQUIRE(MakeDirs(evil.path() + "/etc").ok());
  BOOST_REQUIRE(::symlink("/etc/passwd", (evil.path() + "/etc/passwd").c_str()) == 0);
  BOOST_TEST(!ResolveUser(evil.path(), "root").ok());
  BOOST_TEST(ResolveUser(evil.path(), "0").ok());
}

// What an image or a running container can put at /etc/passwd: each is
// refused or read inside the root, and none holds the reader (the timeout
// catches a FIFO opened for reading, or /dev/zero read to the end).
BOOST_AUTO_TEST_CASE(hostile_user_databases_are_refused, *boost::unit_test::timeout(20)) {
  auto root_with = [](auto make) {
    TempDir root = testing::MakeTempDir();
    BOOST_REQUIRE(MakeDirs(root.path() + "/etc").ok());
    make(root.path() + "/etc/passwd");
    return root;
  };
  auto refused = [](const TempDir& root, std::string_view why) {
    auto u = ResolveUser(root.path(), "app");
    BOOST_REQUIRE(!u.ok());
    BOOST_TEST(u.error().message().find(why) != std::string::npos, u.error().message());
  };

  TempDir fifo =
      root_with([](const std::string& p) { BOOST_REQUIRE(::mkfifo(p.c_str(), 0644) == 0); });
  refused(fifo, "not a regular file");
  TempDir zero = root_with([](const std::string& p) {
    BOOST_REQUIRE(::mknod(p.c_str(), S_IFCHR | 0644, makedev(1, 5)) == 0);
  });
  refused(zero, "not a regular file");
  TempDir dir = root_with([](const std::string& p) { BOOST_REQUIRE(MakeDirs(p).ok()); });
  refused(dir, "not a regular file");
  TempDir big = root_with([](const std::string& p) {
    auto fd = OpenFile(p, O_WRONLY | O_CREAT, 0644);
    BOOST_REQUIRE(fd.ok());
    BOOST_REQUIRE(::ftruncate(fd->get(), (16 << 20) + 1) == 0);
  });
  refused(big, "larger than 16 MiB");

  // Absolute symlinks and ".." resolve inside the root, as in the container.
  TempDir linked = root_with([](const std::string& p) {
    BOOST_REQUIRE(::symlink("../../../../../usr/lib/passwd", p.c_str()) == 0);
  });
  BOOST_REQUIRE(MakeDirs(linked.path() + "/usr/lib").ok());
  BOOST_REQUIRE(WriteFileAtomic(linked.path() + "/usr/lib/passwd", "app:x:7:8::/:/bin/sh\n").ok());
  auto u = ResolveUser(linked.path(), "app");
  BOOST_REQUIRE(u.ok());
  BOOST_TEST(u->uid == 7u);
  BOOST_TEST(u->gid == 8u);
  BOOST_REQUIRE(::unlink((linked.path() + "/etc/passwd").c_str()) == 0);
  BOOST_REQUIRE(::symlink("/usr/lib/passwd", (linked.path() + "/etc/passwd").c_str()) == 0);
  BOOST_TEST(ResolveUser(linked.path(), "app").value().uid == 7u);
}

BOOST_AUTO_TEST_CASE(network_files) {
  TempDir dir = testing::MakeTempDir();
  ContainerConfig c = Config();
  BOOST_REQUIRE(WriteNetworkFiles(dir.path(), c).ok());
  BOOST_TEST(ReadFile(dir.path() + "/hostname").value() == "box\n");
  std::string hosts = ReadFile(dir.path() + "/hosts").value();
  BOOST_TEST(hosts.find("127.0.0.1\tlocalhost") != std::string::npos);
  BOOST_TEST(hosts.find("\tbox\n") != std::string::npos);
  BOOST_TEST(PathExists(dir.path() + "/resolv.conf"));
}
