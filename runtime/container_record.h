// ContainerRecord: what stratad keeps about one container, on disk as
//
//   <root>/containers/<id>/config.json   ContainerConfig: fixed at create
//   <root>/containers/<id>/state.json    ContainerState: changes as it runs
//
// both written to a temporary file and renamed in (WriteFileAtomic), so a
// crash leaves the old or the new version, never a mix. Fields unknown to
// this version are ignored on load; missing ones read as their defaults.
//
// Also here: container IDs (64 random hex digits) and names (unique, Docker's
// rules; generated as "adjective_noun" when none is given), and the parsing
// of `-v` / `--tmpfs` specifications into Mounts.
//
// Thread safety: plain values and functions; the manager serializes access
// to one container's files.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/result.h"
#include "runtime/restart_policy.h"

namespace strata::runtime {

// A volume in a container: `-v /host:/dst[:ro]` (bind), `-v name:/dst[:ro]`
// (a named volume, <root>/volumes/<name>/data), `--tmpfs /dst`.
struct Mount {
  enum class Type { kBind, kVolume, kTmpfs };
  Type type = Type::kBind;
  std::string source;       // host path (bind), volume name (volume), empty (tmpfs)
  std::string destination;  // absolute path in the container, as given
  bool read_only = false;
  std::string tmpfs_options;  // tmpfs: extra options ("size=64m,mode=1777")

  friend bool operator==(const Mount&, const Mount&) = default;
};

std::string_view MountTypeName(Mount::Type type);  // "bind", "volume", "tmpfs"

// "-v SRC:DST[:ro|rw]": SRC starting with '/' is a bind (must be absolute and
// normalized), anything else a volume name; DST must be absolute.
Result<Mount> ParseVolumeSpec(std::string_view spec);
// "--tmpfs DST[:OPTIONS]". Both refuse a spec with a NUL byte.
Result<Mount> ParseTmpfsSpec(std::string_view spec);
// A volume name: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 128 bytes.
Status ValidateVolumeName(std::string_view name);

enum class NetworkMode { kNone, kHost };
std::string_view NetworkModeName(NetworkMode mode);
Result<NetworkMode> ParseNetworkMode(std::string_view text);  // "none" (default), "host"

// Fixed at create (config.json).
struct ContainerConfig {
  std::string id;                       // 64 hex
  std::string name;                     // unique among containers
  std::string created;                  // RFC 3339 UTC with nanoseconds
  std::string image;                    // image ID, "sha256:..."
  std::string image_ref;                // the reference the user gave ("busybox")
  std::string chain;                    // the image's chainID, "sha256:..."
  std::vector<std::string> entrypoint;  // from the image
  std::vector<std::string> cmd;         // the user's command, else the image's
  std::vector<std::string> env;         // image env merged with -e, "K=V"
  std::string workdir;                  // absolute; "/" by default
  std::string user;                     // "UID[:GID]" or a name; empty = root
  std::string hostname;                 // default: the first 12 digits of id
  std::map<std::string, std::string> labels;
  RestartPolicy restart;
  std::vector<Mount> mounts;  // in the order given; tmpfs mounts included
  int64_t memory = 0;         // bytes; 0 = no limit
  int64_t pids_limit = 0;     // 0 = no limit
  double cpus = 0;            // 0 = no limit
  int64_t log_max_size = 0;   // bytes of one log file; 0 = no rotation
  int64_t log_max_files = 1;  // log files kept, with rotation
  bool tty = false;
  bool interactive = false;  // stdin kept open
  bool auto_remove = false;  // --rm
  NetworkMode network = NetworkMode::kNone;
  std::string stop_signal;  // from the image; empty = SIGTERM
  int stop_timeout = 10;    // seconds
  bool privileged = false;  // all capabilities and devices; no masks, no seccomp
  std::string seccomp;      // "": the default profile; "unconfined"; else Docker-format JSON

  // entrypoint + cmd.
  std::vector<std::string> Args() const;
};

enum class ContainerStatus { kCreated, kRunning, kPaused, kRestarting, kExited, kDead };
std::string_view StatusName(ContainerStatus status);
Result<ContainerStatus> ParseStatus(std::string_view text);

// Changes as the container runs (state.json).
struct ContainerState {
  ContainerStatus status = ContainerStatus::kCreated;
  int pid = 0;                    // the init's pid while running or paused, else 0
  int exit_code = 0;              // of the last run
  bool oom_killed = false;        // the last run ended by the memory cgroup's OOM killer
  std::string started_at;         // RFC 3339; empty until the first start
  std::string finished_at;        // RFC 3339; empty until the first exit
  int restart_count = 0;          // restarts by policy since the last user start
  bool manually_stopped = false;  // stop/kill by the user: no restart by policy
  std::string error;              // why the last start failed, or why it is dead
};

struct ContainerRecord {
  ContainerConfig config;
  ContainerState state;
};

boost::json::object ConfigToJson(const ContainerConfig& config);
Result<ContainerConfig> ConfigFromJson(const boost::json::object& o);
boost::json::object StateToJson(const ContainerState& state);
ContainerState StateFromJson(const boost::json::object& o);

// <dir>/config.json and <dir>/state.json, replaced atomically; durable:
// fsynced with the directory too. A --rm container's record need not be
// durable: after a crash stratad removes such a container anyway, and a
// record the crash lost or tore is skipped and its directory left to gc.
Status SaveConfig(const std::string& dir, const ContainerConfig& config, bool durable = true);
Status SaveState(const std::string& dir, const ContainerState& state, bool durable = true);
// Fails with ENOENT when config.json is missing; a missing or unreadable
// state.json reads as a created container.
Result<ContainerRecord> LoadRecord(const std::string& dir);

// 64 random hex digits.
std::string NewContainerId();
// Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 characters), at most
// 128 bytes; a leading '/' is dropped.
Result<std::string> ValidateContainerName(std::string_view name);
// "adjective_noun", from seed (callers pass random numbers and retry on a
// collision).
std::string GenerateName(uint64_t seed);

// Now as RFC 3339 UTC with nanoseconds: "2024-05-01T12:00:00.123456789Z".
std::string NowRfc3339Nano();

}  // namespace strata::runtime
