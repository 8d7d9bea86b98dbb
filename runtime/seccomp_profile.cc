#include "runtime/seccomp_profile.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>

#include <boost/json.hpp>

#include "runtime/oci/seccomp.h"

namespace strata::runtime {
namespace json = boost::json;

namespace {

constexpr std::string_view kWhat = "seccomp profile";

Error Bad(const std::string& where, const std::string& why) {
  return Error::Invalid(std::string(kWhat) + ": " + where + why);
}

// Docker names architectures as Go does (runtime.GOARCH).
std::string GoArch(std::string_view scmp) {
  struct Entry {
    std::string_view scmp, go;
  };
  static constexpr Entry kArches[] = {
      {"SCMP_ARCH_X86_64", "amd64"},  {"SCMP_ARCH_X86", "386"},
      {"SCMP_ARCH_X32", "x32"},       {"SCMP_ARCH_AARCH64", "arm64"},
      {"SCMP_ARCH_ARM", "arm"},       {"SCMP_ARCH_PPC64LE", "ppc64le"},
      {"SCMP_ARCH_PPC64", "ppc64"},   {"SCMP_ARCH_S390X", "s390x"},
      {"SCMP_ARCH_S390", "s390"},     {"SCMP_ARCH_RISCV64", "riscv64"},
      {"SCMP_ARCH_MIPS64", "mips64"}, {"SCMP_ARCH_MIPSEL64", "mips64le"},
      {"SCMP_ARCH_MIPS", "mips"},     {"SCMP_ARCH_MIPSEL", "mipsle"},
  };
  for (const auto& e : kArches) {
    if (e.scmp == scmp) return std::string(e.go);
  }
  return std::string(scmp);
}

// (major, minor) of the running kernel.
std::pair<int, int> KernelVersion() {
  struct utsname u {};
  int major = 0, minor = 0;
  if (::uname(&u) == 0) std::sscanf(u.release, "%d.%d", &major, &minor);
  return {major, minor};
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Result<std::vector<std::string>> Strings(const json::object& obj, std::string_view key,
                                         const std::string& where) {
  std::vector<std::string> out;
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return Bad(where + std::string(key), ": expected an array of strings");
  for (const json::value& s : v->get_array()) {
    if (!s.is_string()) return Bad(where + std::string(key), ": expected an array of strings");
    out.emplace_back(s.get_string());
  }
  return out;
}

Status CheckAction(const json::object& obj, std::string_view key, const std::string& where) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_string())
    return Bad(where + std::string(key), ": a string is required");
  auto kind = oci::SeccompActionFromName(v->get_string());
  if (!kind.ok()) return Bad(where + std::string(key) + ": ", kind.error().message());
  return Ok();
}

// Whether the rule applies to this container (includes/excludes).
Result<bool> Applies(const json::object& rule, const std::string& where,
                     const std::vector<std::string>& caps, const std::string& arch) {
  for (std::string_view key : {"includes", "excludes"}) {
    const json::value* v = rule.if_contains(key);
    if (v == nullptr || v->is_null()) continue;
    std::string at = where + std::string(key) + ".";
    if (!v->is_object()) return Bad(where + std::string(key), ": expected an object");
    const json::object& filter = v->get_object();
    ASSIGN_OR_RETURN(auto rule_caps, Strings(filter, "caps", at));
    ASSIGN_OR_RETURN(auto rule_arches, Strings(filter, "arches", at));
    bool include = key == "includes";
    if (include) {
      for (const auto& c : rule_caps) {
        if (!Contains(caps, c)) return false;
      }
      if (!rule_arches.empty() && !Contains(rule_arches, arch)) return false;
      const json::value* min_kernel = filter.if_contains("minKernel");
      if (min_kernel != nullptr && !min_kernel->is_null()) {
        int major = 0, minor = 0;
        if (!min_kernel->is_string() || std::sscanf(std::string(min_kernel->get_string()).c_str(),
                                                    "%d.%d", &major, &minor) != 2) {
          return Bad(at + "minKernel", ": expected \"MAJOR.MINOR\"");
        }
        if (KernelVersion() < std::make_pair(major, minor)) return false;
      }
    } else {
      for (const auto& c : rule_caps) {
        if (Contains(caps, c)) return false;
      }
      if (Contains(rule_arches, arch)) return false;
    }
  }
  return true;
}

}  // namespace

Result<json::object> TranslateSeccompProfile(std::string_view text,
                                             const std::vector<std::string>& caps) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Error::Invalid(std::string(kWhat) + ": not valid JSON: " + ec.message());
  if (!v.is_object()) return Error::Invalid(std::string(kWhat) + ": not a JSON object");
  return TranslateSeccompProfile(v.get_object(), caps);
}

