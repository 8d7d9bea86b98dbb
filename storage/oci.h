// OCI and Docker image JSON: the documents strata reads on import and writes
// on export.
//
//   image index / docker manifest list   -> ImageIndex  (pick one with SelectManifest)
//   image manifest / docker schema2      -> Manifest    (config + layer descriptors)
//   image config                         -> ImageConfig (rootfs.diff_ids, history, ...)
//   docker-archive manifest.json         -> DockerArchiveImage list
//   oci-layout                           -> ParseLayoutFile
//
// Parsing treats its input as hostile: every malformed document, wrong type
// or out-of-range value is an Error::Invalid of one line naming the file (the
// `file` argument, as the user should see it) and the field, e.g.
//   "index.json: manifests[1].digest: unsupported digest "sha512:..." ...".
// Unknown fields are ignored (forward compatibility); known fields of the
// wrong type are not. Nesting is limited (Boost.JSON's default depth of 32)
// and invalid UTF-8 is refused. No exception escapes these functions.
//
// Building produces compact JSON with fields in a fixed order, so equal
// inputs give equal bytes (and equal digests).
//
// Thread safety: plain functions over values; no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/digest.h"

namespace strata::storage::oci {

namespace media_type {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayerGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}  // namespace media_type

// Annotation keys of index entries that name an image.
inline constexpr std::string_view kAnnotationRefName = "org.opencontainers.image.ref.name";
inline constexpr std::string_view kAnnotationContainerdName = "io.containerd.image.name";

// A value from a document, made fit for a one-line error message: quoted,
// control characters and quotes escaped, truncated after max_chars.
std::string Quoted(std::string_view value, size_t max_chars = 80);

bool IsIndexMediaType(std::string_view media_type);     // OCI index, docker list
bool IsManifestMediaType(std::string_view media_type);  // OCI manifest, docker schema2
// A layer strata can import: tar, tar+gzip, tar+zstd (OCI, docker, foreign,
// nondistributable). Encrypted layers and other artifacts are not.
bool IsLayerMediaType(std::string_view media_type);

// "os/arch[/variant]", as in `--platform linux/arm64/v8`.
struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;     // may be empty
  std::string os_version;  // "os.version"; parsed, not used for matching

  std::string str() const;  // "linux/arm64/v8"
  friend bool operator==(const Platform&, const Platform&) = default;
};

// Accepts "os/arch" and "os/arch/variant"; normalizes the common aliases
// (x86_64 -> amd64, aarch64 -> arm64, armhf -> arm/v7, armel -> arm/v6).
Result<Platform> ParsePlatform(std::string_view text);

// Whether an index entry for `have` serves a request for `want`: equal os
// and architecture (after normalization) and a compatible variant. An empty
// wanted variant accepts any; a wanted variant equal to the architecture's
// default (arm64 -> v8, arm -> v7, amd64 -> v1) also accepts an entry with
// none.
bool PlatformMatches(const Platform& want, const Platform& have);

struct Descriptor {
  std::string media_type;
  Digest digest;
  uint64_t size = 0;
  std::optional<Platform> platform;  // index entries only
  std::map<std::string, std::string> annotations;
  friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

// An OCI image index or docker manifest list (and index.json of a layout).
struct ImageIndex {
  std::string media_type;  // may be empty (OCI makes it optional)
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// An OCI image manifest or docker schema2 manifest.
struct Manifest {
  std::string media_type;  // may be empty in an OCI manifest
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct HistoryEntry {
  std::string created;  // RFC 3339
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

// The execution defaults of an image ("config" in the image config).
struct ContainerConfig {
  std::string user;
  std::vector<std::string> env;  // "K=V"
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports;  // "80/tcp", sorted
  std::vector<std::string> volumes;        // sorted
  std::string stop_signal;
  friend bool operator==(const ContainerConfig&, const ContainerConfig&) = default;
};

struct ImageConfig {
  std::string created;  // RFC 3339, may be empty
  std::string author;
  std::string architecture;
  std::string os;
  std::string variant;
  ContainerConfig config;
  std::vector<Digest> diff_ids;  // rootfs.diff_ids, bottom to top
  std::vector<HistoryEntry> history;
};

// One image of a docker-archive's manifest.json. Paths are relative to the
// archive's root, as written (validated by whoever opens them).
struct DockerArchiveImage {
  std::string config;
  std::vector<std::string> repo_tags;
  std::vector<std::string> layers;
};

Result<ImageIndex> ParseImageIndex(std::string_view json, std::string_view file);
Result<Manifest> ParseManifest(std::string_view json, std::string_view file);
Result<ImageConfig> ParseImageConfig(std::string_view json, std::string_view file);
Result<std::vector<DockerArchiveImage>> ParseDockerArchiveManifest(std::string_view json,
                                                                   std::string_view file);
// Checks an oci-layout file: {"imageLayoutVersion": "1.0.0"} (1.x accepted).
Status ParseLayoutFile(std::string_view json, std::string_view file);

// Picks the entry of index for platform `want`, returning its position.
//   - Entries that are neither manifests nor indexes are ignored.
//   - Entries with a matching platform win over entries without one; among
//     them an exact variant beats an implied one.
//   - Entries without a platform match any request (a layout's index.json
//     usually names images, not platforms).
//   - Several best entries are fine if they all have the same digest (one
//     image listed once per tag); otherwise the index is ambiguous (EINVAL).
//   - No candidate: ENOENT, listing the platforms the index has.
Result<size_t> SelectManifest(const ImageIndex& index, const Platform& want, std::string_view file);

std::string BuildImageIndex(const ImageIndex& index);  // schemaVersion 2
std::string BuildManifest(const Manifest& manifest);   // schemaVersion 2
// Writes the fields that are set (an empty created/author/... is left out;
// "rootfs" is always written).
std::string BuildImageConfig(const ImageConfig& config);
std::string BuildDockerArchiveManifest(const std::vector<DockerArchiveImage>& images);
// docker-archive's legacy `repositories`: {"repo": {"tag": layer_id}} for
// each "repo:tag" (split at the last ':' after the last '/').
std::string BuildDockerRepositories(const std::vector<std::string>& tags,
                                    const std::string& layer_id);
std::string BuildLayoutFile();  // {"imageLayoutVersion":"1.0.0"}

}  // namespace strata::storage::oci
