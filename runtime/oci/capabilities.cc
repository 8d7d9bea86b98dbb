#include "runtime/oci/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cstdlib>

#include "common/fs.h"

namespace strata::runtime::oci {
namespace {

// Indexed by capability number (linux/capability.h, kernel 5.9+).
constexpr std::array<std::string_view, 41> kNames = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

}  // namespace

std::optional<int> CapabilityFromName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

std::string CapabilityName(int cap) {
  if (cap >= 0 && static_cast<size_t>(cap) < kNames.size()) return std::string(kNames[cap]);
  return "CAP_" + std::to_string(cap);
}

int LastCapability() {
  static int last = [] {
    auto text = ReadFile("/proc/sys/kernel/cap_last_cap");
    if (!text.ok()) return CAP_LAST_CAP;
    int value = std::atoi(text->c_str());
    return value > 0 && value < 64 ? value : CAP_LAST_CAP;
  }();
  return last;
}

Status DropBoundingSet(const CapabilitySet& caps) {
  for (int cap = 0; cap <= LastCapability(); ++cap) {
    if (caps.bounding & (uint64_t{1} << cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return Error::FromErrno("drop " + CapabilityName(cap) + " from the bounding set");
    }
  }
  return Ok();
}

Status KeepCapabilities(bool keep) {
  if (::prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) != 0) {
    return Error::FromErrno("prctl(PR_SET_KEEPCAPS)");
  }
  return Ok();
}

Status ApplyCapabilities(const CapabilitySet& caps) {
  // Bits above the kernel's last capability make capset fail with EINVAL.
  uint64_t known =
      LastCapability() >= 63 ? ~uint64_t{0} : (uint64_t{1} << (LastCapability() + 1)) - 1;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  auto split = [&](uint64_t bits, __u32 __user_cap_data_struct::*field) {
    bits &= known;
    data[0].*field = static_cast<__u32>(bits);
    data[1].*field = static_cast<__u32>(bits >> 32);
  };
  split(caps.effective, &__user_cap_data_struct::effective);
  split(caps.permitted, &__user_cap_data_struct::permitted);
  split(caps.inheritable, &__user_cap_data_struct::inheritable);
  if (::syscall(SYS_capset, &header, data) != 0) return Error::FromErrno("capset");

  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return Error::FromErrno("clear ambient capabilities");
  }
  for (int cap = 0; cap <= LastCapability(); ++cap) {
    if (!(caps.ambient & (uint64_t{1} << cap))) continue;
    // Like runc: an ambient capability that is not both permitted and
    // inheritable cannot be raised; that is the config's choice, not an error.
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0 && errno != EPERM) {
      return Error::FromErrno("raise ambient " + CapabilityName(cap));
    }
  }
  return Ok();
}

}  // namespace strata::runtime::oci
