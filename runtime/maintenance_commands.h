// The `strata` maintenance commands: gc, fsck, image prune, image squash,
// and the containers part of `du -v`.
//
// gc and fsck work two ways: through stratad (online), or, given a store
// root (`--root DIR` on the command line; fsck --repair always), on the
// store opened directly with stratad stopped, by the strata-store helper
// (store_helper.h). A store that stratad holds is refused in one line that
// says so.
//
// fsck's exit status (set in *exit_code, the command itself succeeds):
//   0  clean             3  problems found and all repaired
//   4  damaged: problems remain (without --repair, any problem)
// 1 means fsck could not run (as any failed command).
#pragma once

#include <string>

#include "common/result.h"
#include "runtime/image_commands.h"

namespace strata::runtime {

inline constexpr int kFsckRepaired = 3;
inline constexpr int kFsckDamaged = 4;

struct GcArgs {
  bool dry_run = false;
  std::string root;  // non-empty: offline, on this root
  OutputFormat format = OutputFormat::kTable;
};
Status GarbageCollect(CommandContext& ctx, const GcArgs& args);

struct FsckArgs {
  bool repair = false;
  std::string root;  // non-empty: offline, on this root
  unsigned threads = 0;
  OutputFormat format = OutputFormat::kTable;
};
Status Fsck(CommandContext& ctx, const FsckArgs& args, int* exit_code);

Status ImagePrune(CommandContext& ctx, bool dry_run, OutputFormat format);
Status ImageSquash(CommandContext& ctx, const std::string& ref, const std::string& tag,
                   OutputFormat format);

// `du -v`: each container's writable layer and what GC would reclaim.
Status PrintContainerUsage(CommandContext& ctx);

}  // namespace strata::runtime
