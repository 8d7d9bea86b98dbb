// PushImage: `strata push IMG REF` — an image from the store to a registry.
//
// For each layer (up to options.parallel at once):
//   1. The compressed forms the index remembers for its diffID
//      (layer_blobs: what earlier pulls verified and pushes uploaded) of the
//      requested compression: if the target repository has one (HEAD), it is
//      used as is; else, if it was seen in another repository of the same
//      registry, a cross-repository mount is tried.
//   2. Otherwise the layer's tar is replayed from tar-split
//      (ReassembleLayer: the exact bytes of its diffID), compressed (gzip by
//      default, zstd on request) into an unlinked file in the store's tmp/,
//      hashed, checked with HEAD, and uploaded: in one PUT up to
//      options.chunk_size bytes, else in PATCHes of chunk_size.
//   3. The compressed digest is remembered (layer_blobs), so the next push
//      of the same layer, to any repository, uploads nothing.
// Then the config (the stored bytes: the image ID does not change) and an
// OCI manifest, PUT under the reference's tag ("latest" by default).
//
// Thread safety: pushes may run concurrently with anything that does not
// remove the image's content.
#pragma once

#include <string>

#include "common/result.h"
#include "registry/layer_compressor.h"
#include "registry/puller.h"
#include "registry/reference.h"
#include "registry/registry_client.h"
#include "storage/store.h"

namespace strata::registry {

struct PushOptions {
  Compression compression = Compression::kGzip;
  uint64_t chunk_size = 16 << 20;  // larger blobs go in PATCHes of this size
  unsigned parallel = 3;
  TransferProgressFn progress;
};

struct PushResult {
  storage::Digest image_id;
  storage::Digest manifest_digest;
  std::string reference;  // where it went, familiar form
  uint32_t layers = 0;
  uint32_t layers_uploaded = 0;
  uint32_t layers_existing = 0;  // already in the repository
  uint32_t layers_mounted = 0;   // mounted from another repository
  uint64_t bytes_uploaded = 0;
};

Result<PushResult> PushImage(storage::Store& store, RegistryClient& client,
                             const std::string& image_ref, const Reference& target,
                             const PushOptions& options);

}  // namespace strata::registry
