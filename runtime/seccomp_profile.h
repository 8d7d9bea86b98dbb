// Seccomp profiles as users write them (Docker's JSON format) and as the OCI
// runtime takes them (the config's linux.seccomp, runtime/oci/seccomp.h).
//
// Docker's format: defaultAction, defaultErrnoRet, either architectures or
// archMap ([{architecture, subArchitectures}]: the entry of the host's
// architecture gives the filter's architectures), flags, and syscalls[] of
// {names (or the older single name), action, errnoRet, args, includes,
// excludes}; includes/excludes hold caps (capability names), arches
// (Docker's short names: amd64, 386, x32, arm64, arm, s390x, ...) and, in
// includes, minKernel ("4.8"). A rule is kept when the container's bounding
// set has every capability of includes.caps and none of excludes.caps, the
// host's architecture passes includes.arches/excludes.arches, and the
// running kernel is at least minKernel. Unknown keys (comment) are ignored.
//
// DefaultSeccompProfile() is strata's default, with the effect of Docker's
// (docs/security.md lists what it refuses): an allowlist whose default
// action is ERRNO(EPERM); the system calls that need a capability are
// allowed only to containers that have it (CAP_SYS_ADMIN: mount, umount2,
// unshare and clone of new namespaces, setns, bpf, perf_event_open, ...;
// CAP_SYS_MODULE: init_module, ...); keyctl, add_key, request_key,
// kexec_load, userfaultfd, ... are refused to all; clone3 fails with ENOSYS
// without CAP_SYS_ADMIN (so C libraries fall back to clone, whose flags a
// filter can check); socket(AF_VSOCK) and personality changes other than
// the harmless ones are refused.
//
// Thread safety: plain functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/result.h"

namespace strata::runtime {

// strata's default profile, in Docker's format.
const boost::json::object& DefaultSeccompProfile();

// Docker-format profile text -> linux.seccomp for a container whose bounding
// set is capabilities ("CAP_CHOWN", ...), on this host's architecture and
// kernel. Errors are EINVAL, one line, naming the field ("seccomp profile:
// syscalls[4].action: unknown action \"SCMP_ACT_FOO\"").
Result<boost::json::object> TranslateSeccompProfile(std::string_view profile_json,
                                                    const std::vector<std::string>& capabilities);
Result<boost::json::object> TranslateSeccompProfile(const boost::json::object& profile,
                                                    const std::vector<std::string>& capabilities);

}  // namespace strata::runtime
