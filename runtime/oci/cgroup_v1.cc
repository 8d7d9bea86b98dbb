// cgroup v1: one hierarchy per controller (or group of co-mounted ones).
#include <sys/stat.h>

#include "common/fs.h"
#include "runtime/oci/cgroup.h"

namespace strata::runtime::oci {
namespace {

using namespace cgroup_internal;

class CgroupV1 : public Cgroup {
 public:
  explicit CgroupV1(CgroupPaths paths) : Cgroup(std::move(paths)) {}

  CgroupMode mode() const override { return CgroupMode::kV1; }

  std::string Cgroup2Dir() const override { return ""; }

  // "tasks" moves the calling thread, which is the whole process.
  Status JoinSelf(bool) override {
    for (const auto& [key, dir] : paths_.dirs) RETURN_IF_ERROR(WriteControl(dir, "tasks", "0"));
    return Ok();
  }

  Status Freeze() override { return SetFreezer("FROZEN"); }
  Status Thaw() override { return SetFreezer("THAWED"); }

  Result<bool> IsFrozen() override {
    std::string dir = paths_.DirFor("freezer");
    if (dir.empty()) return false;
    ASSIGN_OR_RETURN(std::string state, ReadControl(dir, "freezer.state"));
    return state.starts_with("FROZEN");
  }

  Result<std::vector<pid_t>> Pids() override {
    for (const char* controller : {"pids", "freezer", "memory", "cpu"}) {
      std::string dir = paths_.DirFor(controller);
      if (!dir.empty()) return ReadProcs(dir);
    }
    if (paths_.dirs.empty()) return Error::NotFound("the container has no cgroup");
    return ReadProcs(paths_.dirs.begin()->second);
  }

  Result<uint64_t> OomKills() override {
    std::string dir = paths_.DirFor("memory");
    if (dir.empty()) return Error::NotFound("no memory cgroup");
    ASSIGN_OR_RETURN(std::string control, ReadControl(dir, "memory.oom_control"));
    if (auto kills = FlatKeyedValue(control, "oom_kill")) return *kills;
    // Kernels before 4.13 do not count kills; the number of times the limit
    // was hit is the closest sign.
    ASSIGN_OR_RETURN(std::string failcnt, ReadControl(dir, "memory.failcnt"));
    return static_cast<uint64_t>(std::strtoull(failcnt.c_str(), nullptr, 10));
  }

  bool Exists() override {
    for (const auto& [key, dir] : paths_.dirs) {
      if (PathExists(dir)) return true;
    }
    return false;
  }

  Status Destroy() override {
    Status first;
    for (const auto& [key, dir] : paths_.dirs) {
      Status st = RemoveCgroupDir(dir);
      if (!st.ok() && first.ok()) first = std::move(st);
    }
    return first;
  }

  std::vector<CgroupMountSource> MountSources(bool) const override {
    std::vector<CgroupMountSource> out;
    for (const auto& [key, dir] : paths_.dirs) {
      if (key == "unified") continue;
      std::string name = key.starts_with("name=") ? key.substr(5) : key;
      out.push_back({name, dir, "cgroup", key});
    }
    return out;
  }

