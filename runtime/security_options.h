// A container's security settings: `--privileged` and `--security-opt`, as
// checked at create and as applied to its runtime spec at each start.
//
// --security-opt values (as Docker's):
//   seccomp=unconfined       no seccomp filter
//   seccomp=PROFILE          a profile in Docker's JSON format (the CLI reads
//                            the file and sends its text); checked at create
//                            by translating it (seccomp_profile.h)
//   no-new-privileges[=true] accepted: every container has it already
// Anything else is refused (EINVAL), as is no-new-privileges=false.
//
// Without --privileged a container gets Docker's defaults from bundle.cc
// (its capabilities, masked and read-only paths, device rules) plus the
// seccomp profile: strata's default (seccomp_profile.h) unless the user
// gave one, translated for the container's bounding set. --privileged, as
// Docker: every capability, /sys and the cgroup mount writable, no masked or
// read-only paths, every host device (the nodes under the host's /dev and a
// device cgroup that allows all), no seccomp filter.
//
// Thread safety: plain functions.
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "common/result.h"
#include "runtime/container_record.h"

namespace strata::runtime {

// The client's side: seccomp=FILE becomes seccomp=<the file's text>, as
// Docker's client sends it (the service may not see the user's files).
Result<std::vector<std::string>> ReadSecurityOptFiles(const std::vector<std::string>& security_opt);

// Checks the options and records them in config (privileged, seccomp).
Status ApplySecurityOptions(bool privileged, const std::vector<std::string>& security_opt,
                            ContainerConfig& config);

// Applies config's security settings to a spec built by BuildSpec: the
// seccomp profile, or what --privileged lifts and gives.
Status ApplySecurity(const ContainerConfig& config, boost::json::object& spec);

}  // namespace strata::runtime
