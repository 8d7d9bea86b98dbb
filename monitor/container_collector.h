// ContainerCollector: the strata_container_* families — each container's
// state (one series per state, 0 or 1), restarts by policy, start time,
// last exit code, the disk usage of its writable layer (from UpperUsage's
// cache), and, while it runs, the memory and the number of processes of
// its cgroup.
//
// Cgroups are read where strata-runtime and runc put them (cgroupsPath
// /strata/<id>): /sys/fs/cgroup/memory/strata/<id> and
// /sys/fs/cgroup/pids/strata/<id> on v1 and hybrid hosts,
// /sys/fs/cgroup/strata/<id> on v2 hosts.
//
// Thread safety: Collect may run on several scrape threads at once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "monitor/upper_usage.h"
#include "runtime/container_manager.h"

namespace strata::monitor {

// "2024-05-01T12:00:00.123456789Z" -> unix seconds; nullopt if malformed.
std::optional<double> ParseRfc3339(const std::string& text);

// The container's cgroup memory usage in bytes and process count, if found
// under cgroup_root (normally /sys/fs/cgroup).
std::optional<uint64_t> CgroupMemoryBytes(const std::string& cgroup_root, const std::string& id);
std::optional<uint64_t> CgroupPids(const std::string& cgroup_root, const std::string& id);

class ContainerCollector : public prometheus::Collectable {
 public:
  ContainerCollector(runtime::ContainerManager& containers, std::string store_root,
                     UpperUsage& uppers, std::string cgroup_root = "/sys/fs/cgroup")
      : containers_(containers),
        store_root_(std::move(store_root)),
        uppers_(uppers),
        cgroup_root_(std::move(cgroup_root)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  runtime::ContainerManager& containers_;
  std::string store_root_;
  UpperUsage& uppers_;
  std::string cgroup_root_;
};

}  // namespace strata::monitor
