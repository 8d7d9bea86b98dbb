// Hybrid hosts: the v1 controllers do the work (limits, freezer, OOM); the
// container also gets a cgroup in the controller-less unified hierarchy,
// which is where systemd and other tools on such hosts track processes.
#include "runtime/oci/cgroup.h"

namespace strata::runtime::oci {
namespace {

using namespace cgroup_internal;

class CgroupHybrid : public Cgroup {
 public:
  explicit CgroupHybrid(CgroupPaths paths) : Cgroup(std::move(paths)) {
    CgroupPaths v1 = paths_;
    auto it = v1.dirs.find("unified");
    if (it != v1.dirs.end()) {
      unified_ = it->second;
      v1.dirs.erase(it);
    }
    v1_ = OpenCgroupV1(std::move(v1));
  }

  CgroupMode mode() const override { return CgroupMode::kHybrid; }

  std::string Cgroup2Dir() const override { return unified_; }

  Status JoinSelf(bool in_cgroup2) override {
    RETURN_IF_ERROR(v1_->JoinSelf(false));
    if (unified_.empty() || in_cgroup2) return Ok();
    return WriteControl(unified_, "cgroup.procs", "0");
  }
  Status Freeze() override { return v1_->Freeze(); }
  Status Thaw() override { return v1_->Thaw(); }
  Result<bool> IsFrozen() override { return v1_->IsFrozen(); }
  Result<std::vector<pid_t>> Pids() override { return v1_->Pids(); }
  Result<uint64_t> OomKills() override { return v1_->OomKills(); }
  bool Exists() override { return v1_->Exists(); }

  Status Destroy() override {
    Status st = v1_->Destroy();
    if (!unified_.empty()) {
      Status u = RemoveCgroupDir(unified_);
      if (st.ok()) st = std::move(u);
    }
    return st;
  }

  // Like runc on hybrid hosts: the v1 hierarchies only.
  std::vector<CgroupMountSource> MountSources(bool cgroup_namespace) const override {
    return v1_->MountSources(cgroup_namespace);
  }

 private:
  std::unique_ptr<Cgroup> v1_;
  std::string unified_;
};

}  // namespace

std::unique_ptr<Cgroup> OpenCgroupHybrid(CgroupPaths paths) {
  paths.mode = CgroupMode::kHybrid;
  return std::make_unique<CgroupHybrid>(std::move(paths));
}

Result<std::unique_ptr<Cgroup>> CreateCgroupHybrid(const CgroupLayout& layout,
                                                   std::string_view path, std::string_view id,
                                                   const Resources& resources) {
  ASSIGN_OR_RETURN(std::unique_ptr<Cgroup> v1, CreateCgroupV1(layout, path, id, resources));
  CgroupPaths paths = v1->paths();
  const CgroupHierarchy& h = layout.unified;
  auto dir = [&]() -> Result<std::string> {
    ASSIGN_OR_RETURN(std::string resolved, ResolveCgroupPath(path, id, h.own_path, true));
    ASSIGN_OR_RETURN(std::string d, h.Dir(resolved));
    RETURN_IF_ERROR(MakeCgroupDirs(d));
    return d;
  }();
  if (!dir.ok()) {
    (void)v1->Destroy();
    return std::move(dir).error().Context("cgroup (unified)");
  }
  paths.dirs["unified"] = *dir;
  return OpenCgroupHybrid(std::move(paths));
}

}  // namespace strata::runtime::oci
