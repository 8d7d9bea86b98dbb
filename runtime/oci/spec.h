// The OCI runtime configuration (a bundle's config.json), reduced to the
// fields strata-runtime honours, parsed and validated in full before any
// process is forked: a config that cannot be run is refused with a message
// naming the field, and nothing is half set up.
//
// Honoured: process (args, env, cwd, user uid/gid/additionalGids/umask,
// terminal, consoleSize, capabilities, rlimits, noNewPrivileges,
// oomScoreAdj), root (path, readonly), hostname, domainname, mounts,
// annotations, linux.namespaces (not user/time), linux.resources (memory
// limit/swap/reservation, pids, cpu shares/quota/period, devices),
// linux.cgroupsPath, linux.maskedPaths, linux.readonlyPaths, linux.devices,
// linux.sysctl, linux.rootfsPropagation, linux.seccomp (seccomp.h).
// Ignored with a warning (see Spec::warnings): hooks, apparmor/selinux
// labels.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/oci/capabilities.h"
#include "runtime/oci/mount_options.h"
#include "runtime/oci/namespaces.h"
#include "runtime/oci/seccomp.h"

namespace strata::runtime::oci {

// The runtime-spec version strata-runtime implements (reported by `state`).
inline constexpr std::string_view kOciVersion = "1.0.2";

struct User {
  uid_t uid = 0;
  gid_t gid = 0;
  std::optional<mode_t> umask;  // unset: 0022
  std::vector<gid_t> additional_gids;
};

struct Rlimit {
  int resource;  // RLIMIT_NOFILE, ...
  uint64_t soft;
  uint64_t hard;
};

struct Process {
  bool terminal = false;
  unsigned short console_height = 0, console_width = 0;  // 0: leave as is
  User user;
  std::vector<std::string> args;              // non-empty
  std::vector<std::string> env;               // "KEY=value"
  std::string cwd = "/";                      // absolute
  std::optional<CapabilitySet> capabilities;  // unset: keep none
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
};

struct Mount {
  std::string destination;  // absolute inside the container
  std::string type;         // "bind", "proc", "tmpfs", ...; may be empty for binds
  std::string source;
  std::vector<std::string> options;
  MountOptions parsed;  // from options
};

struct Device {      // a node to create in the container's /dev
  std::string path;  // absolute, under /dev
  char type;         // 'c', 'b', 'u' (char, unbuffered) or 'p' (fifo)
  int64_t major = 0, minor = 0;
  mode_t file_mode = 0666;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct DeviceRule {  // linux.resources.devices: the device cgroup's rules
  bool allow = false;
  char type = 'a';     // 'a', 'c' or 'b'
  int64_t major = -1;  // -1: any ("*")
  int64_t minor = -1;
  std::string access = "rwm";
};

// Limits; unset fields are left as the kernel has them. Values as in the
// spec: memory in bytes, -1 = unlimited; swap is memory + swap.
struct Resources {
  std::optional<int64_t> memory_limit;
  std::optional<int64_t> memory_swap;
  std::optional<int64_t> memory_reservation;
  std::optional<int64_t> pids_limit;
  std::optional<uint64_t> cpu_shares;
  std::optional<int64_t> cpu_quota;
  std::optional<uint64_t> cpu_period;
  std::vector<DeviceRule> devices;
};

struct Linux {
  std::vector<Namespace> namespaces;
  Resources resources;
  std::string cgroups_path;  // empty: the runtime chooses (cgroup.h)
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::vector<Device> devices;
  std::map<std::string, std::string> sysctl;
  std::optional<unsigned long> rootfs_propagation;  // unset: MS_REC|MS_PRIVATE
  std::optional<Seccomp> seccomp;                   // unset: no filter
};

struct Spec {
  std::string oci_version;
  Process process;
  std::string root_path;  // as written; may be relative to the bundle
  bool root_readonly = false;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Linux linux;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> warnings;  // fields present but not honoured
};

// Parses and validates config.json's text.
Result<Spec> ParseSpec(std::string_view json);
// Reads DIR/config.json.
Result<Spec> LoadSpec(const std::string& bundle_dir);
// A process.json as given to `exec --process`.
Result<Process> ParseProcess(std::string_view json);

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE.
std::optional<int> RlimitFromName(std::string_view name);

}  // namespace strata::runtime::oci
