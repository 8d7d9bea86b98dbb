#include "runtime/bundle.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include <boost/json.hpp>

#include "common/fs.h"
#include "runtime/security_options.h"

namespace strata::runtime {
namespace json = boost::json;

namespace {

constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

json::array Strings(const std::vector<std::string>& v) {
  json::array out;
  for (const auto& s : v) out.emplace_back(s);
  return out;
}

json::object MountJson(const BundleMount& m) {
  return json::object{{"destination", m.destination},
                      {"type", m.type},
                      {"source", m.source},
                      {"options", Strings(m.options)}};
}

json::object Device(const char* type, int64_t major, int64_t minor, const char* access) {
  json::object d{{"allow", true}, {"type", type}, {"access", access}};
  if (major >= 0) d["major"] = major;
  if (minor >= 0) d["minor"] = minor;
  return d;
}

size_t Depth(const std::string& path) { return std::count(path.begin(), path.end(), '/'); }

bool IsNumber(std::string_view s, uint32_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// One line of /etc/passwd or /etc/group, split on ':'.
std::vector<std::string> Fields(std::string_view line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t colon = line.find(':', start);
    out.emplace_back(line.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return out;
}

// Bigger than any real /etc/passwd or /etc/group (100,000 users take ~6 MB).
constexpr size_t kMaxDbSize = 16 << 20;

// The lines of a file in the container's root (none when it does not exist).
// A running container can change its root while this reads it (exec
// --user), and an image can hold anything at these paths, so:
// - the kernel resolves the path inside the root, and only a regular file
//   is opened (OpenRegularInRoot): a component swapped for a symlink cannot
//   lead out of it, a FIFO cannot hold this thread, a device node cannot be
//   the host's (the mount allows devices);
// - at most kMaxDbSize bytes are read.
Result<std::vector<std::vector<std::string>>> ReadDb(const std::string& root,
                                                     const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  ASSIGN_OR_RETURN(UniqueFd dir, OpenFile(root, O_PATH | O_DIRECTORY));
  struct stat st;
  auto fd = OpenRegularInRoot(dir.get(), path, &st);
  if (!fd.ok()) {
    int err = fd.error().code();
    if (err == ENOENT || err == ENOTDIR || err == ELOOP) return rows;  // as if missing
    return std::move(fd).error().Context("the container's root");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxDbSize) {
    return Error(EFBIG, "the container's " + path + " is larger than 16 MiB");
  }
  auto text = ReadAll(fd->get(), kMaxDbSize);
  if (!text.ok()) return std::move(text).error().Context("the container's " + path);
  size_t start = 0;
  while (start < text->size()) {
    size_t nl = text->find('\n', start);
    if (nl == std::string::npos) nl = text->size();
    std::string_view line(text->data() + start, nl - start);
    start = nl + 1;
    if (line.empty() || line.front() == '#') continue;
    rows.push_back(Fields(line));
  }
  return rows;
}

}  // namespace

const std::vector<std::string>& DefaultCapabilities() {
  static const std::vector<std::string> kCaps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE",
  };
  return kCaps;
}

std::vector<std::string> ProcessEnv(const ContainerConfig& config) {
  std::vector<std::string> env;
  auto has = [&](std::string_view key) {
    return std::any_of(env.begin(), env.end(), [&](const std::string& e) {
      return e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=';
    });
  };
  for (const auto& e : config.env) env.push_back(e);
  if (!has("PATH")) env.insert(env.begin(), kDefaultPath);
  if (!has("HOSTNAME")) env.push_back("HOSTNAME=" + config.hostname);
  if (config.tty && !has("TERM")) env.push_back("TERM=xterm");
  return env;
}

BundleMount VolumeMount(const Mount& mount, const std::string& resolved_destination,
                        const std::string& host_source) {
  BundleMount m;
  m.destination = resolved_destination;
  if (mount.type == Mount::Type::kTmpfs) {
    m.type = "tmpfs";
    m.source = "tmpfs";
    m.options = {"nosuid", "nodev"};
    size_t start = 0;
    const std::string& opts = mount.tmpfs_options;
    while (start < opts.size()) {
      size_t comma = opts.find(',', start);
      if (comma == std::string::npos) comma = opts.size();
      if (comma > start) m.options.push_back(opts.substr(start, comma - start));
      start = comma + 1;
    }
    return m;
  }
  m.type = "bind";
  m.source = host_source;
  m.options = {"rbind", mount.read_only ? "ro" : "rw", "rprivate"};
  return m;
}

Result<json::object> BuildSpec(const ContainerConfig& config, const BundleInputs& in) {
  std::vector<std::string> args = config.Args();
  if (args.empty()) return Error::Invalid("no command specified (the image has no Cmd)");

  const auto& caps = DefaultCapabilities();
  json::object capabilities{{"bounding", Strings(caps)}};
  if (in.user.uid == 0) {
    capabilities["effective"] = Strings(caps);
    capabilities["permitted"] = Strings(caps);
  } else {
    capabilities["effective"] = json::array();
    capabilities["permitted"] = json::array();
  }
  json::array gids;
  for (uint32_t g : in.user.additional_gids) gids.push_back(g);
  json::object user{{"uid", in.user.uid}, {"gid", in.user.gid}};
  if (!gids.empty()) user["additionalGids"] = std::move(gids);

  // As many open files as stratad may have (a runtime cannot raise the hard
  // limit once it has dropped its capabilities), at most 1048576.
  struct rlimit rl {};
  uint64_t nofile = 1048576;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY) {
    nofile = std::min<uint64_t>(nofile, rl.rlim_max);
  }
  json::object process{
      {"terminal", config.tty},
      {"user", std::move(user)},
      {"args", Strings(args)},
      {"env", Strings(ProcessEnv(config))},
      {"cwd", config.workdir.empty() ? "/" : config.workdir},
      {"capabilities", std::move(capabilities)},
      {"rlimits",
       json::array{json::object{{"type", "RLIMIT_NOFILE"}, {"hard", nofile}, {"soft", nofile}}}},
      {"noNewPrivileges", true},
  };

