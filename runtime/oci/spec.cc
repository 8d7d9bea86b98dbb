#include "runtime/oci/spec.h"

#include <sys/resource.h>

#include <array>
#include <boost/json.hpp>

#include "common/fs.h"

namespace strata::runtime::oci {
namespace {

namespace json = boost::json;

// Readers for one key of a JSON object; `path` names the object in error
// messages ("process.user"). Absent and null keys read as nullopt.
const json::value* Find(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

std::string Where(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

Result<std::optional<std::string>> GetString(const json::object& obj, std::string_view key,
                                             std::string_view path) {
  const json::value* v = Find(obj, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return Error::Invalid(Where(path, key) + ": expected a string");
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::optional<bool>> GetBool(const json::object& obj, std::string_view key,
                                    std::string_view path) {
  const json::value* v = Find(obj, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_bool()) return Error::Invalid(Where(path, key) + ": expected true or false");
  return std::optional<bool>(v->get_bool());
}

Result<std::optional<int64_t>> GetInt64(const json::object& obj, std::string_view key,
                                        std::string_view path) {
  const json::value* v = Find(obj, key);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return std::optional<int64_t>(static_cast<int64_t>(v->get_uint64()));
  }
  if (v->is_double()) {
    double d = v->get_double();
    // In range first: converting a double outside int64 (or NaN) is undefined.
    constexpr double kTwo63 = 9223372036854775808.0;
    if (d >= -kTwo63 && d < kTwo63 && d == static_cast<double>(static_cast<int64_t>(d))) {
      return std::optional<int64_t>(static_cast<int64_t>(d));
    }
  }
  return Error::Invalid(Where(path, key) + ": expected an integer");
}

Result<std::optional<uint64_t>> GetUint64(const json::object& obj, std::string_view key,
                                          std::string_view path) {
  const json::value* v = Find(obj, key);
  if (v == nullptr) return std::optional<uint64_t>();
  if (v->is_uint64()) return std::optional<uint64_t>(v->get_uint64());
  if (v->is_int64() && v->get_int64() >= 0) {
    return std::optional<uint64_t>(static_cast<uint64_t>(v->get_int64()));
  }
  return Error::Invalid(Where(path, key) + ": expected a non-negative integer");
}

// A uint32 (uid, gid, mode).
Result<std::optional<uint32_t>> GetUint32(const json::object& obj, std::string_view key,
                                          std::string_view path) {
  ASSIGN_OR_RETURN(auto v, GetUint64(obj, key, path));
  if (v && *v > UINT32_MAX) return Error::Invalid(Where(path, key) + ": out of range");
  if (!v) return std::optional<uint32_t>();
  return std::optional<uint32_t>(static_cast<uint32_t>(*v));
}

Result<const json::object*> GetObject(const json::object& obj, std::string_view key,
                                      std::string_view path) {
  const json::value* v = Find(obj, key);
  if (v == nullptr) return static_cast<const json::object*>(nullptr);
  if (!v->is_object()) return Error::Invalid(Where(path, key) + ": expected an object");
  return &v->get_object();
}

Result<const json::array*> GetArray(const json::object& obj, std::string_view key,
                                    std::string_view path) {
  const json::value* v = Find(obj, key);
  if (v == nullptr) return static_cast<const json::array*>(nullptr);
  if (!v->is_array()) return Error::Invalid(Where(path, key) + ": expected an array");
  return &v->get_array();
}

Result<std::vector<std::string>> GetStrings(const json::object& obj, std::string_view key,
                                            std::string_view path) {
  ASSIGN_OR_RETURN(const json::array* array, GetArray(obj, key, path));
  std::vector<std::string> out;
  if (array == nullptr) return out;
  for (const json::value& v : *array) {
    if (!v.is_string()) return Error::Invalid(Where(path, key) + ": expected strings");
    out.emplace_back(v.get_string());
  }
  return out;
}

Result<std::map<std::string, std::string>> GetStringMap(const json::object& obj,
                                                        std::string_view key,
                                                        std::string_view path) {
  ASSIGN_OR_RETURN(const json::object* map, GetObject(obj, key, path));
  std::map<std::string, std::string> out;
  if (map == nullptr) return out;
  for (const auto& kv : *map) {
    if (!kv.value().is_string()) {
      return Error::Invalid(Where(path, key) + "." + std::string(kv.key()) + ": expected a string");
    }
    out.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
  }
  return out;
}

Result<json::object> ParseObject(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) return Error::Invalid("not valid JSON: " + ec.message());
  if (!root.is_object()) return Error::Invalid("not a JSON object");
  return std::move(root.get_object());
}

Result<uint64_t> CapabilityBits(const json::object& caps, std::string_view key,
                                std::vector<std::string>& warnings) {
  ASSIGN_OR_RETURN(auto names, GetStrings(caps, key, "process.capabilities"));
  uint64_t bits = 0;
  for (const std::string& name : names) {
    auto cap = CapabilityFromName(name);
    if (!cap) {
      // runc and crun skip capabilities they do not know, so a config
      // written for a newer kernel still runs.
      warnings.push_back("process.capabilities." + std::string(key) + ": unknown capability " +
                         name + " ignored");
      continue;
    }
    bits |= uint64_t{1} << *cap;
  }
  return bits;
}

Result<User> ParseUser(const json::object* obj) {
  User user;
  if (obj == nullptr) return user;
  const char* kPath = "process.user";
  ASSIGN_OR_RETURN(auto uid, GetUint32(*obj, "uid", kPath));
  ASSIGN_OR_RETURN(auto gid, GetUint32(*obj, "gid", kPath));
  ASSIGN_OR_RETURN(auto umask, GetUint32(*obj, "umask", kPath));
  user.uid = uid.value_or(0);
  user.gid = gid.value_or(0);
  if (umask) {
    if (*umask > 0777) return Error::Invalid("process.user.umask: out of range");
    user.umask = static_cast<mode_t>(*umask);
  }
  ASSIGN_OR_RETURN(const json::array* gids, GetArray(*obj, "additionalGids", kPath));
  if (gids != nullptr) {
    for (const json::value& v : *gids) {
      if (v.is_int64() && v.get_int64() >= 0 && v.get_int64() <= UINT32_MAX) {
        user.additional_gids.push_back(static_cast<gid_t>(v.get_int64()));
      } else if (v.is_uint64() && v.get_uint64() <= UINT32_MAX) {
        user.additional_gids.push_back(static_cast<gid_t>(v.get_uint64()));
      } else {
        return Error::Invalid("process.user.additionalGids: expected group ids");
      }
    }
  }
  return user;
}

Result<Process> ParseProcessObject(const json::object& obj, std::vector<std::string>& warnings) {
  Process p;
  const char* kPath = "process";
  ASSIGN_OR_RETURN(auto terminal, GetBool(obj, "terminal", kPath));
  p.terminal = terminal.value_or(false);
  ASSIGN_OR_RETURN(const json::object* size, GetObject(obj, "consoleSize", kPath));
  if (size != nullptr) {
    ASSIGN_OR_RETURN(auto h, GetUint32(*size, "height", "process.consoleSize"));
    ASSIGN_OR_RETURN(auto w, GetUint32(*size, "width", "process.consoleSize"));
    p.console_height = static_cast<unsigned short>(std::min<uint32_t>(h.value_or(0), 65535));
    p.console_width = static_cast<unsigned short>(std::min<uint32_t>(w.value_or(0), 65535));
  }
  ASSIGN_OR_RETURN(const json::object* user, GetObject(obj, "user", kPath));
  ASSIGN_OR_RETURN(p.user, ParseUser(user));
  ASSIGN_OR_RETURN(p.args, GetStrings(obj, "args", kPath));
  if (p.args.empty() || p.args[0].empty()) return Error::Invalid("process.args: must not be empty");
  ASSIGN_OR_RETURN(p.env, GetStrings(obj, "env", kPath));
  ASSIGN_OR_RETURN(auto cwd, GetString(obj, "cwd", kPath));
  p.cwd = cwd.value_or("/");
  if (p.cwd.empty() || p.cwd[0] != '/') {
    return Error::Invalid("process.cwd: must be an absolute path, not \"" + p.cwd + "\"");
  }

  ASSIGN_OR_RETURN(const json::object* caps, GetObject(obj, "capabilities", kPath));
  if (caps != nullptr) {
    CapabilitySet set;
    ASSIGN_OR_RETURN(set.bounding, CapabilityBits(*caps, "bounding", warnings));
    ASSIGN_OR_RETURN(set.effective, CapabilityBits(*caps, "effective", warnings));
    ASSIGN_OR_RETURN(set.inheritable, CapabilityBits(*caps, "inheritable", warnings));
    ASSIGN_OR_RETURN(set.permitted, CapabilityBits(*caps, "permitted", warnings));
    ASSIGN_OR_RETURN(set.ambient, CapabilityBits(*caps, "ambient", warnings));
    p.capabilities = set;
  }

  ASSIGN_OR_RETURN(const json::array* rlimits, GetArray(obj, "rlimits", kPath));
  if (rlimits != nullptr) {
    for (const json::value& v : *rlimits) {
      if (!v.is_object()) return Error::Invalid("process.rlimits: expected objects");
      const json::object& r = v.get_object();
      ASSIGN_OR_RETURN(auto type, GetString(r, "type", "process.rlimits"));
      ASSIGN_OR_RETURN(auto soft, GetUint64(r, "soft", "process.rlimits"));
      ASSIGN_OR_RETURN(auto hard, GetUint64(r, "hard", "process.rlimits"));
      auto resource = RlimitFromName(type.value_or(""));
      if (!resource) {
        return Error::Invalid("process.rlimits: unknown type \"" + type.value_or("") + "\"");
      }
      if (!soft || !hard) {
        return Error::Invalid("process.rlimits." + *type + ": soft and hard are required");
      }
      if (*soft > *hard) {
        return Error::Invalid("process.rlimits." + *type + ": soft is above hard");
      }
      p.rlimits.push_back({*resource, *soft, *hard});
    }
  }
  ASSIGN_OR_RETURN(auto nnp, GetBool(obj, "noNewPrivileges", kPath));
  p.no_new_privileges = nnp.value_or(false);
  ASSIGN_OR_RETURN(auto oom, GetInt64(obj, "oomScoreAdj", kPath));
  if (oom) {
    if (*oom < -1000 || *oom > 1000) return Error::Invalid("process.oomScoreAdj: out of range");
    p.oom_score_adj = static_cast<int>(*oom);
  }
  for (const char* key : {"apparmorProfile", "selinuxLabel"}) {
    if (Find(obj, key) != nullptr) warnings.push_back(Where(kPath, key) + " ignored");
  }
  return p;
}

Result<Mount> ParseMount(const json::value& v) {
  if (!v.is_object()) return Error::Invalid("mounts: expected objects");
  const json::object& obj = v.get_object();
  Mount m;
  ASSIGN_OR_RETURN(auto dest, GetString(obj, "destination", "mounts"));
  if (!dest || dest->empty()) return Error::Invalid("mounts: destination is required");
  m.destination = (*dest)[0] == '/' ? *dest : "/" + *dest;
  std::string where = "mounts[" + m.destination + "]";
  ASSIGN_OR_RETURN(auto type, GetString(obj, "type", where));
  ASSIGN_OR_RETURN(auto source, GetString(obj, "source", where));
  m.type = type.value_or("");
  m.source = source.value_or("");
  ASSIGN_OR_RETURN(m.options, GetStrings(obj, "options", where));
  auto parsed = ParseMountOptions(m.options);
  if (!parsed.ok()) return std::move(parsed).error().Context(where);
  m.parsed = std::move(*parsed);
  if (m.type == "bind") m.parsed.bind = true;
  if (m.parsed.bind && m.source.empty()) {
    return Error::Invalid(where + ": a bind mount needs a source");
  }
  if (!m.parsed.bind && m.type.empty()) return Error::Invalid(where + ": type is required");
  return m;
}

Result<Device> ParseDevice(const json::value& v) {
  if (!v.is_object()) return Error::Invalid("linux.devices: expected objects");
  const json::object& obj = v.get_object();
  Device d;
  ASSIGN_OR_RETURN(auto path, GetString(obj, "path", "linux.devices"));
  if (!path || path->empty() || (*path)[0] != '/') {
    return Error::Invalid("linux.devices: path must be absolute");
  }
  d.path = *path;
  std::string where = "linux.devices[" + d.path + "]";
  ASSIGN_OR_RETURN(auto type, GetString(obj, "type", where));
  if (!type || type->size() != 1 ||
      std::string_view("cbup").find((*type)[0]) == std::string::npos) {
    return Error::Invalid(where + ": type must be c, b, u or p");
  }
  d.type = (*type)[0];
  ASSIGN_OR_RETURN(auto major, GetInt64(obj, "major", where));
  ASSIGN_OR_RETURN(auto minor, GetInt64(obj, "minor", where));
  if (d.type != 'p' && (!major || !minor))
    return Error::Invalid(where + ": major and minor are required");
  d.major = major.value_or(0);
  d.minor = minor.value_or(0);
  ASSIGN_OR_RETURN(auto mode, GetUint32(obj, "fileMode", where));
  ASSIGN_OR_RETURN(auto uid, GetUint32(obj, "uid", where));
  ASSIGN_OR_RETURN(auto gid, GetUint32(obj, "gid", where));
  d.file_mode = mode.value_or(0666) & 07777;
  d.uid = uid.value_or(0);
  d.gid = gid.value_or(0);
  return d;
}

Result<Resources> ParseResources(const json::object* obj, std::vector<std::string>& warnings) {
  Resources r;
  if (obj == nullptr) return r;
  const char* kPath = "linux.resources";
  ASSIGN_OR_RETURN(const json::object* memory, GetObject(*obj, "memory", kPath));
  if (memory != nullptr) {
    const char* where = "linux.resources.memory";
    ASSIGN_OR_RETURN(r.memory_limit, GetInt64(*memory, "limit", where));
    ASSIGN_OR_RETURN(r.memory_swap, GetInt64(*memory, "swap", where));
    ASSIGN_OR_RETURN(r.memory_reservation, GetInt64(*memory, "reservation", where));
    if (r.memory_swap && r.memory_limit && *r.memory_swap != -1 && *r.memory_limit != -1 &&
        *r.memory_swap < *r.memory_limit) {
      return Error::Invalid("linux.resources.memory: swap (memory + swap) is below limit");
    }
  }
  ASSIGN_OR_RETURN(const json::object* pids, GetObject(*obj, "pids", kPath));
  if (pids != nullptr) {
    ASSIGN_OR_RETURN(r.pids_limit, GetInt64(*pids, "limit", "linux.resources.pids"));
  }
  ASSIGN_OR_RETURN(const json::object* cpu, GetObject(*obj, "cpu", kPath));
  if (cpu != nullptr) {
    const char* where = "linux.resources.cpu";
    ASSIGN_OR_RETURN(r.cpu_shares, GetUint64(*cpu, "shares", where));
    ASSIGN_OR_RETURN(r.cpu_quota, GetInt64(*cpu, "quota", where));
    ASSIGN_OR_RETURN(r.cpu_period, GetUint64(*cpu, "period", where));
    for (const char* key : {"cpus", "mems", "realtimeRuntime", "realtimePeriod", "idle"}) {
      if (Find(*cpu, key) != nullptr) warnings.push_back(Where(where, key) + " ignored");
    }
  }
  ASSIGN_OR_RETURN(const json::array* devices, GetArray(*obj, "devices", kPath));
  if (devices != nullptr) {
    for (const json::value& v : *devices) {
      if (!v.is_object()) return Error::Invalid("linux.resources.devices: expected objects");
      const json::object& d = v.get_object();
      const char* where = "linux.resources.devices";
      DeviceRule rule;
      ASSIGN_OR_RETURN(auto allow, GetBool(d, "allow", where));
      if (!allow) return Error::Invalid("linux.resources.devices: allow is required");
      rule.allow = *allow;
      ASSIGN_OR_RETURN(auto type, GetString(d, "type", where));
      if (type) {
        if (*type != "a" && *type != "c" && *type != "b") {
          return Error::Invalid("linux.resources.devices: type must be a, c or b");
        }
        rule.type = (*type)[0];
      }
      ASSIGN_OR_RETURN(auto major, GetInt64(d, "major", where));
      ASSIGN_OR_RETURN(auto minor, GetInt64(d, "minor", where));
      rule.major = major.value_or(-1);
      rule.minor = minor.value_or(-1);
      ASSIGN_OR_RETURN(auto access, GetString(d, "access", where));
      rule.access = access.value_or("rwm");
      if (rule.access.empty() || rule.access.find_first_not_of("rwm") != std::string::npos) {
        return Error::Invalid("linux.resources.devices: access must be letters of rwm");
      }
      r.devices.push_back(rule);
    }
  }
  for (const char* key : {"blockIO", "hugepageLimits", "network", "rdma", "unified"}) {
    if (Find(*obj, key) != nullptr) warnings.push_back(Where(kPath, key) + " ignored");
  }
  return r;
}

// Only sysctls that belong to a namespace the container has may be set:
// anything else would change the host.
Status CheckSysctl(const std::string& key, const std::vector<Namespace>& namespaces) {
  static constexpr std::array<std::string_view, 10> kIpc = {
      "kernel.msgmax",     "kernel.msgmnb",  "kernel.msgmni", "kernel.sem",
      "kernel.shmall",     "kernel.shmmax",  "kernel.shmmni", "kernel.shm_rmid_forced",
      "kernel.domainname", "kernel.hostname"};
  std::string_view k = key;
  if (k.starts_with("net.")) {
    if (HasNamespace(namespaces, NamespaceKind::kNetwork)) return Ok();
    return Error::Invalid("linux.sysctl: " + key + " needs a network namespace");
  }
  if (k.starts_with("fs.mqueue.")) {
    if (HasNamespace(namespaces, NamespaceKind::kIpc)) return Ok();
    return Error::Invalid("linux.sysctl: " + key + " needs an ipc namespace");
  }
  for (std::string_view name : kIpc) {
    if (k != name) continue;
    NamespaceKind needed = name.ends_with("name") ? NamespaceKind::kUts : NamespaceKind::kIpc;
    if (HasNamespace(namespaces, needed)) return Ok();
    return Error::Invalid("linux.sysctl: " + key + " needs a" +
                          (needed == NamespaceKind::kUts ? " uts" : "n ipc") + " namespace");
  }
  return Error::Invalid("linux.sysctl: " + key + " is not namespaced and cannot be set");
}

Result<Linux> ParseLinux(const json::object* obj, std::vector<std::string>& warnings) {
  Linux l;
  if (obj == nullptr) return l;
  const char* kPath = "linux";
  ASSIGN_OR_RETURN(const json::array* namespaces, GetArray(*obj, "namespaces", kPath));
  if (namespaces != nullptr) {
    for (const json::value& v : *namespaces) {
      if (!v.is_object()) return Error::Invalid("linux.namespaces: expected objects");
      ASSIGN_OR_RETURN(auto type, GetString(v.get_object(), "type", "linux.namespaces"));
      ASSIGN_OR_RETURN(auto path, GetString(v.get_object(), "path", "linux.namespaces"));
      std::string name = type.value_or("");
      if (name == "user" || name == "time") {
        return Error::Invalid("linux.namespaces: " + name + " namespaces are not supported");
      }
      auto kind = NamespaceKindFromName(name);
      if (!kind) return Error::Invalid("linux.namespaces: unknown type \"" + name + "\"");
      if (HasNamespace(l.namespaces, *kind)) {
        return Error::Invalid("linux.namespaces: " + name + " is listed twice");
      }
      l.namespaces.push_back({*kind, path.value_or("")});
    }
  }
  ASSIGN_OR_RETURN(const json::object* resources, GetObject(*obj, "resources", kPath));
  ASSIGN_OR_RETURN(l.resources, ParseResources(resources, warnings));
  ASSIGN_OR_RETURN(auto cgroups_path, GetString(*obj, "cgroupsPath", kPath));
  l.cgroups_path = cgroups_path.value_or("");
  ASSIGN_OR_RETURN(l.masked_paths, GetStrings(*obj, "maskedPaths", kPath));
  ASSIGN_OR_RETURN(l.readonly_paths, GetStrings(*obj, "readonlyPaths", kPath));
  ASSIGN_OR_RETURN(const json::array* devices, GetArray(*obj, "devices", kPath));
  if (devices != nullptr) {
    for (const json::value& v : *devices) {
      ASSIGN_OR_RETURN(Device d, ParseDevice(v));
      l.devices.push_back(std::move(d));
    }
  }
  ASSIGN_OR_RETURN(l.sysctl, GetStringMap(*obj, "sysctl", kPath));
  for (const auto& [key, value] : l.sysctl) RETURN_IF_ERROR(CheckSysctl(key, l.namespaces));
  ASSIGN_OR_RETURN(auto propagation, GetString(*obj, "rootfsPropagation", kPath));
  if (propagation && !propagation->empty()) {
    ASSIGN_OR_RETURN(l.rootfs_propagation, ParsePropagation(*propagation));
  }
  ASSIGN_OR_RETURN(const json::object* seccomp, GetObject(*obj, "seccomp", kPath));
  if (seccomp != nullptr) {
    ASSIGN_OR_RETURN(l.seccomp, ParseSeccomp(*seccomp));
  }
  for (const char* key : {"mountLabel", "intelRdt", "personality"}) {
    if (Find(*obj, key) != nullptr) warnings.push_back(Where(kPath, key) + " ignored");
  }
  return l;
}

}  // namespace

std::optional<int> RlimitFromName(std::string_view name) {
  struct Entry {
    std::string_view name;
    int resource;
  };
  static constexpr Entry kRlimits[] = {
      {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  };
  for (const auto& e : kRlimits) {
    if (e.name == name) return e.resource;
  }
  return std::nullopt;
}

Result<Spec> ParseSpec(std::string_view text) {
  ASSIGN_OR_RETURN(json::object root, ParseObject(text));
  Spec spec;
  ASSIGN_OR_RETURN(auto version, GetString(root, "ociVersion", ""));
  if (!version) return Error::Invalid("ociVersion is required");
  spec.oci_version = *version;
  if (!spec.oci_version.starts_with("1.")) {
    return Error::Invalid("ociVersion " + spec.oci_version + " is not supported (1.x is)");
  }

  ASSIGN_OR_RETURN(const json::object* process, GetObject(root, "process", ""));
  if (process == nullptr) return Error::Invalid("process is required");
  ASSIGN_OR_RETURN(spec.process, ParseProcessObject(*process, spec.warnings));

  ASSIGN_OR_RETURN(const json::object* root_obj, GetObject(root, "root", ""));
  if (root_obj == nullptr) return Error::Invalid("root is required");
  ASSIGN_OR_RETURN(auto root_path, GetString(*root_obj, "path", "root"));
  if (!root_path || root_path->empty()) return Error::Invalid("root.path is required");
  spec.root_path = *root_path;
  ASSIGN_OR_RETURN(auto readonly, GetBool(*root_obj, "readonly", "root"));
  spec.root_readonly = readonly.value_or(false);

  ASSIGN_OR_RETURN(auto hostname, GetString(root, "hostname", ""));
  ASSIGN_OR_RETURN(auto domainname, GetString(root, "domainname", ""));
  spec.hostname = hostname.value_or("");
  spec.domainname = domainname.value_or("");

  ASSIGN_OR_RETURN(const json::array* mounts, GetArray(root, "mounts", ""));
  if (mounts != nullptr) {
    for (const json::value& v : *mounts) {
      ASSIGN_OR_RETURN(Mount m, ParseMount(v));
      spec.mounts.push_back(std::move(m));
    }
  }
  ASSIGN_OR_RETURN(const json::object* linux, GetObject(root, "linux", ""));
  ASSIGN_OR_RETURN(spec.linux, ParseLinux(linux, spec.warnings));
  ASSIGN_OR_RETURN(spec.annotations, GetStringMap(root, "annotations", ""));
  if (Find(root, "hooks") != nullptr) spec.warnings.push_back("hooks ignored");

  if ((!spec.hostname.empty() || !spec.domainname.empty()) &&
      !HasNamespace(spec.linux.namespaces, NamespaceKind::kUts)) {
    return Error::Invalid("hostname: setting it needs a uts namespace");
  }
  if (!HasNamespace(spec.linux.namespaces, NamespaceKind::kMount)) {
    // Every container sets up its own root; without a mount namespace that
    // would change the host's.
    return Error::Invalid("linux.namespaces: a mount namespace is required");
  }
  return spec;
}

Result<Spec> LoadSpec(const std::string& bundle_dir) {
  std::string path = JoinPath(bundle_dir, "config.json");
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto spec = ParseSpec(text);
  if (!spec.ok()) return std::move(spec).error().Context(path);
  return spec;
}

Result<Process> ParseProcess(std::string_view text) {
  ASSIGN_OR_RETURN(json::object obj, ParseObject(text));
  std::vector<std::string> warnings;
  return ParseProcessObject(obj, warnings);
}

}  // namespace strata::runtime::oci
