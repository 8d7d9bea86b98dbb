// StatusSource: the content of the per-container status files the session
// serves, read-only, under mnt/status/<container-id>/ (each container sees
// its own directory at /run/strata). fuse/ defines the interface; the
// runtime, which knows containers, implements it.
//
// Files are generated when opened and served with direct_io, so every open
// (every `cat`) sees fresh content and nothing is cached by the kernel.
//
// Thread safety: called from the session's threads, concurrently.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace strata::fuse {

class StatusSource {
 public:
  // The files of every container's directory.
  static inline const std::vector<std::string> kFiles = {"volumes", "volumes.json"};

  virtual ~StatusSource() = default;
  // The containers that have a status directory (their IDs).
  virtual std::vector<std::string> Containers() = 0;
  // Whether id has one.
  virtual bool HasContainer(const std::string& id) = 0;
  // The content of file (one of kFiles) for container id; ENOENT for an
  // unknown container.
  virtual Result<std::string> Read(const std::string& id, const std::string& file) = 0;
};

}  // namespace strata::fuse
