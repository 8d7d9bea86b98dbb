#include "storage/image_importer.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>

#include "common/fs.h"
#include "storage/byte_source.h"
#include "storage/image_dir.h"
#include "storage/layer_importer.h"
#include "storage/lease.h"
#include "storage/oci.h"
#include "storage/read_ahead_source.h"

namespace strata::storage {

namespace {

constexpr uint64_t kMaxIndexBytes = 4 << 20;    // registries cap manifests at 4 MiB
constexpr uint64_t kMaxConfigBytes = 16 << 20;  // long histories make big configs
constexpr uint64_t kMaxLayoutFileBytes = 64 << 10;
constexpr int kMaxIndexDepth = 4;

// What an image resolves to before any layer is read: the documents, all
// verified, and where each layer's blob is.
struct LayerPlan {
  std::string blob;              // path in the image directory
  std::optional<Digest> digest;  // the blob's sha256, when the image says it
  std::optional<uint64_t> size;  // the blob's size, when the image says it
  Digest diff_id;                // from the config
};

struct ImagePlan {
  std::string config;
  std::string manifest;  // empty for a docker-archive
  Digest image_id;
  std::vector<LayerPlan> layers;
  std::vector<std::string> tags;  // as the archive spells them
};

std::string BlobPath(const Digest& d) { return "blobs/sha256/" + d.hex(); }

// Reads a blob named by a descriptor, checking its size and digest.
Result<std::string> ReadVerifiedBlob(const ImageDir& dir, const oci::Descriptor& d,
                                     const std::string& what, uint64_t max_bytes) {
  std::string path = BlobPath(d.digest);
  if (d.size > max_bytes) {
    return Error(EFBIG, what + " " + path + ": its descriptor's size " + std::to_string(d.size) +
                            " exceeds the " + std::to_string(max_bytes) + " bytes allowed");
  }
  auto data = dir.ReadFile(path, max_bytes);
  if (!data.ok()) return std::move(data).error().Context(what);
  if (data->size() != d.size) {
    return Error::Corrupt(what + " " + path + ": " + std::to_string(data->size()) +
                          " bytes where its descriptor says " + std::to_string(d.size));
  }
  if (Sha256::Of(*data) != d.digest) {
    return Error::Corrupt(what + " " + path + ": content does not match its digest");
  }
  return data;
}

// The name an OCI index entry gives its image, if it is a full reference.
std::optional<std::string> NameFromAnnotations(const oci::Descriptor& d) {
  auto it = d.annotations.find(std::string(oci::kAnnotationContainerdName));
  if (it != d.annotations.end() && !it->second.empty()) return it->second;
  it = d.annotations.find(std::string(oci::kAnnotationRefName));
  if (it == d.annotations.end()) return std::nullopt;
  // By the layout convention a bare "latest" is a tag of no repository.
  if (it->second.find_first_of(":/") == std::string::npos) return std::nullopt;
  return it->second;
}

// Archives spell Docker Hub names in full ("docker.io/library/busybox:1.36",
// as skopeo and containerd write them); users and `docker images` say
// "busybox:1.36", so that is the tag strata records.
std::string FamiliarName(std::string name) {
  constexpr std::string_view kHub = "docker.io/";
  constexpr std::string_view kOfficial = "library/";
  if (name.rfind(kHub, 0) != 0) return name;
  name.erase(0, kHub.size());
  if (name.rfind(kOfficial, 0) == 0 && name.find('/', kOfficial.size()) == std::string::npos) {
    name.erase(0, kOfficial.size());
  }
  return name;
}

// A digest spelled by a file name: "blobs/sha256/<hex>", or "<hex><suffix>"
// when suffix is given (docker's "<image id>.json").
std::optional<Digest> DigestInName(std::string_view path, std::string_view suffix) {
  auto clean = CleanRelativePath(path);
  if (!clean.ok()) return std::nullopt;
  std::string_view name = *clean;
  if (name.substr(0, 13) == "blobs/sha256/") {
    name.remove_prefix(13);
  } else if (!suffix.empty() && name.size() > suffix.size() &&
             name.substr(name.size() - suffix.size()) == suffix) {
    name.remove_suffix(suffix.size());
  } else {
    return std::nullopt;
  }
  auto d = Digest::FromHex(name);
  if (!d.ok()) return std::nullopt;
  return *d;
}

Status CheckLayerCount(size_t diff_ids, size_t layers, const std::string& where) {
  if (diff_ids == layers) return Ok();
  return Error::Invalid(where + " lists " + std::to_string(layers) +
                        " layers but the config's rootfs.diff_ids has " + std::to_string(diff_ids));
}

Result<ImagePlan> PlanOciLayout(const ImageDir& dir, const oci::Platform& platform) {
  ASSIGN_OR_RETURN(std::string layout, dir.ReadFile("oci-layout", kMaxLayoutFileBytes));
  RETURN_IF_ERROR(oci::ParseLayoutFile(layout, "oci-layout"));
  ASSIGN_OR_RETURN(std::string index_json, dir.ReadFile("index.json", kMaxIndexBytes));
  ASSIGN_OR_RETURN(oci::ImageIndex index, oci::ParseImageIndex(index_json, "index.json"));
  ASSIGN_OR_RETURN(size_t chosen, oci::SelectManifest(index, platform, "index.json"));

  ImagePlan plan;
  oci::Descriptor desc = index.manifests[chosen];
  for (const auto& d : index.manifests) {
    if (d.digest != desc.digest) continue;
    if (auto name = NameFromAnnotations(d)) plan.tags.push_back(*name);
  }
  // Down through nested indexes (a multi-platform image) to one manifest.
  std::string where = "index.json";
  for (int depth = 0; !oci::IsManifestMediaType(desc.media_type); ++depth) {
    if (!oci::IsIndexMediaType(desc.media_type)) {
      return Error::Invalid(where + ": entry " + desc.digest.str() + " has media type " +
                            oci::Quoted(desc.media_type) + ", not an image or index");
    }
    if (depth == kMaxIndexDepth) {
      return Error::Invalid(where + ": image indexes nested more than " +
                            std::to_string(kMaxIndexDepth) + " deep");
    }
    ASSIGN_OR_RETURN(std::string bytes, ReadVerifiedBlob(dir, desc, "image index", kMaxIndexBytes));
    where = BlobPath(desc.digest);
    ASSIGN_OR_RETURN(oci::ImageIndex nested, oci::ParseImageIndex(bytes, where));
    if (!nested.media_type.empty() && nested.media_type != desc.media_type) {
      return Error::Invalid(where + ": mediaType " + oci::Quoted(nested.media_type) +
                            " differs from its descriptor's " + oci::Quoted(desc.media_type));
    }
    ASSIGN_OR_RETURN(chosen, oci::SelectManifest(nested, platform, where));
    desc = nested.manifests[chosen];
  }

  ASSIGN_OR_RETURN(plan.manifest, ReadVerifiedBlob(dir, desc, "manifest", kMaxIndexBytes));
  const std::string manifest_path = BlobPath(desc.digest);
  ASSIGN_OR_RETURN(oci::Manifest manifest, oci::ParseManifest(plan.manifest, manifest_path));
  if (!manifest.media_type.empty() && manifest.media_type != desc.media_type) {
    return Error::Invalid(manifest_path + ": mediaType " + oci::Quoted(manifest.media_type) +
                          " differs from its descriptor's " + oci::Quoted(desc.media_type));
  }
  const oci::Descriptor& cd = manifest.config;
  if (cd.media_type != oci::media_type::kOciConfig &&
      cd.media_type != oci::media_type::kDockerConfig) {
    return Error::Invalid(manifest_path +
                          ": config.mediaType: not an image config: " + oci::Quoted(cd.media_type));
  }
  ASSIGN_OR_RETURN(plan.config, ReadVerifiedBlob(dir, cd, "config", kMaxConfigBytes));
  plan.image_id = cd.digest;
  ASSIGN_OR_RETURN(oci::ImageConfig config,
                   oci::ParseImageConfig(plan.config, BlobPath(cd.digest)));
  RETURN_IF_ERROR(CheckLayerCount(config.diff_ids.size(), manifest.layers.size(), manifest_path));
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const oci::Descriptor& l = manifest.layers[i];
    if (!oci::IsLayerMediaType(l.media_type)) {
      bool encrypted = l.media_type.find("encrypted") != std::string::npos;
      return Error::Invalid(manifest_path + ": layers[" + std::to_string(i) + "].mediaType: " +
                            (encrypted ? "encrypted layers are not supported"
                                       : "not a layer: " + oci::Quoted(l.media_type)));
    }
    plan.layers.push_back({BlobPath(l.digest), l.digest, l.size, config.diff_ids[i]});
  }
  return plan;
}

Result<ImagePlan> PlanDockerArchive(const ImageDir& dir) {
  ASSIGN_OR_RETURN(std::string text, dir.ReadFile("manifest.json", kMaxIndexBytes));
  ASSIGN_OR_RETURN(auto images, oci::ParseDockerArchiveManifest(text, "manifest.json"));
  if (images.empty()) return Error::Invalid("manifest.json: lists no image");
  ImagePlan plan;
  std::set<std::string> configs;
  for (const auto& image : images) {
    configs.insert(image.config);
    plan.tags.insert(plan.tags.end(), image.repo_tags.begin(), image.repo_tags.end());
  }
  if (configs.size() > 1) {
    return Error::Invalid("manifest.json: holds " + std::to_string(configs.size()) +
                          " images; strata imports one image per archive");
  }
  const oci::DockerArchiveImage& image = images[0];
  auto config_bytes = dir.ReadFile(image.config, kMaxConfigBytes);
  if (!config_bytes.ok()) return std::move(config_bytes).error().Context("manifest.json: Config");
  plan.config = std::move(config_bytes).value();
  plan.image_id = Sha256::Of(plan.config);
  if (auto named = DigestInName(image.config, ".json"); named && *named != plan.image_id) {
    return Error::Corrupt("config " + image.config + ": content does not match its digest name");
  }
  ASSIGN_OR_RETURN(oci::ImageConfig config, oci::ParseImageConfig(plan.config, image.config));
  RETURN_IF_ERROR(
      CheckLayerCount(config.diff_ids.size(), image.layers.size(), "manifest.json: [0].Layers"));
  for (size_t i = 0; i < image.layers.size(); ++i) {
    plan.layers.push_back(
        {image.layers[i], DigestInName(image.layers[i], ""), std::nullopt, config.diff_ids[i]});
  }
  return plan;
}

// The layers an import has created so far; their objects are discarded
// unless the image was committed.
class PendingLayers {
 public:
  explicit PendingLayers(ObjectStore& objects) : objects_(objects) {}
  PendingLayers(const PendingLayers&) = delete;
  PendingLayers& operator=(const PendingLayers&) = delete;
  ~PendingLayers() {
    if (committed_) return;
    for (const auto& layer : layers_) objects_.Discard(layer->created_objects);
  }

