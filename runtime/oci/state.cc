#include "runtime/oci/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <ctime>

#include "common/fs.h"

namespace strata::runtime::oci {
namespace {

namespace json = boost::json;

constexpr const char* kStateFile = "state.json";

void AppendPretty(std::string& out, const json::value& v, int indent) {
  auto pad = [&](int n) { out.append(static_cast<size_t>(n) * 2, ' '); };
  if (v.is_object()) {
    const json::object& obj = v.get_object();
    if (obj.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    size_t i = 0;
    for (const auto& kv : obj) {
      pad(indent + 1);
      out += json::serialize(json::value(kv.key()));
      out += ": ";
      AppendPretty(out, kv.value(), indent + 1);
      out += ++i < obj.size() ? ",\n" : "\n";
    }
    pad(indent);
    out += "}";
  } else if (v.is_array()) {
    const json::array& arr = v.get_array();
    if (arr.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (size_t i = 0; i < arr.size(); ++i) {
      pad(indent + 1);
      AppendPretty(out, arr[i], indent + 1);
      out += i + 1 < arr.size() ? ",\n" : "\n";
    }
    pad(indent);
    out += "]";
  } else {
    out += json::serialize(v);
  }
}

std::string Str(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

int64_t Int(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

}  // namespace

std::string_view ContainerStatusName(ContainerStatus status) {
  switch (status) {
    case ContainerStatus::kCreated:
      return "created";
    case ContainerStatus::kRunning:
      return "running";
    case ContainerStatus::kPaused:
      return "paused";
    case ContainerStatus::kStopped:
      return "stopped";
  }
  return "unknown";
}

Status ValidateContainerId(std::string_view id) {
  if (id.empty()) return Error::Invalid("container id is empty");
  if (id.size() > 1024) return Error::Invalid("container id is longer than 1024 characters");
  if (id == "." || id == "..")
    return Error::Invalid("container id \"" + std::string(id) + "\" is invalid");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '.';
    if (!ok) {
      return Error::Invalid("container id \"" + std::string(id) +
                            "\" may only hold letters, digits, '_', '+', '-' and '.'");
    }
  }
  return Ok();
}

Result<StateDir> StateDir::Create(const std::string& root, const std::string& id) {
  RETURN_IF_ERROR(ValidateContainerId(id));
  RETURN_IF_ERROR(MakeDirs(root, 0700));
  std::string path = JoinPath(root, id);
  if (::mkdir(path.c_str(), 0700) != 0) {
    if (errno == EEXIST) return Error::Exists("container " + id + " already exists");
    return Error::FromErrno("mkdir " + path);
  }
  return StateDir(path);
}

Result<StateDir> StateDir::Open(const std::string& root, const std::string& id) {
  RETURN_IF_ERROR(ValidateContainerId(id));
  std::string path = JoinPath(root, id);
  if (!PathExists(JoinPath(path, kStateFile))) {
    return Error::NotFound("container " + id + " does not exist");
  }
  return StateDir(path);
}

std::string StateDir::FifoPath() const { return JoinPath(path_, "exec.fifo"); }
std::string StateDir::ConfigPath() const { return JoinPath(path_, "config.json"); }

Status StateDir::Save(const ContainerState& s) const {
  json::object obj;
  obj["id"] = s.id;
  obj["pid"] = s.pid;
  obj["startTime"] = s.start_time;
  obj["bundle"] = s.bundle;
  obj["rootfs"] = s.rootfs;
  obj["created"] = s.created;
  json::object annotations;
  for (const auto& [k, v] : s.annotations) annotations[k] = v;
  obj["annotations"] = std::move(annotations);
  json::object cgroup;
  cgroup["mode"] = std::string(CgroupModeName(s.cgroup.mode));
  json::object dirs;
  for (const auto& [k, v] : s.cgroup.dirs) dirs[k] = v;
  cgroup["dirs"] = std::move(dirs);
  obj["cgroup"] = std::move(cgroup);
  json::array namespaces;
  for (NamespaceKind kind : s.namespaces) namespaces.emplace_back(NamespaceName(kind));
  obj["namespaces"] = std::move(namespaces);
  obj["ownPidNamespace"] = s.own_pid_namespace;
  return ReplaceFile(JoinPath(path_, kStateFile), json::serialize(obj) + "\n", 0600);
}

Result<ContainerState> StateDir::Load() const {
  std::string path = JoinPath(path_, kStateFile);
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec || !root.is_object()) return Error::Corrupt(path + ": not a state file");
  const json::object& obj = root.get_object();
  ContainerState s;
  s.id = Str(obj, "id");
  s.pid = static_cast<pid_t>(Int(obj, "pid"));
  s.start_time = static_cast<uint64_t>(Int(obj, "startTime"));
  s.bundle = Str(obj, "bundle");
  s.rootfs = Str(obj, "rootfs");
  s.created = Str(obj, "created");
  if (const json::value* a = obj.if_contains("annotations"); a && a->is_object()) {
    for (const auto& kv : a->get_object()) {
      if (kv.value().is_string())
        s.annotations[std::string(kv.key())] = std::string(kv.value().get_string());
    }
  }
  if (const json::value* c = obj.if_contains("cgroup"); c && c->is_object()) {
    std::string mode = Str(c->get_object(), "mode");
    s.cgroup.mode = mode == "v1"       ? CgroupMode::kV1
                    : mode == "hybrid" ? CgroupMode::kHybrid
                                       : CgroupMode::kV2;
    if (const json::value* d = c->get_object().if_contains("dirs"); d && d->is_object()) {
      for (const auto& kv : d->get_object()) {
        if (kv.value().is_string())
          s.cgroup.dirs[std::string(kv.key())] = std::string(kv.value().get_string());
      }
    }
  }
  if (const json::value* n = obj.if_contains("namespaces"); n && n->is_array()) {
    for (const json::value& v : n->get_array()) {
      if (!v.is_string()) continue;
      if (auto kind = NamespaceKindFromName(std::string_view(v.get_string())))
        s.namespaces.push_back(*kind);
    }
  }
  if (const json::value* p = obj.if_contains("ownPidNamespace"); p && p->is_bool()) {
    s.own_pid_namespace = p->get_bool();
  }
  if (s.id.empty() || s.pid <= 0) return Error::Corrupt(path + ": incomplete state");
  return s;
}

Status StateDir::Remove() const { return RemoveTree(path_); }

Result<ProcStat> ParseProcStat(std::string_view text) {
  // "pid (comm) state ppid ..."; comm may contain anything, so the fields
  // start after the last ')'.
  size_t close = text.rfind(')');
  if (close == std::string_view::npos) return Error::Corrupt("unreadable /proc stat");
  std::string_view rest = text.substr(close + 1);
  std::vector<std::string_view> fields;
  size_t pos = 0;
  while (pos < rest.size()) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    size_t end = rest.find(' ', pos);
    if (end == std::string_view::npos) end = rest.size();
    if (end > pos) fields.push_back(rest.substr(pos, end - pos));
    pos = end;
  }
  // fields[0] is field 3 (state); start time is field 22.
  if (fields.size() < 20 || fields[0].empty()) return Error::Corrupt("short /proc stat");
  ProcStat stat;
  stat.state = fields[0][0];
  std::string_view start = fields[19];
  auto [ptr, ec] = std::from_chars(start.data(), start.data() + start.size(), stat.start_time);
  if (ec != std::errc()) return Error::Corrupt("bad start time in /proc stat");
  return stat;
}

Result<ProcStat> ReadProcStat(pid_t pid) {
  ASSIGN_OR_RETURN(std::string text, ReadFile("/proc/" + std::to_string(pid) + "/stat"));
  return ParseProcStat(text);
}

bool ProcessAlive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto stat = ReadProcStat(pid);
  if (!stat.ok()) return false;
  return stat->start_time == start_time && stat->state != 'Z' && stat->state != 'X';
}

ContainerStatus DeriveStatus(const ContainerState& state, const StateDir& dir) {
  if (!ProcessAlive(state.pid, state.start_time)) return ContainerStatus::kStopped;
  if (PathExists(dir.FifoPath())) return ContainerStatus::kCreated;
  auto frozen = Cgroup::Open(state.cgroup)->IsFrozen();
  if (frozen.ok() && *frozen) return ContainerStatus::kPaused;
  return ContainerStatus::kRunning;
}

std::string StateJson(const ContainerState& state, ContainerStatus status,
                      std::optional<uint64_t> oom_kills) {
  json::object obj;
  obj["ociVersion"] = std::string(kOciVersion);
  obj["id"] = state.id;
  obj["pid"] = status == ContainerStatus::kStopped ? 0 : state.pid;
  obj["status"] = std::string(ContainerStatusName(status));
  obj["bundle"] = state.bundle;
  obj["rootfs"] = state.rootfs;
  obj["created"] = state.created;
  obj["owner"] = "";
  if (!state.annotations.empty()) {
    json::object annotations;
    for (const auto& [k, v] : state.annotations) annotations[k] = v;
    obj["annotations"] = std::move(annotations);
  }
  if (oom_kills) obj["oomKills"] = *oom_kills;
  std::string out;
  AppendPretty(out, obj, 0);
  return out;
}

Status ReplaceFile(const std::string& path, std::string_view data, mode_t mode) {
  size_t slash = path.rfind('/');
  std::string tmp = slash == std::string::npos
                        ? "." + path + ".tmp"
                        : path.substr(0, slash + 1) + "." + path.substr(slash + 1) + ".tmp";
  {
    ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    Status st = WriteAll(fd.get(), data);
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return std::move(st).error().Context(tmp);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error err = Error::FromErrno("rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return err;
  }
  return Ok();
}

std::string NowRfc3339() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

}  // namespace strata::runtime::oci
