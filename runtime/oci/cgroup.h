// A container's control group: where it lives, its limits, the freezer, and
// its out-of-memory count, behind one interface with three backends chosen by
// how the host mounts cgroups:
//
//   v1      every controller its own hierarchy (/sys/fs/cgroup/<controller>)
//   v2      one unified hierarchy (/sys/fs/cgroup), controllers enabled in
//           each ancestor's cgroup.subtree_control
//   hybrid  v1 controllers plus a cgroup2 mount (/sys/fs/cgroup/unified)
//           without controllers; limits and freezer are v1's, and the
//           container also gets a cgroup in the unified tree so tools that
//           track processes there (systemd) see it
//
// Paths. ResolveCgroupPath turns linux.cgroupsPath into a path in each
// hierarchy: an absolute cgroupsPath is taken from the hierarchy's root; a
// relative one, like runc, from the runtime's own cgroup in that hierarchy
// (v1) or from its parent (v2, whose no-internal-processes rule forbids
// enabling controllers below a cgroup that holds processes); without a
// cgroupsPath the runtime uses "strata/<id>", relative. So on a v1 host
// where the runtime sits in memory:/box, the container gets
// /sys/fs/cgroup/cpu/strata/<id> and /sys/fs/cgroup/memory/box/strata/<id>.
// The resolved directories (CgroupPaths) are recorded in the container's
// state, so later commands find them whatever cgroup they run in.
//
// Lifecycle: Create() makes the directories and writes the limits; the
// container's first process is cloned straight into the cgroup2 directory
// (Cgroup2Dir, clone3 CLONE_INTO_CGROUP) where there is one and joins the
// rest with JoinSelf before it forks anything;
// Open() finds an existing container's cgroup again (state, kill, pause,
// delete) from its CgroupPaths; Destroy() removes the leaf directories once
// no process is left. Parent directories ("strata") stay.
//
// Thread safety: none needed; strata-runtime is single-threaded. The object
// is copied into forked children (JoinSelf runs there).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/oci/spec.h"

namespace strata::runtime::oci {

enum class CgroupMode { kV1, kV2, kHybrid };
std::string_view CgroupModeName(CgroupMode mode);

// One mounted cgroup hierarchy.
struct CgroupHierarchy {
  std::string mountpoint;  // "/sys/fs/cgroup/memory"
  std::string mount_root;  // the cgroup shown at mountpoint, "/" unless a subtree is mounted
  // "memory", "cpu,cpuacct", "name=systemd" (as in /proc/self/cgroup); v2: "unified".
  std::string key;
  std::string own_path;  // this process's cgroup in it ("/", "/user.slice/...")
  bool unified = false;  // cgroup2

  bool Has(std::string_view controller) const;
  // The directory of cgroup path (absolute in the hierarchy); EINVAL when
  // the path is outside the mounted subtree.
  Result<std::string> Dir(std::string_view path) const;
};

struct CgroupLayout {
  CgroupMode mode = CgroupMode::kV2;
  std::vector<CgroupHierarchy> v1;  // kV1, kHybrid
  CgroupHierarchy unified;          // kV2, kHybrid (mountpoint empty otherwise)

  // The v1 hierarchy holding a controller, or nullptr.
  const CgroupHierarchy* V1For(std::string_view controller) const;
};

// Builds the layout from the text of /proc/self/mountinfo and
// /proc/self/cgroup. Pure, so tests can feed it any host. Fails when no
// cgroup file system is mounted.
Result<CgroupLayout> ParseCgroupLayout(std::string_view mountinfo, std::string_view self_cgroup);
// The layout of this host, read from /proc/self.
Result<CgroupLayout> DetectCgroupLayout();

// The container's cgroup path in one hierarchy (see "Paths" above); always
// absolute and clean, never the root and never above it ("..": EINVAL).
Result<std::string> ResolveCgroupPath(std::string_view cgroups_path, std::string_view container_id,
                                      std::string_view own_path, bool unified);

// What to mount at a container's cgroup mount point for one hierarchy: the
// container's own directory (bind) or, with a cgroup namespace, a fresh
// mount of the hierarchy (type + controllers as data).
struct CgroupMountSource {
  std::string name;      // the directory under the mount point ("memory"); "" for v2
  std::string host_dir;  // the container's cgroup directory on the host
  std::string fstype;    // "cgroup" or "cgroup2"
  std::string data;      // "memory", "cpu,cpuacct", "none,name=systemd"; "" for v2
};

// Where one container's cgroup is: its directory in each hierarchy, by key.
struct CgroupPaths {
  CgroupMode mode = CgroupMode::kV2;
  std::map<std::string, std::string> dirs;  // "memory" -> "/sys/fs/cgroup/memory/strata/c1"

  // The directory of the hierarchy holding controller ("freezer"; "unified"
  // for the cgroup2 one), or "".
  std::string DirFor(std::string_view controller) const;
};

class Cgroup {
 public:
  // Creates the container's cgroup (mkdir -p in every hierarchy) and writes
  // the limits. On failure nothing created is left behind.
  static Result<std::unique_ptr<Cgroup>> Create(const CgroupLayout& layout,
                                                std::string_view cgroups_path,
                                                std::string_view container_id,
                                                const Resources& resources);
  // An existing container's cgroup; missing directories are not an error
  // here (a stopped container's may be gone), operations on them are.
  static std::unique_ptr<Cgroup> Open(const CgroupPaths& paths);