Result<json::object> TranslateSeccompProfile(const json::object& p,
                                             const std::vector<std::string>& caps) {
  std::string native = oci::SeccompNativeArchitecture();
  std::string arch = GoArch(native);
  json::object out;

  RETURN_IF_ERROR(CheckAction(p, "defaultAction", ""));
  out["defaultAction"] = p.at("defaultAction");
  if (const json::value* ret = p.if_contains("defaultErrnoRet"); ret && !ret->is_null()) {
    out["defaultErrnoRet"] = *ret;
  }

  // The filter's architectures: as listed, or those archMap gives the host's.
  ASSIGN_OR_RETURN(auto arches, Strings(p, "architectures", ""));
  const json::value* arch_map = p.if_contains("archMap");
  if (arch_map != nullptr && !arch_map->is_null()) {
    if (!arches.empty()) return Bad("", "both architectures and archMap are given: use one");
    if (!arch_map->is_array()) return Bad("archMap", ": expected an array");
    size_t i = 0;
    for (const json::value& entry : arch_map->get_array()) {
      std::string at = "archMap[" + std::to_string(i++) + "].";
      if (!entry.is_object()) return Bad(at, ": expected an object");
      const json::value* main = entry.get_object().if_contains("architecture");
      if (main == nullptr || !main->is_string()) return Bad(at + "architecture", ": required");
      ASSIGN_OR_RETURN(auto subs, Strings(entry.get_object(), "subArchitectures", at));
      if (main->get_string() != native) continue;
      arches.push_back(native);
      arches.insert(arches.end(), subs.begin(), subs.end());
    }
  }
  json::array arch_out;
  for (const auto& a : arches) {
    if (!oci::SeccompKnowsArchitecture(a)) return Bad("architectures", ": unknown " + a);
    arch_out.emplace_back(a);
  }
  out["architectures"] = std::move(arch_out);
  ASSIGN_OR_RETURN(auto flags, Strings(p, "flags", ""));
  if (!flags.empty()) {
    json::array flags_out;
    for (const auto& f : flags) flags_out.emplace_back(f);
    out["flags"] = std::move(flags_out);
  }

  json::array syscalls;
  const json::value* rules = p.if_contains("syscalls");
  if (rules != nullptr && !rules->is_null()) {
    if (!rules->is_array()) return Bad("syscalls", ": expected an array");
    size_t i = 0;
    for (const json::value& r : rules->get_array()) {
      std::string at = "syscalls[" + std::to_string(i++) + "].";
      if (!r.is_object()) return Bad(at, ": expected an object");
      const json::object& rule = r.get_object();
      ASSIGN_OR_RETURN(auto names, Strings(rule, "names", at));
      if (const json::value* name = rule.if_contains("name"); name && !name->is_null()) {
        if (!names.empty()) return Bad(at, ": both name and names are given: use names");
        if (!name->is_string()) return Bad(at + "name", ": expected a string");
        names.emplace_back(name->get_string());
      }
      if (names.empty()) return Bad(at + "names", ": at least one system call is required");
      RETURN_IF_ERROR(CheckAction(rule, "action", at));
      json::object o{{"action", rule.at("action")}};
      json::array names_out;
      for (const auto& n : names) names_out.emplace_back(n);
      o["names"] = std::move(names_out);
      if (const json::value* ret = rule.if_contains("errnoRet"); ret && !ret->is_null()) {
        o["errnoRet"] = *ret;
      }
      if (const json::value* args = rule.if_contains("args"); args && !args->is_null()) {
        if (!args->is_array()) return Bad(at + "args", ": expected an array");
        for (const json::value& a : args->get_array()) {
          const json::value* op = a.is_object() ? a.get_object().if_contains("op") : nullptr;
          if (op == nullptr || !op->is_string()) return Bad(at + "args", ": each needs an op");
          auto parsed = oci::SeccompOpFromName(op->get_string());
          if (!parsed.ok()) return Bad(at + "args: ", parsed.error().message());
        }
        o["args"] = *args;
      }
      ASSIGN_OR_RETURN(bool applies, Applies(rule, at, caps, arch));
      if (applies) syscalls.push_back(std::move(o));
    }
  }
  out["syscalls"] = std::move(syscalls);

  // The runtime's own check (values, indexes, flags), so that a profile the
  // runtime would refuse fails at create, not at start.
  auto checked = oci::ParseSeccomp(out);
  if (!checked.ok()) return Error::Invalid(std::string(kWhat) + ": " + checked.error().message());
  return out;
}

}  // namespace strata::runtime