  json::array mounts;
  auto add = [&](BundleMount m) { mounts.push_back(MountJson(m)); };
  add({"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}});
  add({"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}});
  add({"/dev/pts",
       "devpts",
       "devpts",
       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}});
  add({"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}});
  add({"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}});
  add({"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}});
  add({"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}});
  std::vector<BundleMount> files;
  if (!in.resolv_conf_file.empty()) {
    files.push_back({kResolvConfMount, "bind", in.resolv_conf_file, {"rbind", "rprivate"}});
  }
  if (!in.hostname_file.empty()) {
    files.push_back({kHostnameMount, "bind", in.hostname_file, {"rbind", "rprivate"}});
  }
  if (!in.hosts_file.empty()) {
    files.push_back({kHostsMount, "bind", in.hosts_file, {"rbind", "rprivate"}});
  }
  // A volume at one of these paths replaces stratad's file.
  for (const auto& f : files) {
    bool shadowed = std::any_of(in.volumes.begin(), in.volumes.end(), [&](const BundleMount& v) {
      return v.destination == f.destination;
    });
    if (!shadowed) add(f);
  }
  if (!in.status_dir.empty()) {
    add({kStatusMount,
         "bind",
         in.status_dir,
         {"rbind", "ro", "nosuid", "nodev", "noexec", "rprivate"}});
  }
  std::vector<BundleMount> volumes = in.volumes;
  std::stable_sort(volumes.begin(), volumes.end(), [](const BundleMount& a, const BundleMount& b) {
    return Depth(a.destination) < Depth(b.destination);
  });
  for (const auto& v : volumes) add(v);

  json::array namespaces;
  for (const char* ns : {"pid", "ipc", "uts", "mount"}) {
    namespaces.push_back(json::object{{"type", ns}});
  }
  if (config.network == NetworkMode::kNone) namespaces.push_back(json::object{{"type", "network"}});

  json::array devices{json::object{{"allow", false}, {"access", "rwm"}},
                      Device("c", -1, -1, "m"),
                      Device("b", -1, -1, "m"),
                      Device("c", 1, 3, "rwm"),
                      Device("c", 1, 8, "rwm"),
                      Device("c", 1, 7, "rwm"),
                      Device("c", 5, 0, "rwm"),
                      Device("c", 1, 5, "rwm"),
                      Device("c", 1, 9, "rwm"),
                      Device("c", 5, 1, "rwm"),
                      Device("c", 136, -1, "rwm"),
                      Device("c", 5, 2, "rwm"),
                      Device("c", 10, 200, "rwm")};
  json::object resources{{"devices", std::move(devices)}};
  // No swap beyond the limit, so an allocator past it is OOM-killed (and
  // inspect can say so) instead of swapping.
  if (config.memory > 0) {
    resources["memory"] = json::object{{"limit", config.memory}, {"swap", config.memory}};
  }
  if (config.pids_limit > 0) resources["pids"] = json::object{{"limit", config.pids_limit}};
  if (config.cpus > 0) {
    constexpr int64_t kPeriod = 100000;
    resources["cpu"] = json::object{
        {"quota", static_cast<int64_t>(std::llround(config.cpus * kPeriod))}, {"period", kPeriod}};
  }

  json::object linux{
      {"namespaces", std::move(namespaces)},
      {"cgroupsPath", "/strata/" + config.id},
      {"resources", std::move(resources)},
      {"maskedPaths",
       Strings({"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                "/sys/firmware", "/sys/devices/virtual/powercap"})},
      {"readonlyPaths",
       Strings({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})},
  };

  json::object spec{
      {"ociVersion", "1.0.2"},
      {"process", std::move(process)},
      {"root", json::object{{"path", in.root_path}, {"readonly", false}}},
      {"hostname", config.hostname},
      {"mounts", std::move(mounts)},
      {"linux", std::move(linux)},
  };
  RETURN_IF_ERROR(ApplySecurity(config, spec));
  return spec;
}

Status WriteNetworkFiles(const std::string& dir, const ContainerConfig& config) {
  RETURN_IF_ERROR(ReplaceFile(JoinPath(dir, "hostname"), config.hostname + "\n", 0644));
  std::string hosts;
  std::string resolv;
  if (config.network == NetworkMode::kHost) {
    if (auto host_hosts = ReadFile("/etc/hosts"); host_hosts.ok()) hosts = *host_hosts;
  }
  if (hosts.empty()) {
    hosts =
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n";
    hosts += "127.0.1.1\t" + config.hostname + "\n";
  }
  if (auto host_resolv = ReadFile("/etc/resolv.conf"); host_resolv.ok()) resolv = *host_resolv;
  RETURN_IF_ERROR(ReplaceFile(JoinPath(dir, "hosts"), hosts, 0644));
  RETURN_IF_ERROR(ReplaceFile(JoinPath(dir, "resolv.conf"), resolv, 0644));
  return Ok();
}

Result<ProcessUser> ResolveUser(const std::string& root, const std::string& spec) {
  ProcessUser user;
  if (spec.empty()) return user;
  size_t colon = spec.find(':');
  std::string name = spec.substr(0, colon);
  std::string group = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (name.empty()) return Error::Invalid("invalid user \"" + spec + "\"");

  ASSIGN_OR_RETURN(auto passwd, ReadDb(root, "/etc/passwd"));
  std::string user_name;
  bool found = false;
  uint32_t id = 0;
  bool numeric = IsNumber(name, &id);
  for (const auto& f : passwd) {
    if (f.size() < 4) continue;
    uint32_t uid = 0, gid = 0;
    if (!IsNumber(f[2], &uid) || !IsNumber(f[3], &gid)) continue;
    if ((numeric && uid == id) || (!numeric && f[0] == name)) {
      user.uid = uid;
      user.gid = gid;
      user_name = f[0];
      found = true;
      break;
    }
  }
  if (!found) {
    if (!numeric) {
      return Error::Invalid("unable to find user " + name + ": no matching entries in passwd file");
    }
    user.uid = id;
    user.gid = 0;
  }

  ASSIGN_OR_RETURN(auto groups, ReadDb(root, "/etc/group"));
  if (!group.empty()) {
    uint32_t gid = 0;
    if (IsNumber(group, &gid)) {
      user.gid = gid;
    } else {
      bool group_found = false;
      for (const auto& f : groups) {
        if (f.size() >= 3 && f[0] == group && IsNumber(f[2], &gid)) {
          user.gid = gid;
          group_found = true;
          break;
        }
      }
      if (!group_found) {
        return Error::Invalid("unable to find group " + group +
                              ": no matching entries in group file");
      }
    }
  }
  // Supplementary groups listing the user by name.
  if (!user_name.empty()) {
    for (const auto& f : groups) {
      uint32_t gid = 0;
      if (f.size() < 4 || !IsNumber(f[2], &gid) || gid == user.gid) continue;
      size_t start = 0;
      const std::string& members = f[3];
      while (start <= members.size()) {
        size_t comma = members.find(',', start);
        if (comma == std::string::npos) comma = members.size();
        if (members.compare(start, comma - start, user_name) == 0 &&
            comma - start == user_name.size()) {
          user.additional_gids.push_back(gid);
          break;
        }
        start = comma + 1;
      }
    }
  }
  return user;
}

}  // namespace strata::runtime
