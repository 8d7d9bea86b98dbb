// Garbage collection of the store: mark from the roots, sweep the rest.
//
// Roots: every image record (tagged, or untagged until `image prune` removes
// it) with its config and manifest blobs and its chain; every container's
// chain (given by the caller: storage knows nothing of containers); every
// unexpired lease's layers and objects. From a chain, its parent chains
// and their layers are reached; from a layer, its entries' objects.
//
// Swept, in this order: the index records nothing reaches (chains with their
// views, layers with their entries, tar-split and blob records, object
// records, expired leases) in one batch; then the files: objects no record
// names, blobs/ files no image names, everything in tmp/, and directories
// under containers/ that hold no container record. Records go before files,
// so a crash in between leaves only unnamed files, which the next GC or
// `fsck --repair` removes; never a record naming a missing file. Files are
// deleted only if they are older than the GC's start.
//
// Concurrency: GC holds the store's WriteGate exclusively for its whole run
// (write_gate.h, docs/store.md): imports and commits already running finish
// first, new ones wait until it is done. Reads (views, exports, FUSE) go on.
//
// Thread safety: one GC at a time per store (the gate serializes them).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/digest.h"

namespace strata::storage {

class Store;

// What a container contributes to the roots.
struct ContainerRoot {
  std::string id;  // its directory under <root>/containers
  Digest chain;    // its image's chain
};

struct GcOptions {
  bool dry_run = false;  // report, change nothing
  bool list = false;     // fill GcReport::items (dry_run sets it too)
  // Every container, as roots. Null: no container is a root and containers/
  // is left alone (a store without a runtime).
  std::function<Result<std::vector<ContainerRoot>>()> containers;
};

struct GcItem {
  std::string kind;  // object, layer, chain, blob, tmp, container, lease
  std::string name;
  uint64_t bytes = 0;
};

struct GcReport {
  bool dry_run = false;
  uint64_t objects = 0;  // object files removed (or that would be)
  uint64_t object_bytes = 0;
  uint64_t objects_kept = 0;  // object records that stay
  uint64_t layers = 0;
  uint64_t chains = 0;
  uint64_t blobs = 0;  // blobs/ files
  uint64_t blob_bytes = 0;
  uint64_t tmp_entries = 0;
  uint64_t tmp_bytes = 0;
  uint64_t container_dirs = 0;
  uint64_t container_bytes = 0;
  uint64_t leases_expired = 0;
  uint64_t leases_kept = 0;
  uint64_t bytes_reclaimed = 0;  // every file byte above
  double seconds = 0;
  // Where the time went: waiting for the gate, marking, the walk of
  // objects/ and the object records, the index batch, removing files.
  double gate_seconds = 0, mark_seconds = 0, walk_seconds = 0, index_seconds = 0, files_seconds = 0;
  std::vector<GcItem> items;  // with list or dry_run
};

Result<GcReport> CollectGarbage(Store& store, const GcOptions& options);

}  // namespace strata::storage
