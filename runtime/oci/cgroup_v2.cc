// cgroup v2: one unified hierarchy; controllers are enabled top-down in each
// ancestor's cgroup.subtree_control; the freezer is cgroup.freeze.
#include <algorithm>

#include "common/fs.h"
#include "runtime/oci/cgroup.h"
#include "runtime/oci/device_filter.h"

namespace strata::runtime::oci {
namespace {

using namespace cgroup_internal;

class CgroupV2 : public Cgroup {
 public:
  explicit CgroupV2(CgroupPaths paths) : Cgroup(std::move(paths)) {}

  CgroupMode mode() const override { return CgroupMode::kV2; }

  std::string Cgroup2Dir() const override { return dir(); }

  Status JoinSelf(bool in_cgroup2) override {
    return in_cgroup2 ? Ok() : WriteControl(dir(), "cgroup.procs", "0");
  }

  Status Freeze() override { return SetFrozen(true); }
  Status Thaw() override { return SetFrozen(false); }

  Result<bool> IsFrozen() override {
    ASSIGN_OR_RETURN(std::string events, ReadControl(dir(), "cgroup.events"));
    return FlatKeyedValue(events, "frozen").value_or(0) == 1;
  }

  Result<std::vector<pid_t>> Pids() override { return ReadProcs(dir()); }

  Result<uint64_t> OomKills() override {
    ASSIGN_OR_RETURN(std::string events, ReadControl(dir(), "memory.events"));
    return FlatKeyedValue(events, "oom_kill").value_or(0);
  }

  bool Exists() override { return PathExists(dir()); }

  Status Destroy() override { return RemoveCgroupDir(dir()); }

  std::vector<CgroupMountSource> MountSources(bool) const override {
    return {{"", dir(), "cgroup2", ""}};
  }

 private:
  std::string dir() const { return paths_.DirFor("unified"); }