 private:
  Status SetFreezer(std::string_view target) {
    std::string dir = paths_.DirFor("freezer");
    if (dir.empty())
      return Error(ENOTSUP, "no freezer cgroup (is the freezer controller mounted?)");
    // FREEZING can linger when a task is in an uninterruptible sleep;
    // writing the target again restarts the attempt, as runc does.
    for (int attempt = 0; attempt < 1000; ++attempt) {
      RETURN_IF_ERROR(WriteControl(dir, "freezer.state", target));
      bool done = WaitFor(
          [&] {
            auto state = ReadControl(dir, "freezer.state");
            return state.ok() && state->starts_with(target);
          },
          10);
      if (done) return Ok();
    }
    (void)WriteControl(dir, "freezer.state", "THAWED");
    return Error(ETIMEDOUT, "freezer.state did not become " + std::string(target));
  }
};

// A new v1 cpuset cgroup has no cpus and no memory nodes, and no task may
// join it until it has: copy the parent's.
Status InheritCpuset(const std::string& dir) {
  std::string parent = dir.substr(0, dir.rfind('/'));
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    ASSIGN_OR_RETURN(std::string mine, ReadControl(dir, file));
    if (mine.find_first_not_of(" \n") != std::string::npos) continue;
    ASSIGN_OR_RETURN(std::string theirs, ReadControl(parent, file));
    RETURN_IF_ERROR(WriteControl(dir, file, theirs));
  }
  return Ok();
}

Status ApplyResourcesV1(const CgroupPaths& paths, const Resources& r) {
  std::string memory = paths.DirFor("memory");
  bool wants_memory = r.memory_limit || r.memory_swap || r.memory_reservation;
  if (wants_memory && memory.empty()) return Error(ENOTSUP, "no memory cgroup on this host");
  if (r.memory_limit) {
    RETURN_IF_ERROR(WriteControl(memory, "memory.limit_in_bytes", std::to_string(*r.memory_limit)));
  }
  if (r.memory_swap) {
    // Without swap accounting (swapaccount=0) the file is missing and swap
    // cannot be limited; like Docker, the memory limit alone then applies.
    if (PathExists(JoinPath(memory, "memory.memsw.limit_in_bytes"))) {
      RETURN_IF_ERROR(
          WriteControl(memory, "memory.memsw.limit_in_bytes", std::to_string(*r.memory_swap)));
    }
  }
  if (r.memory_reservation) {
    RETURN_IF_ERROR(
        WriteControl(memory, "memory.soft_limit_in_bytes", std::to_string(*r.memory_reservation)));
  }
  if (r.pids_limit) {
    std::string pids = paths.DirFor("pids");
    if (pids.empty()) return Error(ENOTSUP, "no pids cgroup on this host");
    RETURN_IF_ERROR(WriteControl(
        pids, "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : std::string("max")));
  }
  if (r.cpu_shares || r.cpu_period || r.cpu_quota) {
    std::string cpu = paths.DirFor("cpu");
    if (cpu.empty()) return Error(ENOTSUP, "no cpu cgroup on this host");
    if (r.cpu_shares && *r.cpu_shares != 0) {
      RETURN_IF_ERROR(WriteControl(cpu, "cpu.shares", std::to_string(*r.cpu_shares)));
    }
    if (r.cpu_period && *r.cpu_period != 0) {
      RETURN_IF_ERROR(WriteControl(cpu, "cpu.cfs_period_us", std::to_string(*r.cpu_period)));
    }
    if (r.cpu_quota && *r.cpu_quota != 0) {
      RETURN_IF_ERROR(WriteControl(cpu, "cpu.cfs_quota_us", std::to_string(*r.cpu_quota)));
    }
  }
  if (!r.devices.empty()) {
    std::string devices = paths.DirFor("devices");
    if (devices.empty()) return Error(ENOTSUP, "no devices cgroup on this host");
    for (const std::string& rule : DeviceCgroupRules(r.devices)) {
      bool allow = rule.starts_with("allow ");
      std::string value = rule.substr(allow ? 6 : 5);
      RETURN_IF_ERROR(WriteControl(devices, allow ? "devices.allow" : "devices.deny", value));
    }
  }
  return Ok();
}

}  // namespace

std::unique_ptr<Cgroup> OpenCgroupV1(CgroupPaths paths) {
  paths.mode = CgroupMode::kV1;
  return std::make_unique<CgroupV1>(std::move(paths));
}

Result<std::unique_ptr<Cgroup>> CreateCgroupV1(const CgroupLayout& layout, std::string_view path,
                                               std::string_view id, const Resources& resources) {
  CgroupPaths paths;
  paths.mode = CgroupMode::kV1;
  for (const CgroupHierarchy& h : layout.v1) {
    ASSIGN_OR_RETURN(std::string resolved, ResolveCgroupPath(path, id, h.own_path, false));
    ASSIGN_OR_RETURN(paths.dirs[h.key], h.Dir(resolved));
  }
  // Every hierarchy, like runc, so that the container's processes are
  // accounted in all of them (blkio, cpuacct, name=systemd too).
  std::vector<std::string> created;
  auto fail = [&](Error err) -> Error {
    for (auto it = created.rbegin(); it != created.rend(); ++it) (void)RemoveCgroupDir(*it);
    return err.Context("cgroup");
  };
  for (const auto& [key, dir] : paths.dirs) {
    std::function<Status(const std::string&)> on_new;
    if (layout.V1For("cpuset") && layout.V1For("cpuset")->key == key) on_new = InheritCpuset;
    auto made = MakeCgroupDirs(dir, on_new);
    if (!made.ok()) return fail(std::move(made).error());
    created.insert(created.end(), made->begin(), made->end());
  }
  Status applied = ApplyResourcesV1(paths, resources);
  if (!applied.ok()) return fail(std::move(applied).error());
  return OpenCgroupV1(std::move(paths));
}

}  // namespace strata::runtime::oci
