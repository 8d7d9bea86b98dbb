// The disk usage of a directory tree (a container's writable layer), as du
// measures it: allocated blocks (st_blocks * 512), hard links once, one
// filesystem (what another mount shows inside the tree is not counted).
//
// The tree is a container's, which can nest directories deeper than a
// process may hold descriptors open and change while it is walked: the
// walk opens each entry relative to its parent without following symlinks,
// holds at most kMaxTreeDepth directories open, and stops after max_entries
// entries. What it leaves out (deeper levels, entries past the bound, a
// directory it could not open) makes the figure partial.
//
// Thread safety: a plain function.
#pragma once

#include <cstdint>
#include <string>

namespace strata::runtime {

constexpr int kMaxTreeDepth = 64;

struct TreeUsage {
  uint64_t bytes = 0;
  bool partial = false;  // a lower bound: something was left out (above)
};

// du of dir; a missing dir measures 0.
TreeUsage MeasureTree(const std::string& dir, uint64_t max_entries);

}  // namespace strata::runtime