  LayerContents* Add(LayerContents contents) {
    layers_.push_back(std::make_unique<LayerContents>(std::move(contents)));
    return layers_.back().get();
  }
  std::vector<const LayerContents*> pointers() const {
    std::vector<const LayerContents*> out;
    for (const auto& layer : layers_) out.push_back(layer.get());
    return out;
  }
  uint64_t objects_created() const {
    uint64_t n = 0;
    for (const auto& layer : layers_) n += layer->created_objects.size();
    return n;
  }
  void Committed() { committed_ = true; }

 private:
  ObjectStore& objects_;
  std::vector<std::unique_ptr<LayerContents>> layers_;
  bool committed_ = false;
};

// Reads a source to its end, so its hash covers every byte.
Status Drain(ByteSource& source) {
  char buf[1 << 16];
  for (;;) {
    ASSIGN_OR_RETURN(size_t got, source.Read(buf, sizeof buf));
    if (got == 0) return Ok();
  }
}

struct LayerOutcome {
  std::vector<std::pair<Digest, Digest>> blobs;  // compressed digest -> diffID
};

// Imports one new layer: blob -> sha256 -> decompress -> sha256 -> ImportLayer.
Status ImportOneLayer(Store& store, UniqueFd fd, const LayerPlan& layer,
                      const std::function<void(uint64_t)>& on_bytes, PendingLayers* pending,
                      ImportResult* result, LayerOutcome* outcome) {
  FdSource file(std::move(fd));
  HashingSource compressed(&file);
  ASSIGN_OR_RETURN(auto decompressed, DecompressingSource::Open(&compressed));
  // Reading, sha256 and decompression on one core; the importer (tar, the
  // diffID's sha256, object files) on the other.
  ReadAheadSource tar(decompressed.get());
  ASSIGN_OR_RETURN(
      LayerContents contents,
      ImportLayer(store.objects(), tar, [&](const LayerImportProgress& p) { on_bytes(p.bytes); }));
  const LayerContents* added = pending->Add(std::move(contents));
  // ImportLayer reads the tar to its end: its diffID covers every byte.
  tar.Stop();
  RETURN_IF_ERROR(Drain(compressed));
  const Digest blob_digest = compressed.Finish();
  if (layer.digest && blob_digest != *layer.digest) {
    return Error::Corrupt("blob content is " + blob_digest.str() + ", not its digest " +
                          layer.digest->str());
  }
  if (layer.size && compressed.bytes() != *layer.size) {
    return Error::Corrupt("blob has " + std::to_string(compressed.bytes()) +
                          " bytes where its descriptor says " + std::to_string(*layer.size));
  }
  if (added->diff_id != layer.diff_id) {
    return Error::Corrupt("diffID mismatch: the config says " + layer.diff_id.str() +
                          ", the layer is " + added->diff_id.str());
  }
  outcome->blobs.emplace_back(blob_digest, layer.diff_id);
  result->bytes_read += added->record.tar_size;
  return Ok();
}

Status ImportLayers(Store& store, const ImageDir& dir, const ImagePlan& plan,
                    const ProgressFn& progress, PendingLayers* pending, ImportResult* result,
                    LayerOutcome* outcome) {
  const auto n = static_cast<uint32_t>(plan.layers.size());
  std::set<Digest> seen;
  for (uint32_t i = 0; i < n; ++i) {
    const LayerPlan& layer = plan.layers[i];
    const std::string ctx = "layer " + std::to_string(i + 1) + " (" + layer.blob + ")";
    if (!seen.insert(layer.diff_id).second) continue;  // listed twice: imported once
    auto fd = dir.OpenFile(layer.blob);
    if (!fd.ok()) return std::move(fd).error().Context(ctx);
    struct stat st;
    if (::fstat(fd->get(), &st) != 0) return Error::FromErrno("stat").Context(ctx);
    if (layer.size && static_cast<uint64_t>(st.st_size) != *layer.size) {
      return Error::Corrupt(ctx + ": blob has " + std::to_string(st.st_size) +
                            " bytes where its descriptor says " + std::to_string(*layer.size));
    }
    ASSIGN_OR_RETURN(auto stored, store.index().GetLayer(layer.diff_id));
    if (stored) {
      ++result->layers_reused;
      continue;
    }
    const uint64_t before = result->bytes_read;
    auto report = [&](uint64_t bytes) {
      if (progress) progress(Progress{"layer", i + 1, n, bytes, before + bytes});
    };
    report(0);
    RETURN_IF_ERROR_CTX(
        ImportOneLayer(store, std::move(fd).value(), layer, report, pending, result, outcome), ctx);
  }
  return Ok();
}

void AddUnique(std::vector<std::string>* list, std::string item) {
  if (std::find(list->begin(), list->end(), item) == list->end()) {
    list->push_back(std::move(item));
  }
}

// How much an archive may unpack to: the free space of tmp/ less a tenth,
// so staging a hostile archive cannot fill the store's filesystem.
Result<uint64_t> StagingBudget(const std::string& tmp_dir) {
  struct statvfs vfs;
  if (::statvfs(tmp_dir.c_str(), &vfs) != 0) return Error::FromErrno("statvfs " + tmp_dir);
  uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  return avail - avail / 10;
}

Result<ImportResult> Import(Store& store, const ImportOptions& options) {
  ASSIGN_OR_RETURN(oci::Platform platform, oci::ParsePlatform(options.platform));
  std::vector<std::string> extra_tags;
  for (const auto& tag : options.tags) {
    ASSIGN_OR_RETURN(std::string normalized, Store::NormalizeTag(tag));
    AddUnique(&extra_tags, std::move(normalized));
  }

  struct stat st;
  if (::stat(options.path.c_str(), &st) != 0) return Error(errno, std::strerror(errno));
  std::optional<TempDir> staging;
  std::string dir_path = options.path;
  if (S_ISREG(st.st_mode)) {
    ASSIGN_OR_RETURN(TempDir tmp, TempDir::Create(store.tmp_dir(), "import-"));
    ExtractLimits limits;
    ASSIGN_OR_RETURN(limits.max_bytes, StagingBudget(store.tmp_dir()));
    auto staged = [&](uint64_t bytes) {
      if (options.progress) options.progress(Progress{"stage", 0, 0, bytes, bytes});
    };
    RETURN_IF_ERROR(ExtractImageArchive(options.path, tmp.path(), limits, staged));
    dir_path = tmp.path();
    staging.emplace(std::move(tmp));
  } else if (!S_ISDIR(st.st_mode)) {
    return Error::Invalid("not a file or directory");
  }

  ASSIGN_OR_RETURN(ImageDir dir, ImageDir::Open(dir_path));
  ImagePlan plan;
  if (dir.HasFile("manifest.json")) {
    ASSIGN_OR_RETURN(plan, PlanDockerArchive(dir));
  } else if (dir.HasFile("index.json") || dir.HasFile("oci-layout")) {
    ASSIGN_OR_RETURN(plan, PlanOciLayout(dir, platform));
  } else {
    return Error::Invalid(
        "neither an OCI layout (no index.json) nor a docker-archive (no manifest.json)");
  }
  std::vector<std::string> tags;
  for (const auto& tag : plan.tags) {
    auto normalized = Store::NormalizeTag(FamiliarName(tag));
    if (!normalized.ok()) return std::move(normalized).error().Context("the archive's tag");
    AddUnique(&tags, std::move(normalized).value());
  }
  for (auto& tag : extra_tags) AddUnique(&tags, std::move(tag));

  ImportResult result;
  result.layers = static_cast<uint32_t>(plan.layers.size());
  PendingLayers pending(store.objects());
  LayerOutcome outcome;
  RETURN_IF_ERROR(ImportLayers(store, dir, plan, options.progress, &pending, &result, &outcome));

  if (options.progress) {
    options.progress(Progress{"commit", result.layers, result.layers, 0, result.bytes_read});
  }
  Store::NewImage image;
  image.config = std::move(plan.config);
  image.manifest = std::move(plan.manifest);
  for (const auto& layer : plan.layers) image.diff_ids.push_back(layer.diff_id);
  image.new_layers = pending.pointers();
  image.tags = tags;
  image.blobs = std::move(outcome.blobs);
  ASSIGN_OR_RETURN(result.image_id, store.CommitImage(image));
  pending.Committed();
  result.tags = std::move(tags);
  result.objects_created = pending.objects_created();
  return result;
}

}  // namespace

Result<ImportResult> ImportImageArchive(Store& store, const ImportOptions& options) {
  // GC waits while this import runs (write_gate.h); the lease marks it as
  // work in progress for any GC that reads the index.
  std::shared_lock gate(store.write_gate());
  auto lease = Lease::Acquire(store.index(), {.description = "import " + options.path});
  if (!lease.ok()) return std::move(lease).error().Context("import " + options.path);
  auto result = Import(store, options);
  if (!result.ok()) return std::move(result).error().Context("import " + options.path);
  return result;
}

}  // namespace strata::storage
