// The options of an OCI mount ("ro", "nosuid", "rbind", "rprivate",
// "mode=755", ...) translated into mount(2) flags and data. Pure; no I/O.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace strata::runtime::oci {

struct MountOptions {
  unsigned long flags = 0;  // MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_RELATIME, ...
  unsigned long clear = 0;  // flags the options turn off ("rw", "suid", "dev", ...)
  bool bind = false;        // "bind" or "rbind"
  bool recursive = false;   // "rbind"
  // MS_PRIVATE, MS_REC|MS_SLAVE, ...: applied one by one after the mount.
  std::vector<unsigned long> propagation;
  // Everything else, comma-joined, for the filesystem ("mode=755,size=65536k").
  std::string data;
};

// Options are applied left to right, so "ro,rw" is read-write. Never fails
// today (unknown words go to data, as runc does); Result leaves room for
// options that must be refused.
Result<MountOptions> ParseMountOptions(const std::vector<std::string>& options);

// The propagation flags of a rootfsPropagation value ("rprivate" ->
// MS_REC|MS_PRIVATE); EINVAL for anything else.
Result<unsigned long> ParsePropagation(const std::string& name);

}  // namespace strata::runtime::oci
