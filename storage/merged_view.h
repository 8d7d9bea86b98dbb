// MergedViewBuilder: the merged tree of a chain, computed by applying its
// layers bottom to top, overlayfs-style: a whiteout removes a path and all
// under it from lower layers; an opaque directory hides lower layers'
// children; a directory in several layers takes the top-most metadata (an
// implicit directory keeps the lower one's); anything else replaces.
//
// A plain in-memory core (no RocksDB), so tests drive it directly; the store
// writes its result once per chain (WriteTo), and lookups then are point
// reads of the view, whatever the number of layers.
//
// Refused: an entry whose parent in the merged tree is not a directory (a
// file written "through" a lower symlink).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "storage/entry.h"
#include "storage/index.h"

namespace strata::storage {

class MergedViewBuilder {
 public:
  MergedViewBuilder();

  // Applies the next layer up (layer = its index in the chain, 0 = bottom).
  // Entries must come parents first (index order).
  Status ApplyLayer(uint32_t layer, const std::vector<std::pair<std::string, Entry>>& entries);
  // Same, reading the layer's entries from the index.
  Status ApplyStoredLayer(uint32_t layer, Index& index, const Digest& diff_id);

  // Computes link counts; call once after the last layer.
  void Finish();
  const std::map<std::string, ViewEntry>& entries() const { return entries_; }
  // Bytes of regular file content, each hard-link group once.
  uint64_t content_bytes() const;
  void WriteTo(const Digest& chain_id, Index::Batch* batch) const;

 private:
  Status ApplyEntry(uint32_t layer, const std::string& path, const Entry& entry);
  void EraseBelow(const std::string& dir, uint32_t below_layer);
  std::map<std::string, ViewEntry> entries_;  // by path
};

}  // namespace strata::storage
