#include "runtime/container_record.h"

#include <sys/random.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <boost/json.hpp>

#include "common/fs.h"
#include "runtime/json_fields.h"
#include "runtime/log_time.h"

namespace strata::runtime {
namespace json = boost::json;
using namespace jsonf;

namespace {

bool NameChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

Status CheckDestination(std::string_view dst, std::string_view spec) {
  if (dst.empty() || dst.front() != '/') {
    return Error::Invalid("invalid volume \"" + std::string(spec) +
                          "\": the destination must be an absolute path");
  }
  std::filesystem::path p{std::string(dst)};
  // Resolved inside the root anyway, but a ".." says the user meant
  // something else than what would be mounted.
  for (const auto& part : p) {
    if (part == "..") {
      return Error::Invalid("invalid volume \"" + std::string(spec) +
                            "\": the destination must not contain \"..\"");
    }
  }
  if (p.lexically_normal() == "/") {
    return Error::Invalid("invalid volume \"" + std::string(spec) + "\": cannot mount over /");
  }
  return Ok();
}

// The kernel reads paths and mount data up to the first NUL: a spec with
// one would mount something else than what was checked (API bodies are
// JSON, which can carry "\u0000").
Status CheckNoNul(std::string_view spec) {
  if (spec.find('\0') != std::string_view::npos) {
    return Error::Invalid("invalid volume \"" + std::string(spec.substr(0, spec.find('\0'))) +
                          "...\": contains a NUL byte");
  }
  return Ok();
}

std::string NormalizePath(std::string_view path) {
  std::string out = std::filesystem::path(std::string(path)).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

std::string_view MountTypeName(Mount::Type type) {
  switch (type) {
    case Mount::Type::kBind:
      return "bind";
    case Mount::Type::kVolume:
      return "volume";
    case Mount::Type::kTmpfs:
      return "tmpfs";
  }
  return "bind";
}

Status ValidateVolumeName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 128;
  for (size_t i = 0; ok && i < name.size(); ++i) ok = NameChar(name[i], i == 0);
  if (!ok) {
    return Error::Invalid("invalid volume name \"" + std::string(name) +
                          "\": use letters, digits, '_', '.' and '-', starting with a letter "
                          "or digit");
  }
  return Ok();
}

Result<Mount> ParseVolumeSpec(std::string_view spec) {
  RETURN_IF_ERROR(CheckNoNul(spec));
  // SRC:DST[:MODE]; neither part may contain ':' (as Docker on Linux).
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t colon = spec.find(':', start);
    parts.push_back(spec.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty()) {
    return Error::Invalid("invalid volume \"" + std::string(spec) +
                          "\" (SRC:DST[:ro], SRC a host path or a volume name)");
  }
  Mount m;
  RETURN_IF_ERROR(CheckDestination(parts[1], spec));
  m.destination = NormalizePath(parts[1]);
  if (parts.size() == 3) {
    if (parts[2] == "ro") {
      m.read_only = true;
    } else if (parts[2] != "rw") {
      return Error::Invalid("invalid volume \"" + std::string(spec) + "\": unknown mode \"" +
                            std::string(parts[2]) + "\" (ro or rw)");
    }
  }
  if (parts[0].front() == '/') {
    m.type = Mount::Type::kBind;
    m.source = NormalizePath(parts[0]);
  } else {
    m.type = Mount::Type::kVolume;
    RETURN_IF_ERROR(ValidateVolumeName(parts[0]));
    m.source = std::string(parts[0]);
  }
  return m;
}

Result<Mount> ParseTmpfsSpec(std::string_view spec) {
  RETURN_IF_ERROR(CheckNoNul(spec));
  Mount m;
  m.type = Mount::Type::kTmpfs;
  size_t colon = spec.find(':');
  std::string_view dst = spec.substr(0, colon);
  RETURN_IF_ERROR(CheckDestination(dst, spec));
  m.destination = NormalizePath(dst);
  if (colon != std::string_view::npos) m.tmpfs_options = std::string(spec.substr(colon + 1));
  return m;
}

std::string_view NetworkModeName(NetworkMode mode) {
  return mode == NetworkMode::kHost ? "host" : "none";
}

Result<NetworkMode> ParseNetworkMode(std::string_view text) {
  if (text.empty() || text == "none") return NetworkMode::kNone;
  if (text == "host") return NetworkMode::kHost;
  return Error::Invalid("unsupported network \"" + std::string(text) + "\" (none or host)");
}

std::vector<std::string> ContainerConfig::Args() const {
  std::vector<std::string> args = entrypoint;
  args.insert(args.end(), cmd.begin(), cmd.end());
  return args;
}

std::string_view StatusName(ContainerStatus status) {
  switch (status) {
    case ContainerStatus::kCreated:
      return "created";
    case ContainerStatus::kRunning:
      return "running";
    case ContainerStatus::kPaused:
      return "paused";
    case ContainerStatus::kRestarting:
      return "restarting";
    case ContainerStatus::kExited:
      return "exited";
    case ContainerStatus::kDead:
      return "dead";
  }
  return "dead";
}

Result<ContainerStatus> ParseStatus(std::string_view text) {
  for (auto s : {ContainerStatus::kCreated, ContainerStatus::kRunning, ContainerStatus::kPaused,
                 ContainerStatus::kRestarting, ContainerStatus::kExited, ContainerStatus::kDead}) {
    if (StatusName(s) == text) return s;
  }
  return Error::Invalid("unknown container status \"" + std::string(text) + "\"");
}

json::object ConfigToJson(const ContainerConfig& c) {
  json::array mounts;
  for (const Mount& m : c.mounts) {
    json::object o{{"type", MountTypeName(m.type)},
                   {"source", m.source},
                   {"destination", m.destination},
                   {"read_only", m.read_only}};
    if (!m.tmpfs_options.empty()) o["options"] = m.tmpfs_options;
    mounts.push_back(std::move(o));
  }
  return json::object{
      {"id", c.id},
      {"name", c.name},
      {"created", c.created},
      {"image", c.image},
      {"image_ref", c.image_ref},
      {"chain", c.chain},
      {"entrypoint", ToArray(c.entrypoint)},
      {"cmd", ToArray(c.cmd)},
      {"env", ToArray(c.env)},
      {"workdir", c.workdir},
      {"user", c.user},
      {"hostname", c.hostname},
      {"labels", ToObject(c.labels)},
      {"restart", c.restart.str()},
      {"mounts", std::move(mounts)},
      {"memory", c.memory},
      {"pids_limit", c.pids_limit},
      {"cpus", c.cpus},
      {"log_max_size", c.log_max_size},
      {"log_max_files", c.log_max_files},
      {"tty", c.tty},
      {"interactive", c.interactive},
      {"auto_remove", c.auto_remove},
      {"network", NetworkModeName(c.network)},
      {"stop_signal", c.stop_signal},
      {"stop_timeout", c.stop_timeout},
      {"privileged", c.privileged},
      {"seccomp", c.seccomp},
  };
}

Result<ContainerConfig> ConfigFromJson(const json::object& o) {
  ContainerConfig c;
  c.id = Str(o, "id");
  if (c.id.size() != 64) return Error::Corrupt("config.json: bad container id \"" + c.id + "\"");
  c.name = Str(o, "name");
  c.created = Str(o, "created");
  c.image = Str(o, "image");
  c.image_ref = Str(o, "image_ref");
  c.chain = Str(o, "chain");
  c.entrypoint = Strs(o, "entrypoint");
  c.cmd = Strs(o, "cmd");
  c.env = Strs(o, "env");
  c.workdir = Str(o, "workdir");
  c.user = Str(o, "user");
  c.hostname = Str(o, "hostname");
  c.labels = StrMap(o, "labels");
  auto restart = RestartPolicy::Parse(Str(o, "restart"));
  if (!restart.ok()) return std::move(restart).error().Context("config.json");
  c.restart = *restart;
  if (const json::value* v = o.if_contains("mounts"); v != nullptr && v->is_array()) {
    for (const json::value& item : v->get_array()) {
      if (!item.is_object()) continue;
      const json::object& mo = item.get_object();
      Mount m;
      std::string type = Str(mo, "type");
      if (type == "volume") {
        m.type = Mount::Type::kVolume;
      } else if (type == "tmpfs") {
        m.type = Mount::Type::kTmpfs;
      } else if (type == "bind") {
        m.type = Mount::Type::kBind;
      } else {
        return Error::Corrupt("config.json: unknown mount type \"" + type + "\"");
      }
      m.source = Str(mo, "source");
      m.destination = Str(mo, "destination");
      m.read_only = Bool(mo, "read_only");
      m.tmpfs_options = Str(mo, "options");
      c.mounts.push_back(std::move(m));
    }
  }
  c.memory = Int(o, "memory");
  c.pids_limit = Int(o, "pids_limit");
  c.cpus = Double(o, "cpus");
  c.log_max_size = Int(o, "log_max_size");
  c.log_max_files = std::max<int64_t>(1, Int(o, "log_max_files"));  // absent in older records
  c.tty = Bool(o, "tty");
  c.interactive = Bool(o, "interactive");
  c.auto_remove = Bool(o, "auto_remove");
  auto network = ParseNetworkMode(Str(o, "network"));
  if (!network.ok()) return std::move(network).error().Context("config.json");
  c.network = *network;
  c.stop_signal = Str(o, "stop_signal");
  c.stop_timeout = static_cast<int>(Int(o, "stop_timeout", 10));
  c.privileged = Bool(o, "privileged");
  c.seccomp = Str(o, "seccomp");
  return c;
}

json::object StateToJson(const ContainerState& s) {
  return json::object{
      {"status", StatusName(s.status)},
      {"pid", s.pid},
      {"exit_code", s.exit_code},
      {"oom_killed", s.oom_killed},
      {"started_at", s.started_at},
      {"finished_at", s.finished_at},
      {"restart_count", s.restart_count},
      {"manually_stopped", s.manually_stopped},
      {"error", s.error},
  };
}

ContainerState StateFromJson(const json::object& o) {
  ContainerState s;
  auto status = ParseStatus(Str(o, "status"));
  s.status = status.ok() ? *status : ContainerStatus::kCreated;
  s.pid = static_cast<int>(Int(o, "pid"));
  s.exit_code = static_cast<int>(Int(o, "exit_code"));
  s.oom_killed = Bool(o, "oom_killed");
  s.started_at = Str(o, "started_at");
  s.finished_at = Str(o, "finished_at");
  s.restart_count = static_cast<int>(Int(o, "restart_count"));
  s.manually_stopped = Bool(o, "manually_stopped");
  s.error = Str(o, "error");
  return s;
}

Status SaveConfig(const std::string& dir, const ContainerConfig& config, bool durable) {
  std::string path = JoinPath(dir, "config.json");
  std::string text = json::serialize(ConfigToJson(config));
  return durable ? WriteFileAtomic(path, text, 0600) : ReplaceFile(path, text, 0600);
}

Status SaveState(const std::string& dir, const ContainerState& state, bool durable) {
  std::string path = JoinPath(dir, "state.json");
  std::string text = json::serialize(StateToJson(state));
  return durable ? WriteFileAtomic(path, text, 0600) : ReplaceFile(path, text, 0600);
}

Result<ContainerRecord> LoadRecord(const std::string& dir) {
  ASSIGN_OR_RETURN(std::string config_text, ReadFile(JoinPath(dir, "config.json")));
  ASSIGN_OR_RETURN(json::object config_json, ParseObject(config_text, dir + "/config.json"));
  ContainerRecord record;
  ASSIGN_OR_RETURN(record.config, ConfigFromJson(config_json));
  auto state_text = ReadFile(JoinPath(dir, "state.json"));
  if (state_text.ok()) {
    auto state_json = ParseObject(*state_text, dir + "/state.json");
    if (state_json.ok()) record.state = StateFromJson(*state_json);
  }
  return record;
}

std::string NewContainerId() {
  unsigned char raw[32];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = ::getrandom(raw + got, sizeof raw - got, 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got < sizeof raw) {
    // getrandom cannot fail after boot; fall back to the clock all the same.
    auto t = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    for (size_t i = got; i < sizeof raw; ++i) raw[i] = static_cast<unsigned char>(t >> (i % 8 * 8));
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : raw) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

Result<std::string> ValidateContainerName(std::string_view name) {
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  bool ok = name.size() >= 2 && name.size() <= 128;
  for (size_t i = 0; ok && i < name.size(); ++i) ok = NameChar(name[i], i == 0);
  if (!ok) {
    return Error::Invalid("invalid container name \"" + std::string(name) +
                          "\": only [a-zA-Z0-9][a-zA-Z0-9_.-]+ are allowed");
  }
  return std::string(name);
}

std::string GenerateName(uint64_t seed) {
  static constexpr const char* kAdjectives[] = {
      "amazing", "bold",    "brave",   "calm",   "clever", "cool",    "eager",    "elegant",
      "fervent", "festive", "gallant", "gentle", "happy",  "hopeful", "jolly",    "keen",
      "kind",    "lucid",   "modest",  "nifty",  "noble",  "patient", "quirky",   "relaxed",
      "serene",  "sharp",   "stoic",   "sweet",  "tender", "vibrant", "wizardly", "zealous"};
  static constexpr const char* kNouns[] = {
      "babbage", "bell",    "curie",   "darwin",   "dijkstra", "einstein", "euler",
      "fermat",  "feynman", "galileo", "gauss",    "hopper",   "hypatia",  "kepler",
      "knuth",   "lamport", "liskov",  "lovelace", "mccarthy", "newton",   "noether",
      "pascal",  "ritchie", "shannon", "thompson", "torvalds", "turing",   "wozniak"};
  constexpr uint64_t kA = sizeof kAdjectives / sizeof kAdjectives[0];
  constexpr uint64_t kN = sizeof kNouns / sizeof kNouns[0];
  return std::string(kAdjectives[seed % kA]) + "_" + kNouns[(seed / kA) % kN];
}

std::string NowRfc3339Nano() { return FormatLogTime(std::chrono::system_clock::now()); }

}  // namespace strata::runtime
