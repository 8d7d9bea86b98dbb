#include "monitor/volume_collector.h"

#include <cmath>
#include <map>

#include "common/log.h"
#include "monitor/family.h"
#include "monitor/mount_info.h"

namespace strata::monitor {

namespace {

// Where a site is: the filesystem key (one statvfs per key) and labels.
struct Placement {
  std::string key;
  std::string probe_path;
  std::string device;
  std::string fstype;
  bool mount_read_only = false;
};

Placement Place(const runtime::VolumeSite& site, const MountTable& table) {
  Placement p;
  if (site.kind == runtime::VolumeKind::kTmpfs) {
    // In the container's mount namespace, not in ours: probed through
    // /proc/<pid>/root, a filesystem of its own.
    p.key = site.host_path;
    p.probe_path = site.host_path;
    p.device = "tmpfs";
    p.fstype = "tmpfs";
    return p;
  }
  auto i = table.Find(site.host_path);
  if (!i) {
    p.key = "path:" + site.host_path;
    p.probe_path = site.host_path;
    return p;
  }
  const MountEntry& m = table.mounts()[*i];
  // By device: bind mounts of one filesystem are probed once.
  p.key = "dev:" + m.device;
  p.probe_path = m.mount_point;
  p.device = m.source;
  p.fstype = m.fstype;
  p.mount_read_only = m.read_only;
  return p;
}

std::string Describe(const runtime::VolumeSite& s) {
  std::string d = "volume " + s.volume + " (" + std::string(runtime::VolumeKindName(s.kind));
  if (!s.container.empty()) d += ", container " + s.container;
  return d + ") at " + s.host_path;
}

std::string Percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v);
  return buf;
}

}  // namespace

std::vector<prometheus::MetricFamily> VolumeCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  auto sites = options_.sites();
  if (!sites.ok()) {
    LogWarning("metrics: listing volumes: " + sites.error().message());
    return out;
  }
  std::vector<MountEntry> mounts;
  if (auto m = ReadMountInfo(); m.ok()) {
    mounts = std::move(*m);
  } else {
    LogWarning("metrics: " + m.error().message());
  }

  MountTable table(std::move(mounts));
  std::vector<Placement> places;
  places.reserve(sites->size());
  std::map<std::string, size_t> probe_of;  // key -> index in paths
  std::vector<std::string> paths;
  for (const auto& site : *sites) {
    places.push_back(Place(site, table));
    auto [it, inserted] = probe_of.emplace(places.back().key, paths.size());
    if (inserted) paths.push_back(places.back().probe_path);
  }
  std::vector<runtime::StatfsResult> results = options_.prober->Probe(paths, options_.timeout);

  auto up = Family::Gauge("strata_volume_up",
                          "Whether the filesystem behind the volume answered statfs in time");
  auto size = Family::Gauge("strata_volume_size_bytes", "Size of the filesystem behind the volume");
  auto free = Family::Gauge("strata_volume_free_bytes",
                            "Free bytes of the filesystem behind the volume (including reserved)");
  auto avail =
      Family::Gauge("strata_volume_avail_bytes",
                    "Bytes of the filesystem behind the volume available to unprivileged users");
  auto files = Family::Gauge("strata_volume_files", "Inodes of the filesystem behind the volume");
  auto files_free =
      Family::Gauge("strata_volume_files_free", "Free inodes of the filesystem behind the volume");
  auto readonly = Family::Gauge("strata_volume_readonly",
                                "Whether the volume is read-only (its mount or its filesystem)");
  auto low =
      Family::Gauge("strata_volume_low",
                    "Whether the volume's available bytes are below its low-space threshold");
  auto threshold = Family::Gauge("strata_volume_low_space_threshold_ratio",
                                 "The volume's low-space threshold (available / size)");

  for (size_t i = 0; i < sites->size(); ++i) {
    const runtime::VolumeSite& s = (*sites)[i];
    const Placement& p = places[i];
    const runtime::StatfsResult& r = results[probe_of.at(p.key)];
    Labels labels = {
        {"volume", s.volume},         {"kind", std::string(runtime::VolumeKindName(s.kind))},
        {"container", s.container},   {"host_path", s.host_path},
        {"mountpoint", s.mountpoint}, {"device", p.device},
        {"fstype", p.fstype}};
    up.Add(labels, r.ok() ? 1 : 0);
    if (!r.ok()) continue;
    double frsize = static_cast<double>(r.st.f_frsize ? r.st.f_frsize : r.st.f_bsize);
    uint64_t size_bytes = static_cast<uint64_t>(static_cast<double>(r.st.f_blocks) * frsize);
    uint64_t avail_bytes = static_cast<uint64_t>(static_cast<double>(r.st.f_bavail) * frsize);
    size.Add(labels, static_cast<double>(size_bytes));
    free.Add(labels, static_cast<double>(r.st.f_bfree) * frsize);
    avail.Add(labels, static_cast<double>(avail_bytes));
    files.Add(labels, static_cast<double>(r.st.f_files));
    files_free.Add(labels, static_cast<double>(r.st.f_ffree));
    bool ro = s.read_only || p.mount_read_only || (r.st.f_flag & ST_RDONLY) != 0;
    readonly.Add(labels, ro ? 1 : 0);

    double percent = options_.low_space_percent;
    if (!s.low_space.empty()) {
      if (auto v = ParsePercent(s.low_space)) percent = *v;
    }
    threshold.Add(labels, percent / 100.0);
    bool is_low = IsLow(avail_bytes, size_bytes, percent);
    low.Add(labels, is_low ? 1 : 0);
    std::string key = std::string(runtime::VolumeKindName(s.kind)) + "\n" + s.volume + "\n" +
                      s.container_id + "\n" + s.mountpoint;
    double avail_percent =
        size_bytes ? 100.0 * static_cast<double>(avail_bytes) / static_cast<double>(size_bytes) : 0;
    switch (low_.Update(key, is_low)) {
      case LowSpaceTracker::Change::kWentLow:
        LogWarning(Describe(s) + " is low on space: " + Percent(avail_percent) +
                   " available, below " + Percent(percent));
        break;
      case LowSpaceTracker::Change::kRecovered:
        LogInfo(Describe(s) + " has space again: " + Percent(avail_percent) +
                " available, at or above " + Percent(percent));
        break;
      case LowSpaceTracker::Change::kNone:
        break;
    }
  }
  low_.Sweep();

  auto hung =
      Family::Gauge("strata_volume_hung_probes",
                    "statfs calls still stuck from earlier scrapes (one per hung filesystem)");
  hung.Add({}, static_cast<double>(options_.prober->hung()));

  for (auto* f :
       {&up, &size, &free, &avail, &files, &files_free, &readonly, &low, &threshold, &hung}) {
    f->MoveTo(out);
  }
  return out;
}

}  // namespace strata::monitor
