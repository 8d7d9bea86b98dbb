// Bundle: the OCI runtime bundle of a container (runtime-spec 1.0), made by
// stratad before each start in <root>/containers/<id>/bundle/config.json,
// with root.path = the container's union root under the FUSE mount
// (mnt/containers/<id>).
//
// What the spec holds, as Docker's defaults:
//   process    entrypoint + cmd, env (+ HOSTNAME, PATH if missing, TERM with
//              a tty), cwd, uid/gid and supplementary groups, Docker's
//              default capabilities (bounding; also effective and permitted
//              for uid 0), RLIMIT_NOFILE = stratad's hard limit (at most
//              1048576), noNewPrivileges
//   mounts     /proc, /dev (tmpfs), /dev/pts, /sys (ro), /sys/fs/cgroup (ro),
//              /dev/mqueue, /dev/shm (64 MiB), /etc/hostname, /etc/hosts and
//              /etc/resolv.conf (bind mounts of files stratad writes beside
//              the bundle), /run/strata (read-only: the container's status
//              files, served by the FUSE session), then the volumes,
//              parents before children
//   linux      namespaces mount, pid, uts, ipc (+ network for --network
//              none); cgroupsPath /strata/<id>; memory (swap = the limit:
//              none beyond it), pids and cpu limits;
//              Docker's device allowlist; masked and read-only paths;
//              the seccomp profile and --privileged (security_options.h)
//
// Thread safety: plain functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "common/result.h"
#include "runtime/container_record.h"

namespace strata::runtime {

// Where every container gets stratad's network files and its status
// directory mounted (root_warmup.h makes them ahead).
inline constexpr const char* kResolvConfMount = "/etc/resolv.conf";
inline constexpr const char* kHostnameMount = "/etc/hostname";
inline constexpr const char* kHostsMount = "/etc/hosts";
inline constexpr const char* kStatusMount = "/run/strata";

// A mount of the spec (what the runtime is told), destination resolved.
struct BundleMount {
  std::string destination;
  std::string type;  // "bind", "tmpfs", ...
  std::string source;
  std::vector<std::string> options;
};

struct ProcessUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
};

struct BundleInputs {
  std::string root_path;  // the container's root on the host
  ProcessUser user;
  std::vector<BundleMount> volumes;  // volumes and tmpfs, resolved
  std::string hostname_file;         // host files bound at /etc/...
  std::string hosts_file;
  std::string resolv_conf_file;
  std::string status_dir;  // bound read-only at /run/strata, if set
};

// Docker's default capability set (CAP_CHOWN ... CAP_AUDIT_WRITE).
const std::vector<std::string>& DefaultCapabilities();

// The environment of the container's process: config.env with HOSTNAME,
// PATH (if missing) and TERM=xterm (with a tty) added.
std::vector<std::string> ProcessEnv(const ContainerConfig& config);

// The runtime spec (config.json) of config. Fails with EINVAL when there is
// no command to run.
Result<boost::json::object> BuildSpec(const ContainerConfig& config, const BundleInputs& inputs);

// The spec's mount for a volume: bind (rbind, ro or rw, the source as
// given) or tmpfs (nosuid, nodev, the given options).
BundleMount VolumeMount(const Mount& mount, const std::string& resolved_destination,
                        const std::string& host_source);

// /etc/hostname, /etc/hosts and /etc/resolv.conf for the container, written
// into dir (hostname, hosts, resolv.conf); host networking copies the host's
// hosts and resolv.conf.
Status WriteNetworkFiles(const std::string& dir, const ContainerConfig& config);

// Resolves "", "UID", "NAME", "UID:GID", "NAME:GROUP" against the passwd and
// group files of the container's root (read inside it): a numeric UID
// without a passwd entry gets GID 0, as in Docker; an unknown name is an
// EINVAL error.
Result<ProcessUser> ResolveUser(const std::string& root, const std::string& user);

}  // namespace strata::runtime
