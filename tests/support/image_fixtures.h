// Test fixtures for image import and export: images made from layer tars,
// written as OCI layouts, docker-archive directories and tars of either;
// and a snapshot of a store's state ("nothing changed" checks).
//
// Helpers throw std::runtime_error on setup failures (tests only).
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/fs.h"
#include "storage/digest.h"
#include "storage/oci.h"
#include "storage/store.h"
#include "tests/support/tar_builder.h"

namespace strata::testing {

template <typename R>
auto Must(R r, const std::string& what) {
  if (!r.ok()) throw std::runtime_error(what + ": " + r.error().message());
  if constexpr (!std::is_same_v<R, Status>) return std::move(r).value();
}

inline void WriteTestFile(const std::string& path, const std::string& data) {
  auto slash = path.rfind('/');
  Must(MakeDirs(path.substr(0, slash)), "mkdir");
  auto fd = Must(OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), "create " + path);
  Must(WriteAll(fd.get(), data), "write " + path);
}

// An image: layer tars, their blobs (compressed with filter, or not), config
// and OCI manifest.
struct TestImage {
  std::vector<std::string> tars;
  std::vector<std::string> blobs;
  std::vector<storage::Digest> diff_ids;
  std::string config;
  std::string manifest;
  std::string blob_media_type;
  storage::Digest id() const { return storage::Sha256::Of(config); }
  storage::Digest manifest_digest() const { return storage::Sha256::Of(manifest); }
};

inline TestImage MakeImage(const std::vector<std::string>& tars, const char* filter = "gzip",
                           const std::string& arch = "amd64", const std::string& salt = "") {
  namespace oci = storage::oci;
  TestImage image;
  image.tars = tars;
  image.blob_media_type = filter == nullptr ? std::string(oci::media_type::kOciLayer)
                          : std::string(filter) == "zstd"
                              ? std::string(oci::media_type::kOciLayerZstd)
                              : std::string(oci::media_type::kOciLayerGzip);
  oci::ImageConfig config;
  config.architecture = arch;
  config.os = "linux";
  config.created = "2024-01-02T03:04:05Z";
  config.config.cmd = {"sh"};
  if (!salt.empty()) config.config.env = {"SALT=" + salt};
  oci::Manifest m;
  m.media_type = std::string(oci::media_type::kOciManifest);
  for (const auto& tar : tars) {
    image.diff_ids.push_back(storage::Sha256::Of(tar));
    image.blobs.push_back(filter == nullptr ? tar : Compress(tar, filter));
    config.history.push_back({"2024-01-02T03:04:05Z", "layer", "", "", false});
    m.layers.push_back({image.blob_media_type,
                        storage::Sha256::Of(image.blobs.back()),
                        image.blobs.back().size(),
                        std::nullopt,
                        {}});
  }
  config.diff_ids = image.diff_ids;
  image.config = oci::BuildImageConfig(config);
  m.config = {std::string(oci::media_type::kOciConfig),
              storage::Sha256::Of(image.config),
              image.config.size(),
              std::nullopt,
              {}};
  image.manifest = oci::BuildManifest(m);
  return image;
}

inline std::string BlobFile(const std::string& dir, const storage::Digest& d) {
  return dir + "/blobs/sha256/" + d.hex();
}

// Writes the image's blobs into an OCI layout at dir (no index.json).
inline void WriteBlobs(const std::string& dir, const TestImage& image) {
  WriteTestFile(dir + "/oci-layout", storage::oci::BuildLayoutFile());
  for (const auto& blob : image.blobs)
    WriteTestFile(BlobFile(dir, storage::Sha256::Of(blob)), blob);
  WriteTestFile(BlobFile(dir, image.id()), image.config);
  WriteTestFile(BlobFile(dir, image.manifest_digest()), image.manifest);
}

// An OCI layout holding image under each ref name (none: one unnamed entry).
inline void WriteOciLayout(const std::string& dir, const TestImage& image,
                           const std::vector<std::string>& refs = {}) {
  namespace oci = storage::oci;
  WriteBlobs(dir, image);
  oci::ImageIndex index;
  oci::Descriptor d{std::string(oci::media_type::kOciManifest),
                    image.manifest_digest(),
                    image.manifest.size(),
                    std::nullopt,
                    {}};
  if (refs.empty()) index.manifests.push_back(d);
  for (const auto& ref : refs) {
    d.annotations[std::string(oci::kAnnotationRefName)] = ref;
    index.manifests.push_back(d);
  }
  WriteTestFile(dir + "/index.json", oci::BuildImageIndex(index));
}

// A docker-archive directory as `docker save` (before 25) lays it out:
// <id>.json, <n>/layer.tar, manifest.json.
inline void WriteDockerArchive(const std::string& dir, const TestImage& image,
                               const std::vector<std::string>& repo_tags) {
  storage::oci::DockerArchiveImage entry;
  entry.config = image.id().hex() + ".json";
  entry.repo_tags = repo_tags;
  WriteTestFile(dir + "/" + entry.config, image.config);
  for (size_t i = 0; i < image.blobs.size(); ++i) {
    std::string name = "layer" + std::to_string(i) + "/layer.tar";
    WriteTestFile(dir + "/" + name, image.blobs[i]);
    entry.layers.push_back(name);
  }
  WriteTestFile(dir + "/manifest.json", storage::oci::BuildDockerArchiveManifest({entry}));
}

// Every regular file below dir, relative, with its content, sorted.
inline std::map<std::string, std::string> ReadTree(const std::string& dir,
                                                   const std::string& rel = "") {
  std::map<std::string, std::string> out;
  DIR* d = ::opendir(JoinPath(dir, rel).c_str());
  if (d == nullptr) return out;
  while (struct dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    std::string child = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    if (::lstat(JoinPath(dir, child).c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      out.merge(ReadTree(dir, child));
      out[child + "/"] = "";
    } else {
      out[child] = S_ISREG(st.st_mode) ? Must(ReadFile(JoinPath(dir, child)), "read") : "?";
    }
  }
  ::closedir(d);
  return out;
}

// A tar of the regular files and directories below dir (compressed with
// filter, if given).
inline std::string TarOfTree(const std::string& dir, const char* filter = nullptr) {
  TarBuilder tar;
  for (const auto& [path, content] : ReadTree(dir)) {
    if (path.back() == '/') {
      tar.Dir(path);
    } else {
      tar.File(path, content);
    }
  }
  std::string bytes = tar.Finish();
  return filter == nullptr ? bytes : Compress(bytes, filter);
}

// The store's state as seen from outside: every index record, and every
// file under objects/, blobs/ and tmp/ with its size.
inline std::string StoreSnapshot(storage::Store& store) {
  std::string out;
  Must(store.index().Dump(
           [&](std::string_view family, std::string_view key, std::string_view value) {
             out += std::string(family) + " " + storage::HexEncode(key) + " " +
                    storage::HexEncode(value) + "\n";
           }),
       "dump");
  for (const char* dir : {"objects", "blobs", "tmp"}) {
    for (const auto& [path, content] : ReadTree(JoinPath(store.root(), dir))) {
      out += std::string(dir) + "/" + path + " " + std::to_string(content.size()) + "\n";
    }
  }
  return out;
}

}  // namespace strata::testing
