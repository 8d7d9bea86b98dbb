// The container's root: getting into it and locking parts of it down. Runs
// in the container's init, in its own mount namespace, in this order:
//
//   PrepareRoot       / gets the chosen propagation (default rprivate, so
//                     nothing the container mounts reaches the host) and
//                     the root directory is bound onto itself, which
//                     pivot_root needs
//   (mounts.h, devices.h)
//   PivotRoot         pivot_root into it; the old root is detached, so the
//                     host's file systems are gone from the container
//   RemountReadonly   root.readonly, and a read-only /dev after its nodes
//   MakeReadonlyPaths linux.readonlyPaths: bound on themselves read-only
//   MaskPaths         linux.maskedPaths: /dev/null bound over files, an
//                     empty read-only tmpfs over directories
// Paths that do not exist are skipped in the last two, as runc does.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace strata::runtime::oci {

Status PrepareRoot(const std::string& rootfs, std::optional<unsigned long> propagation);
Status PivotRoot(const std::string& rootfs);
Status RemountReadonly(const std::string& path);
Status MakeReadonlyPaths(const std::vector<std::string>& paths);
Status MaskPaths(const std::vector<std::string>& paths);

}  // namespace strata::runtime::oci
