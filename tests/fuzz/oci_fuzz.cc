// Fuzzes the image documents of storage/oci.h, one executable per document
// (OCI_DOCUMENT picks it at compile time, so each has its own corpus):
//
//   1 oci_index_fuzz        index.json / image index / docker manifest list,
//                           then SelectManifest over it; also the oci-layout
//                           file and --platform strings
//   2 oci_manifest_fuzz     image manifest / docker schema2
//   3 oci_config_fuzz       image config
//   4 docker_manifest_fuzz  a docker-archive's manifest.json
//
// Parsing must fail cleanly (EINVAL, one line) or give a value that the
// builders write back and the parser reads again as the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/oci.h"

namespace oci = strata::storage::oci;

namespace {

// An error of the parsers is EINVAL (or ENOMEM), one line.
template <typename R>
bool Check(const R& r) {
  if (r.ok()) return true;
  const strata::Error& e = r.error();
  if (e.code() != EINVAL && e.code() != ENOMEM) std::abort();
  if (e.message().find('\n') != std::string::npos) std::abort();
  return false;
}

void Require(bool condition) {
  if (!condition) std::abort();
}

bool SameConfig(const oci::ImageConfig& a, const oci::ImageConfig& b) {
  return a.created == b.created && a.author == b.author && a.architecture == b.architecture &&
         a.os == b.os && a.variant == b.variant && a.config == b.config &&
         a.diff_ids == b.diff_ids && a.history == b.history;
}

[[maybe_unused]] void FuzzIndex(std::string_view text) {
  (void)Check(oci::ParseLayoutFile(text, "oci-layout"));
  auto platform = oci::ParsePlatform(text);
  if (Check(platform)) {
    // A parsed platform prints as something that parses to itself.
    auto again = oci::ParsePlatform(platform->str());
    Require(again.ok() && *again == *platform);
  }

  auto index = oci::ParseImageIndex(text, "index.json");
  if (!Check(index)) return;
  for (const char* want : {"linux/amd64", "linux/arm64/v8", "linux/arm"}) {
    auto chosen = oci::SelectManifest(*index, *oci::ParsePlatform(want), "index.json");
    if (chosen.ok()) {
      Require(*chosen < index->manifests.size());
    } else if (chosen.error().code() != ENOENT) {
      (void)Check(chosen);
    }
  }
  auto again = oci::ParseImageIndex(oci::BuildImageIndex(*index), "index.json");
  Require(again.ok());
  Require(again->media_type == index->media_type && again->manifests == index->manifests &&
          again->annotations == index->annotations);
}

[[maybe_unused]] void FuzzManifest(std::string_view text) {
  auto manifest = oci::ParseManifest(text, "manifest");
  if (!Check(manifest)) return;
  auto again = oci::ParseManifest(oci::BuildManifest(*manifest), "manifest");
  Require(again.ok());
  Require(again->media_type == manifest->media_type && again->config == manifest->config &&
          again->layers == manifest->layers && again->annotations == manifest->annotations);
}

[[maybe_unused]] void FuzzConfig(std::string_view text) {
  auto config = oci::ParseImageConfig(text, "config");
  if (!Check(config)) return;
  auto again = oci::ParseImageConfig(oci::BuildImageConfig(*config), "config");
  Require(again.ok() && SameConfig(*again, *config));
}

[[maybe_unused]] void FuzzDockerManifest(std::string_view text) {
  auto images = oci::ParseDockerArchiveManifest(text, "manifest.json");
  if (!Check(images)) return;
  auto again =
      oci::ParseDockerArchiveManifest(oci::BuildDockerArchiveManifest(*images), "manifest.json");
  Require(again.ok() && again->size() == images->size());
  for (size_t i = 0; i < images->size(); ++i) {
    const auto& a = (*again)[i];
    const auto& b = (*images)[i];
    Require(a.config == b.config && a.repo_tags == b.repo_tags && a.layers == b.layers);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
#if OCI_DOCUMENT == 1
  FuzzIndex(text);
#elif OCI_DOCUMENT == 2
  FuzzManifest(text);
#elif OCI_DOCUMENT == 3
  FuzzConfig(text);
#elif OCI_DOCUMENT == 4
  FuzzDockerManifest(text);
#else
#error "OCI_DOCUMENT must be 1..4"
#endif
  return 0;
}
