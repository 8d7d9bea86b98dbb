// linux.sysctl: kernel parameters of the container's own namespaces
// (net.*, the ipc ones, fs.mqueue.*), written through the container's
// /proc/sys after pivot_root and before /proc/sys is made read-only. Which
// keys are allowed is checked when config.json is parsed (spec.cc).
#pragma once

#include <map>
#include <string>

#include "common/result.h"

namespace strata::runtime::oci {

// "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward".
std::string SysctlPath(const std::string& key);
Status ApplySysctls(const std::map<std::string, std::string>& sysctls);

}  // namespace strata::runtime::oci
