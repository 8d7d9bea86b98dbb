// PullImage: `strata pull REF` — an image from a registry into the store.
//
//   1. The manifest by tag or digest (verified against the reference's
//      digest, else against Docker-Content-Digest when the registry sends
//      one). An image index / manifest list is resolved for
//      options.platform with oci::SelectManifest, as import does (nested
//      up to 4 deep), each level verified against its descriptor.
//   2. The config (size and sha256 against the manifest).
//   3. Each layer whose diffID the store does not have yet is streamed:
//      network -> sha256 of the compressed bytes -> decompression -> sha256
//      of the tar -> ImportLayer (objects written as they pass). Nothing of
//      the blob is kept on disk. Up to options.parallel layers at once.
//      An interrupted download resumes with Range at the byte the
//      decompressor has reached (RegistryClient::BlobStream), so the hashes
//      and the importer carry on as if nothing happened.
//   4. Any mismatch (blob digest, size, diffID) or failure stops every
//      layer and discards what the pull created: the store is unchanged.
//      Otherwise Store::CommitImage writes the image in one batch, tagged
//      with the reference's familiar name, and the compressed digest of
//      each layer is remembered (blobs, layer_blobs) for later pushes.
//
// Progress: per layer (its short digest, state, bytes of its size), a
// snapshot at every change the caller may throttle.
//
// Thread safety: pulls may run concurrently with each other and imports.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "registry/reference.h"
#include "registry/registry_client.h"
#include "storage/store.h"

namespace strata::registry {

struct LayerProgress {
  std::string digest;  // compressed blob digest
  std::string state;   // "waiting", "exists", "downloading", "done", "pushed", "mounted", ...
  uint64_t bytes = 0;  // compressed bytes so far
  uint64_t size = 0;   // compressed size (0 when unknown)
};
using TransferProgressFn = std::function<void(const std::vector<LayerProgress>&)>;

struct PullOptions {
  std::string platform = "linux/amd64";
  unsigned parallel = 3;
  TransferProgressFn progress;
  // When set and it becomes true, the layers' downloads stop and the pull
  // fails with ECANCELED, the store unchanged (the client went away).
  const std::atomic<bool>* cancel = nullptr;
};

struct PullResult {
  storage::Digest image_id;
  storage::Digest manifest_digest;
  std::string tag;  // empty for a pull by digest only
  uint32_t layers = 0;
  uint32_t layers_fetched = 0;
  uint32_t layers_reused = 0;
  uint64_t bytes_fetched = 0;  // compressed bytes downloaded
  uint64_t resumes = 0;        // interrupted downloads resumed with Range
};

Result<PullResult> PullImage(storage::Store& store, RegistryClient& client, const Reference& ref,
                             const PullOptions& options);

}  // namespace strata::registry
