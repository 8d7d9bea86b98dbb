// DirListings: the listings of the directories being read, for a session
// without opendir.
//
// The session answers the first opendir ENOSYS, after which the kernel
// sends no opendir or releasedir at all (two round trips per directory of
// a walk) and keeps every directory's listing in its own cache, dropped
// when the directory changes through the mount (or the session says so).
// A readdir then names only the directory and an offset: a listing is made
// at offset 0 and kept for the readdirs that continue it, which find it by
// the generation their offsets carry (generation << 32 | next index), so
// a listing made meanwhile by another reader never shifts theirs.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "fuse/union_root.h"

namespace strata::fuse {

class DirListings {
 public:
  using Entries = std::vector<DirEntry>;
  struct Listing {
    uint32_t generation = 0;
    std::shared_ptr<const Entries> entries;
  };

  // Listings, and their entries, kept at most: readers that stop halfway
  // leave theirs, and a container can make huge directories.
  static constexpr size_t kMaxKept = 256;
  static constexpr size_t kMaxKeptEntries = 1 << 20;

  // The offset after entry index of a listing: where the next read starts.
  static uint64_t OffsetAfter(uint32_t generation, size_t index) {
    return (static_cast<uint64_t>(generation) << 32) | static_cast<uint64_t>(index + 1);
  }
  static uint32_t Generation(uint64_t offset) { return static_cast<uint32_t>(offset >> 32); }
  static size_t NextIndex(uint64_t offset) { return static_cast<size_t>(offset & 0xffffffffu); }

  // The kept listing of directory ino that offset continues.
  std::optional<Listing> Find(uint64_t ino, uint64_t offset) const;
  // Keeps a new listing of ino.
  Listing Add(uint64_t ino, Entries entries);
  // A reader reached the end of a listing.
  void Drop(uint64_t ino, uint32_t generation);
  size_t kept() const;

 private:
  using Key = std::pair<uint64_t, uint32_t>;  // (ino, generation)
  mutable std::mutex mu_;
  uint32_t next_generation_ = 1;  // guarded; below 2^31, so offsets stay positive
  struct Kept {
    std::shared_ptr<const Entries> entries;
    std::list<Key>::iterator in_order;
  };
  std::map<Key, Kept> kept_;  // guarded
  std::list<Key> order_;      // guarded; the kept keys, oldest first
  size_t kept_entries_ = 0;   // guarded; entries of the kept listings
};

}  // namespace strata::fuse
