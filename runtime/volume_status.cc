#include "runtime/volume_status.h"

#include <boost/json.hpp>

namespace strata::runtime {

namespace {

struct Figures {
  uint64_t size = 0, free = 0, avail = 0, files = 0, files_free = 0;
};

Figures FiguresOf(const struct statvfs& st) {
  uint64_t frsize = st.f_frsize ? st.f_frsize : st.f_bsize;
  return {st.f_blocks * frsize, st.f_bfree * frsize, st.f_bavail * frsize, st.f_files, st.f_ffree};
}

}  // namespace

std::string VolumesText(const std::vector<VolumeSite>& sites,
                        const std::vector<StatfsResult>& stats) {
  std::string out = "# mountpoint kind size_bytes free_bytes avail_bytes files files_free\n";
  for (size_t i = 0; i < sites.size(); ++i) {
    out += sites[i].mountpoint + " " + std::string(VolumeKindName(sites[i].kind));
    if (i < stats.size() && stats[i].ok()) {
      Figures f = FiguresOf(stats[i].st);
      for (uint64_t v : {f.size, f.free, f.avail, f.files, f.files_free}) {
        out += " " + std::to_string(v);
      }
    } else {
      out += " - - - - -";
    }
    out += "\n";
  }
  return out;
}

std::string VolumesJson(const std::vector<VolumeSite>& sites,
                        const std::vector<StatfsResult>& stats) {
  boost::json::array a;
  for (size_t i = 0; i < sites.size(); ++i) {
    const VolumeSite& s = sites[i];
    boost::json::object o{{"mountpoint", s.mountpoint},
                          {"kind", VolumeKindName(s.kind)},
                          {"volume", s.volume},
                          {"read_only", s.read_only}};
    bool up = i < stats.size() && stats[i].ok();
    o["up"] = up;
    if (up) {
      Figures f = FiguresOf(stats[i].st);
      o["size_bytes"] = f.size;
      o["free_bytes"] = f.free;
      o["avail_bytes"] = f.avail;
      o["files"] = f.files;
      o["files_free"] = f.files_free;
    }
    a.push_back(std::move(o));
  }
  return boost::json::serialize(a) + "\n";
}

std::vector<std::string> VolumeStatus::Containers() {
  std::vector<std::string> ids;
  auto records = containers_.List(true);
  if (records.ok()) {
    for (const auto& r : *records) ids.push_back(r.config.id);
  }
  return ids;
}

bool VolumeStatus::HasContainer(const std::string& id) {
  // Full IDs only: the directory is named by the ID the bundle uses.
  auto r = containers_.Inspect(id);
  return r.ok() && r->config.id == id;
}

Result<std::string> VolumeStatus::Read(const std::string& id, const std::string& file) {
  ASSIGN_OR_RETURN(ContainerRecord record, containers_.Inspect(id));
  if (record.config.id != id) return Error::NotFound("no container " + id);
  std::vector<VolumeSite> sites = ContainerVolumeSites(record, store_root_);
  std::vector<std::string> paths;
  for (const auto& s : sites) paths.push_back(s.host_path);
  std::vector<StatfsResult> stats = prober_.Probe(paths, timeout_);
  return file == "volumes.json" ? VolumesJson(sites, stats) : VolumesText(sites, stats);
}

}  // namespace strata::runtime
