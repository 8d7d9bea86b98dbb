// MountInfo: the mount table of a process (/proc/self/mountinfo), and which
// mount a path lies on — found from the text alone, so that a hung
// filesystem is never touched to find out.
//
// Paths are matched lexically (longest mount point that is a prefix, by
// whole components; of mounts stacked on one point, the last). A path that
// goes through a symlink into another mount is attributed to the mount of
// the symlink's own path.
//
// Thread safety: plain values and functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace strata::monitor {

struct MountEntry {
  int mount_id = 0;
  std::string device;       // "major:minor"
  std::string mount_point;  // unescaped
  std::string fstype;       // "ext4", "tmpfs", "fuse.strata"
  std::string source;       // "/dev/sda1", "tmpfs"
  bool read_only = false;   // the mount's own ro option
};

// Parses mountinfo text (proc(5)); malformed lines are skipped.
std::vector<MountEntry> ParseMountInfo(std::string_view text);

// Reads /proc/self/mountinfo.
Result<std::vector<MountEntry>> ReadMountInfo();

// The index in mounts of the mount holding path (absolute, normalized), or
// nullopt when none does.
std::optional<size_t> FindMount(const std::vector<MountEntry>& mounts, std::string_view path);

// The same lookup in O(depth of path): for many paths against a long table.
class MountTable {
 public:
  explicit MountTable(std::vector<MountEntry> mounts);
  const std::vector<MountEntry>& mounts() const { return mounts_; }
  std::optional<size_t> Find(std::string_view path) const;

 private:
  std::vector<MountEntry> mounts_;
  std::unordered_map<std::string, size_t> by_point_;  // the last mount on each point
};

}  // namespace strata::monitor
