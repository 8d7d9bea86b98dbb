// The cgroup front: host layout, path resolution, the backend factory and
// the small file helpers every backend uses.
#include "runtime/oci/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <ctime>
#include <set>

#include "common/fs.h"

namespace strata::runtime::oci {
namespace {

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(sep, start);
    out.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool IsV1Controller(std::string_view option) {
  static const std::set<std::string_view> kControllers = {
      "cpu",      "cpuacct", "cpuset",     "memory",  "devices", "freezer", "net_cls",
      "net_prio", "blkio",   "perf_event", "hugetlb", "pids",    "rdma",    "misc"};
  return kControllers.count(option) != 0 || option.starts_with("name=");
}

// "a/./b//../c" -> "/a/c"; fails if ".." climbs above the root.
Result<std::string> CleanAbsolute(std::string_view path) {
  std::vector<std::string_view> parts;
  for (std::string_view part : Split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty())
        return Error::Invalid("cgroup path " + std::string(path) + " leaves the hierarchy");
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (std::string_view part : parts) {
    out.push_back('/');
    out.append(part);
  }
  return out.empty() ? "/" : out;
}

std::string Parent(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace

std::string_view CgroupModeName(CgroupMode mode) {
  switch (mode) {
    case CgroupMode::kV1:
      return "v1";
    case CgroupMode::kV2:
      return "v2";
    case CgroupMode::kHybrid:
      return "hybrid";
  }
  return "?";
}

bool CgroupHierarchy::Has(std::string_view controller) const {
  for (std::string_view c : Split(key, ',')) {
    if (c == controller) return true;
  }
  return false;
}

Result<std::string> CgroupHierarchy::Dir(std::string_view path) const {
  std::string_view rest = path;
  if (mount_root != "/") {
    if (!(path == mount_root || (path.starts_with(mount_root) && path.size() > mount_root.size() &&
                                 path[mount_root.size()] == '/'))) {
      return Error::Invalid("cgroup " + std::string(path) + " is outside the part of " + key +
                            " mounted at " + mountpoint);
    }
    rest = path.substr(mount_root.size());
  }
  return JoinPath(mountpoint, rest);
}

const CgroupHierarchy* CgroupLayout::V1For(std::string_view controller) const {
  for (const auto& h : v1) {
    if (h.Has(controller)) return &h;
  }
  return nullptr;
}

std::string CgroupPaths::DirFor(std::string_view controller) const {
  for (const auto& [key, dir] : dirs) {
    for (std::string_view c : Split(key, ',')) {
      if (c == controller) return dir;
    }
  }
  return "";
}

Result<CgroupLayout> ParseCgroupLayout(std::string_view mountinfo, std::string_view self_cgroup) {
  // /proc/self/cgroup: "ID:controllers:path"; v2 is "0::path".
  std::map<std::string, std::string> own;  // key -> path
  for (std::string_view line : Split(self_cgroup, '\n')) {
    if (line.empty()) continue;
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    std::string key(line.substr(a + 1, b - a - 1));
    own[key.empty() ? "unified" : key] = std::string(line.substr(b + 1));
  }

  CgroupLayout layout;
  std::set<std::string> seen;
  for (std::string_view line : Split(mountinfo, '\n')) {
    auto fields = Split(line, ' ');
    // id parent major:minor root mountpoint options [optional...] - fstype source super
    size_t dash = 0;
    for (size_t i = 6; i < fields.size(); ++i) {
      if (fields[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || fields.size() < dash + 4) continue;
    std::string_view fstype = fields[dash + 1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    CgroupHierarchy h;
    h.mount_root = Unescape(fields[3]);
    h.mountpoint = Unescape(fields[4]);
    h.unified = fstype == "cgroup2";
    if (h.unified) {
      h.key = "unified";
    } else {
      for (std::string_view option : Split(fields[dash + 3], ',')) {
        if (!IsV1Controller(option)) continue;
        if (!h.key.empty()) h.key.push_back(',');
        h.key.append(option);
      }
      if (h.key.empty()) continue;
    }
    // A hierarchy may be mounted more than once (bind mounts); the first
    // mount is the one the host set up.
    if (!seen.insert(h.key).second) continue;
    auto it = own.find(h.key);
    h.own_path = it == own.end() ? "/" : it->second;
    if (h.unified) {
      layout.unified = std::move(h);
    } else {
      layout.v1.push_back(std::move(h));
    }
  }

  bool has_v1_controllers = false;
  for (const auto& h : layout.v1) has_v1_controllers |= !h.key.starts_with("name=");
  if (has_v1_controllers) {
    layout.mode = layout.unified.mountpoint.empty() ? CgroupMode::kV1 : CgroupMode::kHybrid;
  } else if (!layout.unified.mountpoint.empty()) {
    layout.mode = CgroupMode::kV2;
    layout.v1.clear();
  } else {
    return Error(ENOENT, "no cgroup file system is mounted");
  }
  return layout;
}

Result<CgroupLayout> DetectCgroupLayout() {
  ASSIGN_OR_RETURN(std::string mountinfo, ReadFile("/proc/self/mountinfo"));
  ASSIGN_OR_RETURN(std::string self_cgroup, ReadFile("/proc/self/cgroup"));
  return ParseCgroupLayout(mountinfo, self_cgroup);
}

Result<std::string> ResolveCgroupPath(std::string_view cgroups_path, std::string_view container_id,
                                      std::string_view own_path, bool unified) {
  std::string path =
      cgroups_path.empty() ? "strata/" + std::string(container_id) : std::string(cgroups_path);
  std::string full;
  if (path[0] == '/') {
    full = path;
  } else {
    std::string base = unified ? Parent(own_path) : std::string(own_path);
    full = base + "/" + path;
  }
  auto clean = CleanAbsolute(full);
  if (clean.ok() && *clean == "/")
    return Error::Invalid("cgroup path " + path + " is the root cgroup");
  return clean;
}

std::vector<DeviceRule> EffectiveDeviceRules(const std::vector<DeviceRule>& rules) {
  std::vector<DeviceRule> out = rules;
  static const DeviceRule kDefaults[] = {
      {true, 'c', -1, -1, "m"},    {true, 'b', -1, -1, "m"},  // mknod of anything
      {true, 'c', 1, 3, "rwm"},    {true, 'c', 1, 5, "rwm"},  // null, zero
      {true, 'c', 1, 7, "rwm"},    {true, 'c', 1, 8, "rwm"},  // full, random
      {true, 'c', 1, 9, "rwm"},    {true, 'c', 5, 0, "rwm"},  // urandom, tty
      {true, 'c', 5, 1, "rwm"},    {true, 'c', 5, 2, "rwm"},  // console, ptmx
      {true, 'c', 136, -1, "rwm"},                            // pts
  };
  out.insert(out.end(), std::begin(kDefaults), std::end(kDefaults));
  return out;
}

std::vector<std::string> DeviceCgroupRules(const std::vector<DeviceRule>& rules) {
  auto number = [](int64_t n) { return n < 0 ? std::string("*") : std::to_string(n); };
  std::vector<std::string> out;
  for (const DeviceRule& r : EffectiveDeviceRules(rules)) {
    std::string rule = std::string(r.allow ? "allow " : "deny ") + r.type;
    if (r.type == 'a') {
      rule += " *:* " + r.access;  // the kernel ignores numbers for "a"
    } else {
      rule += " " + number(r.major) + ":" + number(r.minor) + " " + r.access;
    }
    out.push_back(std::move(rule));
  }
  return out;
}

Result<std::unique_ptr<Cgroup>> Cgroup::Create(const CgroupLayout& layout,
                                               std::string_view cgroups_path,
                                               std::string_view container_id,
                                               const Resources& resources) {
  switch (layout.mode) {
    case CgroupMode::kV1:
      return CreateCgroupV1(layout, cgroups_path, container_id, resources);
    case CgroupMode::kV2:
      return CreateCgroupV2(layout, cgroups_path, container_id, resources);
    case CgroupMode::kHybrid:
      return CreateCgroupHybrid(layout, cgroups_path, container_id, resources);
  }
  return Error::Invalid("unknown cgroup mode");
}

std::unique_ptr<Cgroup> Cgroup::Open(const CgroupPaths& paths) {
  switch (paths.mode) {
    case CgroupMode::kV1:
      return OpenCgroupV1(paths);
    case CgroupMode::kHybrid:
      return OpenCgroupHybrid(paths);
    case CgroupMode::kV2:
      break;
  }
  return OpenCgroupV2(paths);
}

namespace cgroup_internal {

Status WriteControl(const std::string& dir, std::string_view file, std::string_view value) {
  std::string path = JoinPath(dir, file);
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Error::FromErrno("open " + path);
  UniqueFd owned(fd);
  // One write: cgroup files take a value per write(2) call.
  ssize_t n = ::write(fd, value.data(), value.size());
  if (n < 0) return Error::FromErrno("write " + std::string(value) + " to " + path);
  return Ok();
}

Result<std::string> ReadControl(const std::string& dir, std::string_view file) {
  return ReadFile(JoinPath(dir, file));
}

std::optional<uint64_t> FlatKeyedValue(std::string_view text, std::string_view key) {
  for (std::string_view line : Split(text, '\n')) {
    if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ' ') continue;
    std::string_view value = line.substr(key.size() + 1);
    uint64_t out = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec == std::errc()) return out;
  }
  return std::nullopt;
}

Result<std::vector<pid_t>> ReadProcs(const std::string& dir) {
  ASSIGN_OR_RETURN(std::string text, ReadControl(dir, "cgroup.procs"));
  std::vector<pid_t> pids;
  for (std::string_view line : Split(text, '\n')) {
    pid_t pid = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
    if (ec == std::errc() && pid > 0) pids.push_back(pid);
  }
  return pids;
}

Result<std::vector<std::string>> MakeCgroupDirs(
    const std::string& dir, const std::function<Status(const std::string&)>& on_new) {
  std::vector<std::string> missing;
  std::string at = dir;
  struct stat st;
  while (::stat(at.c_str(), &st) != 0) {
    if (errno != ENOENT) return Error::FromErrno("stat " + at);
    missing.push_back(at);
    at = Parent(at);
  }
  std::vector<std::string> created;
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) {
      Error err = Error::FromErrno("mkdir " + *it);
      for (auto c = created.rbegin(); c != created.rend(); ++c) ::rmdir(c->c_str());
      return err;
    }
    created.push_back(*it);
    if (on_new) {
      Status st2 = on_new(*it);
      if (!st2.ok()) {
        for (auto c = created.rbegin(); c != created.rend(); ++c) ::rmdir(c->c_str());
        return std::move(st2).error();
      }
    }
  }
  return created;
}

Status RemoveCgroupDir(const std::string& dir) {
  if (DIR* d = ::opendir(dir.c_str())) {
    std::vector<std::string> children;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (e->d_type == DT_DIR && name != "." && name != "..")
        children.push_back(JoinPath(dir, name));
    }
    ::closedir(d);
    for (const std::string& child : children) RETURN_IF_ERROR(RemoveCgroupDir(child));
  }
  // Processes that were just killed leave the cgroup a moment after they
  // are reaped, so a busy directory is retried for a while.
  for (int attempt = 0;; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return Ok();
    if (errno != EBUSY || attempt >= 200) return Error::FromErrno("remove cgroup " + dir);
    struct timespec ts {
      0, 10 * 1000 * 1000
    };
    nanosleep(&ts, nullptr);
  }
}

bool WaitFor(const std::function<bool()>& done, int timeout_ms) {
  for (int waited = 0;; waited += 5) {
    if (done()) return true;
    if (waited >= timeout_ms) return false;
    struct timespec ts {
      0, 5 * 1000 * 1000
    };
    nanosleep(&ts, nullptr);
  }
}

}  // namespace cgroup_internal
}  // namespace strata::runtime::oci
