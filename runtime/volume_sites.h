// VolumeSites: where the storage behind containers is on the host — each
// container's writable layer, its bind, named and tmpfs volumes, named
// volumes no container uses, and the store itself — for what reports their
// free space (the monitor's volume metrics, /run/strata/volumes).
//
// A tmpfs volume exists only in the container's mount namespace, so it is
// reached through /proc/<init pid>/root (which StatfsProber resolves inside
// that root: the container controls the symlinks on the way) and listed
// only while the container runs. Everything else is listed whatever the
// container's state.
//
// Thread safety: plain functions; AllVolumeSites calls the manager, which
// may be used concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/container_manager.h"
#include "runtime/container_record.h"

namespace strata::runtime {

enum class VolumeKind { kBind, kNamed, kTmpfs, kUpper, kStore };
std::string_view VolumeKindName(VolumeKind kind);  // "bind", "named", ...

// The label that overrides the low-space threshold (percent available) of
// a named volume (a volume label) or of a container's volumes and upper
// (a container label).
inline constexpr std::string_view kLowSpaceLabel = "strata.low-space";

struct VolumeSite {
  VolumeKind kind = VolumeKind::kBind;
  // named: its name; bind: the host path; tmpfs: the destination; upper:
  // "upper"; store: "store".
  std::string volume;
  std::string container_id;  // empty for the store and unused named volumes
  std::string container;     // the container's name
  std::string host_path;     // what statvfs is asked about, on the host
  std::string mountpoint;    // in the container ("/" for the upper); empty if none
  bool read_only = false;    // mounted read-only in the container
  std::string low_space;     // the label's value, if set (percent)
};

// The sites of one container (its upper first, then its mounts in order).
std::vector<VolumeSite> ContainerVolumeSites(const ContainerRecord& record,
                                             const std::string& store_root);

// Every site: the store, each container's, and each named volume not used
// by any container.
Result<std::vector<VolumeSite>> AllVolumeSites(ContainerManager& containers,
                                               const std::string& store_root);

}  // namespace strata::runtime
