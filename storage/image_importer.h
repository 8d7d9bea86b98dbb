// ImportImageArchive: `strata image import PATH`.
//
// PATH is one of
//   - an OCI image layout directory (oci-layout + index.json + blobs/),
//   - an OCI archive (a tar of such a layout),
//   - a docker-archive (`docker save`, `skopeo copy ... docker-archive:`): a
//     tar with manifest.json listing {Config, RepoTags, Layers}, or that tar
//     unpacked into a directory.
// An archive (plain or compressed) is staged into a TempDir under the
// store's tmp/ with ExtractImageArchive (regular files and directories only,
// bounded by nine tenths of the free space of tmp/) and imported from there.
// A tar holding both manifest.json and index.json (docker 25+) is read as a
// docker-archive, so its RepoTags name the image as `docker load` would.
//
// Which image: an index (index.json, or an image index / manifest list it
// points to, up to 4 deep) is resolved with oci::SelectManifest for
// options.platform (default linux/amd64). A docker-archive must hold one
// image. Archives holding several distinct images are refused (EINVAL).
//
// Tags: the archive's own (docker RepoTags; in an OCI index, the
// io.containerd.image.name annotation, else org.opencontainers.image.ref.name
// when it is a full reference — a bare "latest" names no repository and is
// ignored, as `docker load` does) plus options.tags, all normalized with
// Store::NormalizeTag; a malformed tag fails the import before any layer is
// read. The archive's Docker Hub names are shortened as docker shows them
// ("docker.io/library/busybox:1.36" -> "busybox:1.36").
//
// Verification (invariant 2): the manifest against its index descriptor,
// the config against the manifest's descriptor (for a docker-archive,
// against a digest file name if it has one), each new layer blob's sha256
// and size against its descriptor, and each layer's diffID (sha256 of the
// decompressed stream, as computed by ImportLayer) against the config's
// rootfs.diff_ids[i]. Any mismatch (EBADMSG) rejects the whole import.
// Layers already in the store are not read again, but their blob must exist
// (with the descriptor's size).
//
// All or nothing: objects created by the import are discarded and the
// staging directory removed on any failure; the index is written once, by
// Store::CommitImage. Errors carry the context "import PATH".
//
// Progress: options.progress gets phase "stage" (an archive being unpacked:
// bytes so far, layers 0), then "layer" (layer i of n, bytes of its
// uncompressed tar) and then "commit".
//
// Thread safety: imports may run concurrently on one Store.
#pragma once

#include "common/result.h"
#include "storage/store.h"

namespace strata::storage {

Result<ImportResult> ImportImageArchive(Store& store, const ImportOptions& options);

}  // namespace strata::storage
