#include "runtime/security_options.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>

#include <boost/json.hpp>

#include "common/fs.h"
#include "runtime/oci/capabilities.h"
#include "runtime/seccomp_profile.h"

namespace strata::runtime {
namespace json = boost::json;

namespace {

// Every capability stratad may hand on (its own bounding set: a host that
// runs it without one, as some sandboxes do, would make capset fail).
json::array AllCapabilities() {
  json::array out;
  for (int cap = 0; cap <= oci::LastCapability(); ++cap) {
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) out.emplace_back(oci::CapabilityName(cap));
  }
  return out;
}

std::vector<std::string> StringsOf(const json::value* v) {
  std::vector<std::string> out;
  if (v == nullptr || !v->is_array()) return out;
  for (const json::value& s : v->get_array()) {
    if (s.is_string()) out.emplace_back(s.get_string());
  }
  return out;
}

// The host's device nodes, as Docker gives a privileged container: those
// under /dev but the runtime's own (pts, shm, mqueue, the console and the
// nodes every container gets anyway).
json::array HostDevices() {
  namespace fs = std::filesystem;
  static const std::vector<std::string> kSkipped = {
      "/dev/pts",     "/dev/shm",    "/dev/mqueue",  "/dev/fd",   "/dev/.udev",
      "/dev/console", "/dev/ptmx",   "/dev/tty",     "/dev/null", "/dev/zero",
      "/dev/full",    "/dev/random", "/dev/urandom", "/dev/core"};
  json::array out;
  std::error_code ec;
  fs::recursive_directory_iterator it("/dev", fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string path = it->path().string();
    if (std::find(kSkipped.begin(), kSkipped.end(), path) != kSkipped.end()) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) continue;
    out.push_back(json::object{{"path", path},
                               {"type", S_ISBLK(st.st_mode) ? "b" : "c"},
                               {"major", major(st.st_rdev)},
                               {"minor", minor(st.st_rdev)},
                               {"fileMode", st.st_mode & 07777},
                               {"uid", st.st_uid},
                               {"gid", st.st_gid}});
  }
  return out;
}

void MakePrivileged(json::object& spec) {
  json::object& process = spec["process"].as_object();
  json::object& caps = process["capabilities"].as_object();
  bool root = !caps["effective"].as_array().empty();
  caps["bounding"] = AllCapabilities();
  if (root) {
    caps["effective"] = AllCapabilities();
    caps["permitted"] = AllCapabilities();
  }
  for (json::value& m : spec["mounts"].as_array()) {
    json::object& mount = m.as_object();
    std::string type(mount["type"].as_string());
    if (type != "sysfs" && type != "cgroup") continue;
    json::array& options = mount["options"].as_array();
    options.erase(std::remove(options.begin(), options.end(), json::value("ro")), options.end());
  }
  json::object& linux = spec["linux"].as_object();
  linux["maskedPaths"] = json::array();
  linux["readonlyPaths"] = json::array();
  linux["devices"] = HostDevices();
  linux["resources"].as_object()["devices"] =
      json::array{json::object{{"allow", true}, {"access", "rwm"}}};
}

}  // namespace

Result<std::vector<std::string>> ReadSecurityOptFiles(const std::vector<std::string>& opts) {
  std::vector<std::string> out;
  for (const std::string& opt : opts) {
    size_t sep = opt.find_first_of("=:");
    std::string value = sep == std::string::npos ? "" : opt.substr(sep + 1);
    if (opt.substr(0, sep) != "seccomp" || value.empty() || value == "unconfined" ||
        value.front() == '{') {
      out.push_back(opt);
      continue;
    }
    auto text = ReadFile(value);
    if (!text.ok()) {
      return Error(text.error().code(),
                   "seccomp profile " + value + ": " + std::strerror(text.error().code()));
    }
    out.push_back("seccomp=" + *text);
  }
  return out;
}

Status ApplySecurityOptions(bool privileged, const std::vector<std::string>& security_opt,
                            ContainerConfig& config) {
  config.privileged = privileged;
  for (const std::string& opt : security_opt) {
    size_t sep = opt.find_first_of("=:");
    std::string key = opt.substr(0, sep);
    std::string value = sep == std::string::npos ? "" : opt.substr(sep + 1);
    if (key == "seccomp") {
      if (value.empty()) return Error::Invalid("--security-opt seccomp: a profile or unconfined");
      if (value != "unconfined") {
        // Checked for a default container's capabilities; a start
        // translates it again for the container's own.
        auto translated = TranslateSeccompProfile(value, {});
        if (!translated.ok()) return std::move(translated).error();
      }
      config.seccomp = value;
    } else if (key == "no-new-privileges") {
      if (!value.empty() && value != "true") {
        return Error::Invalid("--security-opt no-new-privileges=" + value +
                              ": strata always sets no_new_privs");
      }
    } else {
      return Error::Invalid("--security-opt " + opt +
                            ": unknown option (seccomp=unconfined|PROFILE, no-new-privileges)");
    }
  }
  return Ok();
}

Status ApplySecurity(const ContainerConfig& config, json::object& spec) {
  if (config.privileged) {
    MakePrivileged(spec);
    return Ok();
  }
  if (config.seccomp == "unconfined") return Ok();
  std::vector<std::string> bounding =
      StringsOf(spec["process"].as_object()["capabilities"].as_object().if_contains("bounding"));
  auto seccomp = config.seccomp.empty() ? TranslateSeccompProfile(DefaultSeccompProfile(), bounding)
                                        : TranslateSeccompProfile(config.seccomp, bounding);
  if (!seccomp.ok()) return std::move(seccomp).error();
  spec["linux"].as_object()["seccomp"] = std::move(*seccomp);
  return Ok();
}

}  // namespace strata::runtime
