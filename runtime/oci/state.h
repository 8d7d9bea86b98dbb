// A container's state directory, <root>/<id>/ (root defaults to
// /run/strata-runtime):
//
//   state.json   what `state` reports plus what later commands need (pid and
//                its start time, cgroup directories, namespaces); written to
//                a temp file and renamed, so a reader sees the old or the new
//                state, never half of one
//   config.json  the bundle's config as it was at create (exec takes its
//                process defaults from it, whatever happens to the bundle)
//   exec.fifo    exists from create until start: the container's init blocks
//                reading it and start writes one byte (container.cc)
//
// The status is not stored; it is derived each time (DeriveStatus): the
// init's pid is alive with the recorded start time (a recycled pid is not
// the container; a zombie is stopped), exec.fifo present means created, a
// frozen cgroup means paused.
//
// Thread safety: none; commands are separate processes and, like runc, do
// not lock each other out (two concurrent deletes of one container are
// harmless: removals tolerate missing files).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/oci/cgroup.h"
#include "runtime/oci/namespaces.h"

namespace strata::runtime::oci {

inline constexpr std::string_view kDefaultStateRoot = "/run/strata-runtime";

enum class ContainerStatus { kCreated, kRunning, kPaused, kStopped };
std::string_view ContainerStatusName(ContainerStatus status);

struct ContainerState {
  std::string id;
  pid_t pid = 0;            // the init, as the host sees it
  uint64_t start_time = 0;  // field 22 of /proc/PID/stat, in clock ticks since boot
  std::string bundle;       // absolute
  std::string rootfs;       // absolute
  std::string created;      // RFC 3339 with nanoseconds, UTC
  std::map<std::string, std::string> annotations;
  CgroupPaths cgroup;
  // The namespaces the container has (own or joined), for exec.
  std::vector<NamespaceKind> namespaces;
  bool own_pid_namespace = false;  // killing the init then kills every process
};

// Container ids: letters, digits, '_', '+', '-', '.', not "." or "..", at
// most 1024 characters (what runc accepts).
Status ValidateContainerId(std::string_view id);

class StateDir {
 public:
  // Makes <root>/<id> (root with mode 0700 if missing); EEXIST when a
  // container of that id exists.
  static Result<StateDir> Create(const std::string& root, const std::string& id);
  // An existing container's directory; ENOENT "container X does not exist".
  static Result<StateDir> Open(const std::string& root, const std::string& id);

  const std::string& path() const { return path_; }
  std::string FifoPath() const;
  std::string ConfigPath() const;

  Status Save(const ContainerState& state) const;
  Result<ContainerState> Load() const;
  // rm -rf of the directory.
  Status Remove() const;

 private:
  explicit StateDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// What /proc/PID/stat says about a process.
struct ProcStat {
  char state = '?';  // R, S, D, Z, X, T, ...
  uint64_t start_time = 0;
};
// Parses the text of /proc/PID/stat (the command may hold spaces and ')').
Result<ProcStat> ParseProcStat(std::string_view text);
Result<ProcStat> ReadProcStat(pid_t pid);
// True when pid is a live (not zombie) process started at start_time.
bool ProcessAlive(pid_t pid, uint64_t start_time);

ContainerStatus DeriveStatus(const ContainerState& state, const StateDir& dir);

// The `state` command's JSON, as runc prints it: ociVersion, id, pid (0 once
// stopped), status, bundle, rootfs, created, owner, annotations (when any),
// indented by two spaces. oom_kills is added as "oomKills" when known.
std::string StateJson(const ContainerState& state, ContainerStatus status,
                      std::optional<uint64_t> oom_kills);

// Writes data to a temp file next to path and renames it over path, without
// fsync: the state lives in /run (tmpfs) and means nothing after a reboot,
// but a reader must never see half a file. Used for the state, the config
// copy and pid files.
Status ReplaceFile(const std::string& path, std::string_view data, mode_t mode);

// Now, as RFC 3339 with nanoseconds in UTC.
std::string NowRfc3339();

}  // namespace strata::runtime::oci