  virtual ~Cgroup() = default;

  const CgroupPaths& paths() const { return paths_; }
  virtual CgroupMode mode() const = 0;

  // The container's cgroup2 directory, which a new process can be cloned
  // into (clone3 CLONE_INTO_CGROUP); "" on v1 hosts.
  virtual std::string Cgroup2Dir() const = 0;
  // Moves the calling process, which must be single-threaded, into the
  // container's cgroup in every hierarchy; in_cgroup2: it was cloned into
  // Cgroup2Dir already. Migrating a whole process (cgroup.procs) makes the
  // kernel wait for an RCU grace period (cgroup_threadgroup_rwsem, 8-30 ms
  // here, the largest part of a container start); moving the calling
  // thread alone (v1 "tasks" 0) and cloning into cgroup2 do not.
  virtual Status JoinSelf(bool in_cgroup2) = 0;
  // Freezes every process and waits until the kernel says frozen (or fails
  // after a few seconds); Thaw undoes it.
  virtual Status Freeze() = 0;
  virtual Status Thaw() = 0;
  virtual Result<bool> IsFrozen() = 0;
  // Every process in the container's cgroup (pids as the caller sees them).
  virtual Result<std::vector<pid_t>> Pids() = 0;
  // How many times the kernel's OOM killer killed a process of the
  // container (v2: memory.events oom_kill; v1: memory.oom_control oom_kill,
  // or memory.failcnt's hits when the kernel lacks that line).
  virtual Result<uint64_t> OomKills() = 0;
  // True when the directories still exist.
  virtual bool Exists() = 0;
  // Removes the container's directories; retries while the last processes
  // leave; missing is fine.
  virtual Status Destroy() = 0;
  // The sources for the container's cgroup mount.
  virtual std::vector<CgroupMountSource> MountSources(bool cgroup_namespace) const = 0;

 protected:
  explicit Cgroup(CgroupPaths paths) : paths_(std::move(paths)) {}
  CgroupPaths paths_;
};

// Backends (cgroup_v1.cc, cgroup_v2.cc, cgroup_hybrid.cc): one class each;
// Open* only wraps the directories, Create* makes them and writes limits.
std::unique_ptr<Cgroup> OpenCgroupV1(CgroupPaths paths);
std::unique_ptr<Cgroup> OpenCgroupV2(CgroupPaths paths);
std::unique_ptr<Cgroup> OpenCgroupHybrid(CgroupPaths paths);
Result<std::unique_ptr<Cgroup>> CreateCgroupV1(const CgroupLayout& layout, std::string_view path,
                                               std::string_view id, const Resources& resources);
Result<std::unique_ptr<Cgroup>> CreateCgroupV2(const CgroupLayout& layout, std::string_view path,
                                               std::string_view id, const Resources& resources);
Result<std::unique_ptr<Cgroup>> CreateCgroupHybrid(const CgroupLayout& layout,
                                                   std::string_view path, std::string_view id,
                                                   const Resources& resources);

// The cgroup v1 device rules for resources.devices: the config's rules in
// order, then the devices every container needs (null, zero, full, random,
// urandom, tty, console, ptmx, pts, and mknod of anything), as runc adds
// them. Each is "allow c 1:3 rwm" / "deny a *:* rwm". Pure.
std::vector<std::string> DeviceCgroupRules(const std::vector<DeviceRule>& rules);
// The same rules, as rules: the config's, then the defaults.
std::vector<DeviceRule> EffectiveDeviceRules(const std::vector<DeviceRule>& rules);

// cgroup v2 values from the spec's v1-style numbers (pure):
// cpu.shares (2..262144) -> cpu.weight (1..10000), as runc converts them;
uint64_t CpuWeightFromShares(uint64_t shares);
// memory + swap -> memory.swap.max (swap alone); -1 -> "max";
Result<std::string> MemorySwapMaxV2(int64_t limit, int64_t swap);
// quota/period -> cpu.max ("max 100000" when the quota is unset or -1).
std::string CpuMaxV2(std::optional<int64_t> quota, std::optional<uint64_t> period);

// Helpers shared by the backends (cgroup.cc).
namespace cgroup_internal {
// Writes value to dir/file (no O_CREAT), naming both in the error.
Status WriteControl(const std::string& dir, std::string_view file, std::string_view value);
Result<std::string> ReadControl(const std::string& dir, std::string_view file);
// "key value" lines (memory.events, memory.oom_control): the value of key.
std::optional<uint64_t> FlatKeyedValue(std::string_view text, std::string_view key);
Result<std::vector<pid_t>> ReadProcs(const std::string& dir);
// mkdir -p of dir below the existing hierarchy mount; returns the
// directories it created, deepest last. on_new(dir) runs for each new one
// (v1 cpuset copies its parent's cpus and mems there).
Result<std::vector<std::string>> MakeCgroupDirs(
    const std::string& dir, const std::function<Status(const std::string&)>& on_new = {});
// rmdir of dir and any child cgroups below it (deepest first), retrying on
// EBUSY for a moment; ENOENT is fine.
Status RemoveCgroupDir(const std::string& dir);
// Polls until done() or about timeout_ms passed.
bool WaitFor(const std::function<bool()>& done, int timeout_ms);
}  // namespace cgroup_internal

}  // namespace strata::runtime::oci
