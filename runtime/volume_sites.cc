#include "runtime/volume_sites.h"

#include <map>
#include <set>

namespace strata::runtime {

namespace {

std::string LabelOr(const std::map<std::string, std::string>& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? "" : it->second;
}

// A named volume's data directory (VolumeStore's layout).
std::string NamedVolumeData(const std::string& store_root, const std::string& name) {
  return store_root + "/volumes/" + name + "/data";
}

}  // namespace

std::string_view VolumeKindName(VolumeKind kind) {
  switch (kind) {
    case VolumeKind::kBind:
      return "bind";
    case VolumeKind::kNamed:
      return "named";
    case VolumeKind::kTmpfs:
      return "tmpfs";
    case VolumeKind::kUpper:
      return "upper";
    case VolumeKind::kStore:
      return "store";
  }
  return "unknown";
}

std::vector<VolumeSite> ContainerVolumeSites(const ContainerRecord& record,
                                             const std::string& store_root) {
  const ContainerConfig& c = record.config;
  std::string low = LabelOr(c.labels, kLowSpaceLabel);
  std::vector<VolumeSite> sites;
  VolumeSite upper;
  upper.kind = VolumeKind::kUpper;
  upper.volume = "upper";
  upper.container_id = c.id;
  upper.container = c.name;
  upper.host_path = store_root + "/containers/" + c.id + "/upper";
  upper.mountpoint = "/";
  upper.low_space = low;
  sites.push_back(std::move(upper));
  bool running = record.state.pid > 0 && (record.state.status == ContainerStatus::kRunning ||
                                          record.state.status == ContainerStatus::kPaused);
  for (const Mount& m : c.mounts) {
    VolumeSite s;
    s.container_id = c.id;
    s.container = c.name;
    s.mountpoint = m.destination;
    s.read_only = m.read_only;
    s.low_space = low;
    switch (m.type) {
      case Mount::Type::kBind:
        s.kind = VolumeKind::kBind;
        s.volume = m.source;
        s.host_path = m.source;
        break;
      case Mount::Type::kVolume:
        s.kind = VolumeKind::kNamed;
        s.volume = m.source;
        s.host_path = NamedVolumeData(store_root, m.source);
        break;
      case Mount::Type::kTmpfs:
        if (!running) continue;
        s.kind = VolumeKind::kTmpfs;
        s.volume = m.destination;
        s.host_path = "/proc/" + std::to_string(record.state.pid) + "/root" + m.destination;
        break;
    }
    sites.push_back(std::move(s));
  }
  return sites;
}

Result<std::vector<VolumeSite>> AllVolumeSites(ContainerManager& containers,
                                               const std::string& store_root) {
  std::vector<VolumeSite> sites;
  VolumeSite store;
  store.kind = VolumeKind::kStore;
  store.volume = "store";
  store.host_path = store_root;
  sites.push_back(std::move(store));
  ASSIGN_OR_RETURN(auto volumes, containers.ListVolumes());
  std::map<std::string, std::string> volume_low;
  for (const auto& v : volumes) {
    std::string low = LabelOr(v.info.labels, kLowSpaceLabel);
    if (!low.empty()) volume_low[v.info.name] = low;
  }
  std::set<std::string> used;
  ASSIGN_OR_RETURN(auto records, containers.List(true));
  for (const auto& r : records) {
    for (auto& s : ContainerVolumeSites(r, store_root)) {
      if (s.kind == VolumeKind::kNamed) {
        used.insert(s.volume);
        // The volume's own threshold comes before its container's.
        if (auto it = volume_low.find(s.volume); it != volume_low.end()) s.low_space = it->second;
      }
      sites.push_back(std::move(s));
    }
  }
  for (const auto& v : volumes) {
    if (used.count(v.info.name) != 0) continue;
    VolumeSite s;
    s.kind = VolumeKind::kNamed;
    s.volume = v.info.name;
    s.host_path = v.info.mountpoint;
    s.low_space = LabelOr(v.info.labels, kLowSpaceLabel);
    sites.push_back(std::move(s));
  }
  return sites;
}

}  // namespace strata::runtime
