// linux.resources.devices on cgroup v2: the v1 devices controller's rules
// compiled into an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the
// container's cgroup, which the kernel runs on every open and mknod of a
// device node by the container's processes.
//
// Semantics are v1's: the rules (EffectiveDeviceRules: the config's, then
// the devices every container needs) are read from the last to the first and
// the first that matches decides; nothing matching means allowed (as a v1
// cgroup inherits its parent's allow-all, so a config that wants a list of
// allowed devices starts with "deny a *:* rwm", as runc spec does). An allow
// rule matches a request whose access it covers entirely; a deny rule one
// that asks for any access it denies.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/oci/spec.h"

namespace strata::runtime::oci {

// The program for rules (pure).
std::vector<struct bpf_insn> DeviceFilterProgram(const std::vector<DeviceRule>& rules);

// Loads the program and attaches it to the cgroup directory (multi-attach,
// so a parent's filter still applies).
Status AttachDeviceFilter(const std::string& cgroup_dir, const std::vector<DeviceRule>& rules);

}  // namespace strata::runtime::oci
