// Entry: one path in a layer, and the records the index keeps about objects,
// layers, chains, images, tags and leases. These are the values of the
// index; their byte encodings live in schema.cc, next to the key encodings.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "storage/digest.h"

namespace strata::storage {

enum class EntryType : uint8_t {
  kRegular = 0,
  kDirectory = 1,
  kSymlink = 2,
  kCharDevice = 3,
  kBlockDevice = 4,
  kFifo = 5,
  kSocket = 6,
  // A `.wh.NAME` marker: NAME is deleted from the layers below.
  kWhiteout = 7,
};

const char* EntryTypeName(EntryType type);

struct Entry {
  EntryType type = EntryType::kRegular;
  uint32_t mode = 0;  // permission bits incl. setuid/setgid/sticky (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;  // content bytes of a regular file; 0 otherwise
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  std::string link_target;  // symlink target
  // For a hard link: the path (in the same layer) of the first name of the
  // file; the entry carries that file's metadata and object. Empty otherwise.
  std::string hardlink_to;
  std::vector<std::pair<std::string, std::string>> xattrs;  // sorted by name
  ObjectId object;  // content; meaningful for kRegular with size > 0
  // Directory only: entries of lower layers under it are hidden
  // (`.wh..wh..opq` in the tar).
  bool opaque = false;
  // Directory only: not in the tar itself, made because a child needed a
  // parent; the merged view keeps a lower layer's metadata for it.
  bool implicit = false;

  bool has_object() const { return type == EntryType::kRegular && size > 0; }
  // The path naming this entry's hard-link group: its first name.
  const std::string& HardlinkGroup(const std::string& path) const {
    return hardlink_to.empty() ? path : hardlink_to;
  }
  friend bool operator==(const Entry&, const Entry&) = default;
};

// An entry of a chain's merged view: the entry plus the index (0 = bottom)
// of the layer it comes from. A hard-link group is identified by (layer,
// HardlinkGroup()): names of one file share it, and groups of different
// layers stay distinct.
struct ViewEntry {
  Entry entry;
  uint32_t layer = 0;
  // Names of this file in the view (hard links), or 2 + subdirectories.
  uint32_t nlink = 1;
  friend bool operator==(const ViewEntry&, const ViewEntry&) = default;
};

struct ObjectRecord {
  uint64_t size = 0;
  int64_t created = 0;  // unix seconds
};

struct LayerRecord {
  uint64_t tar_size = 0;       // bytes of the uncompressed tar
  uint64_t content_bytes = 0;  // sum of regular file sizes (hard links once)
  uint64_t entry_count = 0;
  int64_t created = 0;
};

struct ChainRecord {
  Digest parent;   // empty for a one-layer chain
  Digest diff_id;  // the top layer
  uint32_t depth = 0;  // number of layers
  bool view_ready = false;  // the merged view is materialized
};

struct ImageRecord {
  Digest id;  // sha256 of the config
  Digest manifest;  // the manifest it was imported with (may be empty)
  Digest chain;
  std::vector<Digest> diff_ids;
  uint64_t config_size = 0;
  uint64_t size = 0;  // content bytes of the merged view (hard links once)
  int64_t created = 0;  // when imported into this store, unix seconds
};

// One compressed form of a layer that a registry holds: what a pull
// verified or a push uploaded, so the next push can reuse its digest.
struct LayerBlobRecord {
  Digest digest;           // sha256 of the compressed blob
  uint64_t size = 0;       // its bytes
  std::string media_type;  // e.g. application/vnd.oci.image.layer.v1.tar+gzip
  std::string source;      // "host/repository" it was last seen in, may be empty
};

struct LeaseRecord {
  int64_t expires = 0;  // unix seconds
  std::string description;
  std::vector<Digest> layers;  // GC roots held by the lease
  std::vector<ObjectId> objects;
};

}  // namespace strata::storage
