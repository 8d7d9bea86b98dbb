// Linux capabilities of a container process: the OCI names, and applying the
// five sets (bounding, effective, inheritable, permitted, ambient) to the
// calling process with the raw prctl/capset system calls (no libcap).
//
// The order matters and is the caller's job (process.cc):
//   1. DropBoundingSet        while still root with CAP_SETPCAP
//   2. KeepCapabilities(true) so that setuid() does not clear permitted
//   3. setgroups/setgid/setuid
//   4. KeepCapabilities(false), ApplyCapabilities (capset, then ambient)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace strata::runtime::oci {

// One bit per capability number (CAP_CHOWN is bit 0).
struct CapabilitySet {
  uint64_t bounding = 0;
  uint64_t effective = 0;
  uint64_t inheritable = 0;
  uint64_t permitted = 0;
  uint64_t ambient = 0;
};

// "CAP_SYS_ADMIN" -> 21. Names this build does not know give nullopt.
std::optional<int> CapabilityFromName(std::string_view name);
// 21 -> "CAP_SYS_ADMIN"; unknown numbers give "CAP_<n>".
std::string CapabilityName(int cap);
// The highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap).
int LastCapability();

// Step 1: drops every capability not in caps.bounding from the bounding set.
Status DropBoundingSet(const CapabilitySet& caps);
// prctl(PR_SET_KEEPCAPS).
Status KeepCapabilities(bool keep);
// Step 4: capset(effective, permitted, inheritable), then raises the ambient
// capabilities (each must be permitted and inheritable).
Status ApplyCapabilities(const CapabilitySet& caps);

}  // namespace strata::runtime::oci
