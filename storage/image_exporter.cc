#include "storage/image_exporter.h"

#include <set>

#include "common/fs.h"
#include "storage/export_sink.h"
#include "storage/oci.h"
#include "storage/tar_split.h"

namespace strata::storage {

namespace {

constexpr uint64_t kProgressEvery = 4 << 20;

struct ExportLayer {
  Digest diff_id;
  uint64_t size = 0;  // bytes of the uncompressed tar
};

// What an export needs of a stored image, read and checked up front.
struct StoredImage {
  Digest id;
  std::string config;
  oci::ImageConfig parsed;
  std::vector<ExportLayer> layers;  // bottom to top
  std::vector<std::string> tags;
};

Result<StoredImage> LoadImage(Store& store, const Digest& id) {
  ASSIGN_OR_RETURN(auto record, store.index().GetImage(id));
  if (!record) return Error::NotFound("no such image: " + id.str());
  StoredImage image;
  image.id = id;
  ASSIGN_OR_RETURN(image.config, ReadFile(store.blob_path(id)));
  if (Sha256::Of(image.config) != id) {
    return Error::Corrupt("the stored config of " + id.str() + " does not match its digest");
  }
  ASSIGN_OR_RETURN(image.parsed, oci::ParseImageConfig(image.config, "config " + id.str()));
  if (image.parsed.diff_ids != record->diff_ids) {
    return Error::Corrupt("the config and the index disagree on the layers of " + id.str());
  }
  for (const Digest& diff_id : record->diff_ids) {
    ASSIGN_OR_RETURN(auto layer, store.index().GetLayer(diff_id));
    if (!layer) return Error::NotFound("layer " + diff_id.str() + " is not in the store");
    image.layers.push_back({diff_id, layer->tar_size});
  }
  RETURN_IF_ERROR(store.index().ForEachTag([&](std::string_view name, const Digest& tagged) {
    if (tagged == id) image.tags.emplace_back(name);
    return Ok();
  }));
  return image;
}

// Writes each distinct layer once, as name_of names it, checking that the
// reassembled bytes hash to the diffID.
Status WriteLayers(Store& store, const StoredImage& image, ExportSink& sink,
                   const std::function<std::string(const Digest&)>& name_of,
                   const ProgressFn& progress) {
  const auto n = static_cast<uint32_t>(image.layers.size());
  std::set<Digest> written;
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const ExportLayer& layer = image.layers[i];
    if (!written.insert(layer.diff_id).second) continue;
    Sha256 sha;
    uint64_t bytes = 0, next_report = 0;
    auto produce = [&](const ExportSink::Writer& write) -> Status {
      RETURN_IF_ERROR(ReassembleLayer(
          store.index(), store.objects(), layer.diff_id, [&](std::string_view piece) -> Status {
            sha.Update(piece);
            bytes += piece.size();
            if (progress && bytes >= next_report) {
              progress(Progress{"export", i + 1, n, bytes, total + bytes});
              next_report = bytes + kProgressEvery;
            }
            return write(piece);
          }));
      if (sha.Finish() != layer.diff_id) return Error::Corrupt("content differs");
      return Ok();
    };
    Status st = sink.AddStream(name_of(layer.diff_id), layer.size, produce);
    if (!st.ok()) {
      if (st.error().code() != EBADMSG) return st;
      return Error::Corrupt("layer " + layer.diff_id.str() + " does not reproduce its diffID (" +
                            st.error().message() + ")");
    }
    total += bytes;
  }
  return Ok();
}

std::string BlobName(const Digest& d) { return "blobs/sha256/" + d.hex(); }

Status WriteOci(Store& store, const StoredImage& image, ExportSink& sink,
                const ProgressFn& progress) {
  RETURN_IF_ERROR(sink.AddFile("oci-layout", oci::BuildLayoutFile()));
  RETURN_IF_ERROR(WriteLayers(store, image, sink, BlobName, progress));

  oci::Manifest m;
  m.media_type = std::string(oci::media_type::kOciManifest);
  m.config.media_type = std::string(oci::media_type::kOciConfig);
  m.config.digest = image.id;
  m.config.size = image.config.size();
  for (const ExportLayer& layer : image.layers) {
    oci::Descriptor d;
    d.media_type = std::string(oci::media_type::kOciLayer);
    d.digest = layer.diff_id;
    d.size = layer.size;
    m.layers.push_back(std::move(d));
  }
  const std::string manifest = oci::BuildManifest(m);
  const Digest manifest_digest = Sha256::Of(manifest);
  RETURN_IF_ERROR(sink.AddFile(BlobName(image.id), image.config));
  RETURN_IF_ERROR(sink.AddFile(BlobName(manifest_digest), manifest));

  oci::Descriptor entry;
  entry.media_type = std::string(oci::media_type::kOciManifest);
  entry.digest = manifest_digest;
  entry.size = manifest.size();
  if (!image.parsed.os.empty() && !image.parsed.architecture.empty()) {
    entry.platform =
        oci::Platform{image.parsed.os, image.parsed.architecture, image.parsed.variant, ""};
  }
  oci::ImageIndex index;
  index.media_type = std::string(oci::media_type::kOciIndex);
  if (image.tags.empty()) index.manifests.push_back(entry);
  for (const std::string& tag : image.tags) {
    oci::Descriptor named = entry;
    named.annotations[std::string(oci::kAnnotationRefName)] = tag;
    index.manifests.push_back(std::move(named));
  }
  return sink.AddFile("index.json", oci::BuildImageIndex(index));
}

Status WriteDocker(Store& store, const StoredImage& image, ExportSink& sink,
                   const ProgressFn& progress) {
  auto layer_name = [](const Digest& d) { return d.hex() + ".tar"; };
  RETURN_IF_ERROR(WriteLayers(store, image, sink, layer_name, progress));
  oci::DockerArchiveImage entry;
  entry.config = image.id.hex() + ".json";
  entry.repo_tags = image.tags;
  for (const ExportLayer& layer : image.layers) entry.layers.push_back(layer_name(layer.diff_id));
  RETURN_IF_ERROR(sink.AddFile(entry.config, image.config));
  RETURN_IF_ERROR(sink.AddFile("manifest.json", oci::BuildDockerArchiveManifest({entry})));
  if (image.tags.empty() || image.layers.empty()) return Ok();
  // Legacy readers name the top layer by an ID of its chain.
  Digest chain;
  for (const ExportLayer& layer : image.layers) chain = ChainId(chain, layer.diff_id);
  return sink.AddFile("repositories", oci::BuildDockerRepositories(image.tags, chain.hex()));
}

Status Export(Store& store, const Digest& image_id, const ExportOptions& options) {
  if (options.path.empty()) return Error::Invalid("no output path");
  ASSIGN_OR_RETURN(StoredImage image, LoadImage(store, image_id));
  std::unique_ptr<ExportSink> sink;
  if (options.format == ExportFormat::kOciLayout) {
    ASSIGN_OR_RETURN(sink, ExportSink::CreateDir(options.path));
  } else {
    ASSIGN_OR_RETURN(sink, ExportSink::CreateTar(options.path));
  }
  if (options.format == ExportFormat::kDockerArchive) {
    RETURN_IF_ERROR(WriteDocker(store, image, *sink, options.progress));
  } else {
    RETURN_IF_ERROR(WriteOci(store, image, *sink, options.progress));
  }
  return sink->Commit();
}

}  // namespace

Status ExportImageTo(Store& store, const Digest& image_id, const ExportOptions& options) {
  Status st = Export(store, image_id, options);
  if (!st.ok()) {
    return std::move(st).error().Context("export " +
                                         (options.ref.empty() ? image_id.str() : options.ref));
  }
  return Ok();
}

}  // namespace strata::storage
