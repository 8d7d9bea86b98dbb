// ImportRootfsTree: `strata image import-rootfs PATH --tag NAME`, like
// `docker import`: one layer made from a root filesystem, with a minimal
// config.
//
// PATH is a directory (read as a tar stream by TreeTarSource: ownership,
// modes, mtimes, xattrs, hard links, devices and symlinks kept) or a tar
// file, plain or compressed (gzip, zstd, xz, bzip2; detected from its bytes).
//
// The config is {architecture, os, created (now, RFC 3339 UTC), config: {},
// rootfs: {layers, [diffID]}, history: [{created, created_by: "strata image
// import-rootfs"}]}; the image has no manifest. options.tag is required and
// normalized with Store::NormalizeTag; architecture and os must form a valid
// platform (oci::ParsePlatform).
//
// All or nothing, as ImportImageArchive: on failure the layer's new objects
// are discarded and the index is untouched. Errors carry the context
// "import-rootfs PATH". Progress: phase "layer" (1 of 1), then "commit".
//
// Thread safety: may run concurrently with other imports on one Store.
#pragma once

#include "common/result.h"
#include "storage/store.h"

namespace strata::storage {

Result<ImportResult> ImportRootfsTree(Store& store, const RootfsImportOptions& options);

}  // namespace strata::storage
