// VolumeStatus: what a container reads in /run/strata — its volumes' host
// free space, made fresh at every open of the files the FUSE session serves
// (fuse/status_source.h):
//
//   volumes       a header line, then one line per volume (its writable
//                 layer "/" first): mountpoint kind size free avail files
//                 files_free, numbers in bytes and inodes ("-" for a
//                 filesystem that did not answer in time)
//   volumes.json  the same as a JSON array of objects
//
// statvfs runs through a StatfsProber with a deadline, so a hung mount
// never blocks a read.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "fuse/status_source.h"
#include "runtime/container_manager.h"
#include "runtime/statfs_prober.h"
#include "runtime/volume_sites.h"

namespace strata::runtime {

// The files' content for sites and their probes (same order).
std::string VolumesText(const std::vector<VolumeSite>& sites,
                        const std::vector<StatfsResult>& stats);
std::string VolumesJson(const std::vector<VolumeSite>& sites,
                        const std::vector<StatfsResult>& stats);

class VolumeStatus : public fuse::StatusSource {
 public:
  VolumeStatus(ContainerManager& containers, std::string store_root,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(2000))
      : containers_(containers), store_root_(std::move(store_root)), timeout_(timeout) {}

  std::vector<std::string> Containers() override;
  bool HasContainer(const std::string& id) override;
  Result<std::string> Read(const std::string& id, const std::string& file) override;

 private:
  ContainerManager& containers_;
  std::string store_root_;
  std::chrono::milliseconds timeout_;
  StatfsProber prober_;
};

}  // namespace strata::runtime
