#include "runtime/oci/mount_options.h"

#include <sys/mount.h>

#include <string_view>

namespace strata::runtime::oci {
namespace {

struct FlagOption {
  std::string_view name;
  bool clear;  // the option turns the flag off
  unsigned long flag;
};

// The table runc and crun use.
constexpr FlagOption kFlagOptions[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
};

struct PropagationOption {
  std::string_view name;
  unsigned long flags;
};

constexpr PropagationOption kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_REC | MS_PRIVATE},
    {"shared", MS_SHARED},         {"rshared", MS_REC | MS_SHARED},
    {"slave", MS_SLAVE},           {"rslave", MS_REC | MS_SLAVE},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_REC | MS_UNBINDABLE},
};

}  // namespace

Result<MountOptions> ParseMountOptions(const std::vector<std::string>& options) {
  MountOptions out;
  for (const std::string& option : options) {
    if (option == "bind" || option == "rbind") {
      out.bind = true;
      out.recursive |= option == "rbind";
      continue;
    }
    bool known = false;
    for (const auto& f : kFlagOptions) {
      if (f.name != option) continue;
      known = true;
      if (f.clear) {
        out.flags &= ~f.flag;
        out.clear |= f.flag;
      } else {
        out.flags |= f.flag;
        out.clear &= ~f.flag;
      }
    }
    for (const auto& p : kPropagation) {
      if (p.name != option) continue;
      known = true;
      out.propagation.push_back(p.flags);
    }
    if (known || option.empty()) continue;
    if (!out.data.empty()) out.data.push_back(',');
    out.data += option;
  }
  return out;
}

Result<unsigned long> ParsePropagation(const std::string& name) {
  for (const auto& p : kPropagation) {
    if (p.name == name) return p.flags;
  }
  return Error::Invalid("unknown rootfsPropagation \"" + name + "\"");
}

}  // namespace strata::runtime::oci
