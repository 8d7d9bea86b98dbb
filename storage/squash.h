// Squash: a one-layer image made from another image's merged view, without
// copying any file content.
//
// The new layer's entries are the view's (whiteouts and opaque markers have
// nothing left to hide), its objects are the same objects, and its tar-split
// records describe a pax tar of the view (entries in index order, a hard-link
// group as one file and links to it) whose file contents are references to
// those objects. Only headers are new bytes in the index.
//
// DiffID and image ID: the diffID is the sha256 of that tar, computed at
// squash time by streaming the headers and the objects' contents through
// sha256 (reading each object once; nothing is written but index records).
// So the config's rootfs.diff_ids names the real diffID from the start, the
// image ID (sha256 of the config) is final, and `image export` replays the
// records into a tar that hashes to it, byte for byte, as for any imported
// layer. docs/maintenance.md explains why the diffID is not left to export.
//
// History: the original entries are kept, marked empty_layer (they no longer
// match layers), followed by one entry for the squash.
//
// The cost depends on the view's size, not on the number of layers (the
// view is materialized once per chain), so 500 layers squash like one.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "storage/digest.h"

namespace strata::storage {

class Store;

struct SquashResult {
  Digest image_id;
  Digest diff_id;
  std::string tag;
  uint64_t entries = 0;
  uint64_t tar_size = 0;
  uint32_t layers_before = 0;
  double seconds = 0;
};

// tag: NAME[:TAG] of the new image (required).
Result<SquashResult> SquashImage(Store& store, const std::string& ref, const std::string& tag);

}  // namespace strata::storage