  Status SetFrozen(bool frozen) {
    RETURN_IF_ERROR(WriteControl(dir(), "cgroup.freeze", frozen ? "1" : "0"));
    bool done = WaitFor(
        [&] {
          auto events = ReadControl(dir(), "cgroup.events");
          return events.ok() && FlatKeyedValue(*events, "frozen").value_or(2) == (frozen ? 1u : 0u);
        },
        5000);
    if (done) return Ok();
    if (frozen) (void)WriteControl(dir(), "cgroup.freeze", "0");
    return Error(ETIMEDOUT, std::string("cgroup did not become ") + (frozen ? "frozen" : "thawed"));
  }
};

bool ListHas(std::string_view list, std::string_view word) {
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find_first_of(" \n", pos);
    if (end == std::string_view::npos) end = list.size();
    if (list.substr(pos, end - pos) == word) return true;
    pos = end + 1;
  }
  return false;
}

// Enables the controllers the container uses in every cgroup from the
// hierarchy's root down to the leaf's parent. A controller the limits need
// must be enabled; the others are best effort (for statistics).
Status EnableControllers(const CgroupHierarchy& h, const std::string& leaf, const Resources& r) {
  struct Wanted {
    const char* name;
    bool required;
  };
  const Wanted wanted[] = {
      {"memory", r.memory_limit || r.memory_swap || r.memory_reservation},
      {"pids", r.pids_limit.has_value()},
      {"cpu", r.cpu_shares || r.cpu_quota || r.cpu_period},
  };
  std::vector<std::string> chain;
  for (std::string at = leaf; at.size() > h.mountpoint.size();) {
    at = at.substr(0, at.rfind('/'));
    if (at.size() < h.mountpoint.size()) break;
    chain.insert(chain.begin(), at);
  }
  for (const std::string& dir : chain) {
    ASSIGN_OR_RETURN(std::string available, ReadControl(dir, "cgroup.controllers"));
    ASSIGN_OR_RETURN(std::string enabled, ReadControl(dir, "cgroup.subtree_control"));
    for (const Wanted& w : wanted) {
      if (ListHas(enabled, w.name)) continue;
      if (!ListHas(available, w.name)) {
        if (w.required) {
          return Error(ENOTSUP,
                       std::string("the ") + w.name + " controller is not available in " + dir);
        }
        continue;
      }
      Status st = WriteControl(dir, "cgroup.subtree_control", std::string("+") + w.name);
      if (!st.ok() && w.required) return st;
    }
  }
  return Ok();
}

Status ApplyResourcesV2(const std::string& dir, const Resources& r) {
  if (r.memory_limit) {
    RETURN_IF_ERROR(WriteControl(dir, "memory.max",
                                 *r.memory_limit < 0 ? "max" : std::to_string(*r.memory_limit)));
  }
  if (r.memory_swap) {
    ASSIGN_OR_RETURN(std::string swap, MemorySwapMaxV2(r.memory_limit.value_or(0), *r.memory_swap));
    // Without swap accounting the file is missing; the memory limit applies alone.
    if (PathExists(JoinPath(dir, "memory.swap.max"))) {
      RETURN_IF_ERROR(WriteControl(dir, "memory.swap.max", swap));
    }
  }
  if (r.memory_reservation) {
    RETURN_IF_ERROR(
        WriteControl(dir, "memory.low",
                     *r.memory_reservation < 0 ? "max" : std::to_string(*r.memory_reservation)));
  }
  if (r.pids_limit) {
    RETURN_IF_ERROR(WriteControl(
        dir, "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : std::string("max")));
  }
  if (r.cpu_shares && *r.cpu_shares != 0) {
    RETURN_IF_ERROR(
        WriteControl(dir, "cpu.weight", std::to_string(CpuWeightFromShares(*r.cpu_shares))));
  }
  if (r.cpu_quota || r.cpu_period) {
    RETURN_IF_ERROR(WriteControl(dir, "cpu.max", CpuMaxV2(r.cpu_quota, r.cpu_period)));
  }
  if (!r.devices.empty()) {
    RETURN_IF_ERROR(AttachDeviceFilter(dir, EffectiveDeviceRules(r.devices)));
  }
  return Ok();
}

}  // namespace

uint64_t CpuWeightFromShares(uint64_t shares) {
  if (shares == 0) return 100;
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

Result<std::string> MemorySwapMaxV2(int64_t limit, int64_t swap) {
  if (swap == -1) return std::string("max");
  if (limit <= 0) {
    return Error::Invalid("a swap limit needs a memory limit");
  }
  if (swap < limit) return Error::Invalid("swap (memory + swap) is below the memory limit");
  return std::to_string(swap - limit);
}

std::string CpuMaxV2(std::optional<int64_t> quota, std::optional<uint64_t> period) {
  std::string q = quota && *quota > 0 ? std::to_string(*quota) : "max";
  uint64_t p = period && *period > 0 ? *period : 100000;
  return q + " " + std::to_string(p);
}

std::unique_ptr<Cgroup> OpenCgroupV2(CgroupPaths paths) {
  paths.mode = CgroupMode::kV2;
  return std::make_unique<CgroupV2>(std::move(paths));
}

Result<std::unique_ptr<Cgroup>> CreateCgroupV2(const CgroupLayout& layout, std::string_view path,
                                               std::string_view id, const Resources& resources) {
  const CgroupHierarchy& h = layout.unified;
  ASSIGN_OR_RETURN(std::string resolved, ResolveCgroupPath(path, id, h.own_path, true));
  ASSIGN_OR_RETURN(std::string dir, h.Dir(resolved));
  ASSIGN_OR_RETURN(std::vector<std::string> created, MakeCgroupDirs(dir));
  Status st = EnableControllers(h, dir, resources);
  if (st.ok()) st = ApplyResourcesV2(dir, resources);
  if (!st.ok()) {
    for (auto it = created.rbegin(); it != created.rend(); ++it) (void)RemoveCgroupDir(*it);
    return std::move(st).error().Context("cgroup");
  }
  CgroupPaths paths;
  paths.dirs["unified"] = dir;
  return OpenCgroupV2(std::move(paths));
}

}  // namespace strata::runtime::oci
