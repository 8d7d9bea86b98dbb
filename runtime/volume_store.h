// VolumeStore: named volumes, managed by strata under <root>/volumes:
//
//   volumes/<name>/data        what containers see at the mount point
//   volumes/<name>/meta.json   {"name", "created", "labels"}
//
// A volume is created by `strata volume create NAME` or on first use by a
// container (`-v NAME:/path`), and is kept after the container is removed.
// Whether a volume is in use is the container manager's knowledge: it
// checks before calling Remove (and holds its lock across both).
//
// Thread safety: all methods may be called concurrently; Create of one name
// from two threads gives one volume.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"

namespace strata::runtime {

struct VolumeInfo {
  std::string name;
  std::string mountpoint;  // the data directory on the host
  std::string created;     // RFC 3339
  std::map<std::string, std::string> labels;
};

class VolumeStore {
 public:
  // dir: <root>/volumes (created if missing).
  explicit VolumeStore(std::string dir);

  // Creates the volume, or returns the existing one (created = false).
  Result<VolumeInfo> Create(const std::string& name,
                            const std::map<std::string, std::string>& labels = {},
                            bool* created = nullptr);
  Result<VolumeInfo> Inspect(const std::string& name) const;
  Result<std::vector<VolumeInfo>> List() const;
  // Removes the volume and its data (ENOENT if there is none).
  Status Remove(const std::string& name);

 private:
  std::string dir_;
  std::mutex mu_;  // serializes Create and Remove
};

}  // namespace strata::runtime
