// ExportImageTo: `strata image export IMG PATH [--format oci|docker]`.
//
// Formats (options.format):
//   kOciLayout     PATH is an OCI image layout directory: oci-layout,
//                  index.json, blobs/sha256/{layers, config, manifest}.
//   kOciArchive    PATH is a tar of that layout (`skopeo ... oci-archive:`).
//   kDockerArchive PATH is a tar as `docker save` writes it and `docker load`
//                  and `skopeo ... docker-archive:` read it: "<config
//                  hex>.json", "<diffID hex>.tar" per layer, manifest.json
//                  [{Config, RepoTags, Layers}] and `repositories`
//                  ({repo: {tag: top layer ID}}, kept for old readers).
//
// Layers are the uncompressed tars reassembled from the store
// (ReassembleLayer), so their digests are the diffIDs and the image ID
// survives the round trip (invariant 3); a layer whose bytes do not hash to
// its diffID fails the export (EBADMSG "layer X does not reproduce its
// diffID"). OCI media types: manifest v1, config v1, layer v1.tar. The
// config is the stored one (store.blob_path(image_id)), byte for byte. The
// image's tags become index.json entries with
// org.opencontainers.image.ref.name = "name:tag" (one entry per tag, all
// naming the same manifest, each with the config's platform), or RepoTags.
//
// Atomic: written beside PATH under a temporary name and renamed at the end
// (see ExportSink); a failed export leaves nothing. Errors carry the context
// "export REF" (options.ref, or the image ID). Progress: phase "export",
// layer i of n, bytes of that layer.
//
// Thread safety: reads the store only; may run concurrently with anything
// that does not remove the image's content (a GC lease is the caller's job).
#pragma once

#include "common/result.h"
#include "storage/store.h"

namespace strata::storage {

Status ExportImageTo(Store& store, const Digest& image_id, const ExportOptions& options);

}  // namespace strata::storage
