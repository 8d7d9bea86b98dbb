#include "registry/puller.h"

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>

#include "storage/byte_source.h"
#include "storage/layer_importer.h"
#include "storage/lease.h"
#include "storage/oci.h"
#include "storage/read_ahead_source.h"

namespace strata::registry {

namespace {

using storage::Digest;
namespace oci = storage::oci;

constexpr uint64_t kMaxManifestBytes = 4 << 20;
constexpr uint64_t kMaxConfigBytes = 16 << 20;
constexpr int kMaxIndexDepth = 4;

std::string Short(const Digest& d) { return d.hex().substr(0, 12); }

// The layers a pull has created so far; discarded unless committed.
class PendingLayers {
 public:
  explicit PendingLayers(storage::ObjectStore& objects) : objects_(objects) {}
  PendingLayers(const PendingLayers&) = delete;
  PendingLayers& operator=(const PendingLayers&) = delete;
  ~PendingLayers() {
    if (committed_) return;
    for (const auto& layer : layers_) objects_.Discard(layer->created_objects);
  }
  const storage::LayerContents* Add(storage::LayerContents contents) {
    std::lock_guard lock(mu_);
    layers_.push_back(std::make_unique<storage::LayerContents>(std::move(contents)));
    return layers_.back().get();
  }
  std::vector<const storage::LayerContents*> pointers() {
    std::lock_guard lock(mu_);
    std::vector<const storage::LayerContents*> out;
    for (const auto& l : layers_) out.push_back(l.get());
    return out;
  }
  void Committed() { committed_ = true; }

 private:
  storage::ObjectStore& objects_;
  std::mutex mu_;
  std::vector<std::unique_ptr<storage::LayerContents>> layers_;
  bool committed_ = false;
};

// Shared progress snapshot, reported under a lock.
class ProgressBoard {
 public:
  ProgressBoard(std::vector<LayerProgress> layers, TransferProgressFn fn)
      : layers_(std::move(layers)), fn_(std::move(fn)) {}
  void Set(size_t i, const std::string& state, uint64_t bytes) {
    std::lock_guard lock(mu_);
    layers_[i].state = state;
    layers_[i].bytes = bytes;
    if (fn_) fn_(layers_);
  }

 private:
  std::mutex mu_;
  std::vector<LayerProgress> layers_;
  TransferProgressFn fn_;
};

Status Drain(storage::ByteSource& source) {
  char buf[1 << 16];
  for (;;) {
    ASSIGN_OR_RETURN(size_t got, source.Read(buf, sizeof buf));
    if (got == 0) return Ok();
  }
}

struct LayerJob {
  size_t index = 0;
  oci::Descriptor blob;
  Digest diff_id;
};

struct Fetch {
  std::vector<std::pair<Digest, Digest>> blobs;  // compressed -> diffID
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> resumes{0};
};

Status PullLayer(storage::Store& store, RegistryClient& client, const std::string& repository,
                 const LayerJob& job, const std::atomic<bool>& cancel, ProgressBoard& board,
                 PendingLayers& pending, Fetch& fetch) {
  board.Set(job.index, "downloading", 0);
  ASSIGN_OR_RETURN(auto stream, client.OpenBlob(repository, job.blob.digest, job.blob.size, &cancel,
                                                [&](uint64_t bytes) {
                                                  board.Set(job.index, "downloading", bytes);
                                                }));
  storage::HashingSource compressed(stream.get());
  ASSIGN_OR_RETURN(auto decompressed, storage::DecompressingSource::Open(&compressed));
  // Download, the blob's sha256 and gunzip on one core; the importer (the
  // diffID's sha256, tar, object files) on the other: the diffID's sha256 on
  // the download's thread made that one the bottleneck (docs/registry.md).
  storage::ReadAheadSource tar(decompressed.get(), storage::ReadAheadSource::Hash::kNo);
  ASSIGN_OR_RETURN(storage::LayerContents contents,
                   storage::ImportLayer(store.objects(), static_cast<storage::ByteSource&>(tar)));
  const storage::LayerContents* added = pending.Add(std::move(contents));
  // ImportLayer reads the tar to its end: its diffID covers every byte.
  tar.Stop();
  RETURN_IF_ERROR(Drain(compressed));
  fetch.bytes += compressed.bytes();
  fetch.resumes += stream->resumes();
  const Digest blob_digest = compressed.Finish();
  if (blob_digest != job.blob.digest) {
    return Error::Corrupt("digest mismatch: blob " + job.blob.digest.str() + " has content " +
                          blob_digest.str());
  }
  if (compressed.bytes() != job.blob.size) {
    return Error::Corrupt("blob " + job.blob.digest.str() + " has " +
                          std::to_string(compressed.bytes()) + " bytes where the manifest says " +
                          std::to_string(job.blob.size));
  }
  if (added->diff_id != job.diff_id) {
    return Error::Corrupt("diffID mismatch: the config says " + job.diff_id.str() +
                          ", the layer is " + added->diff_id.str());
  }
  board.Set(job.index, "done", compressed.bytes());
  return Ok();
}

// Down from the reference to one image manifest.
struct Resolved {
  std::string manifest;
  Digest manifest_digest;
  std::string media_type;
};

Result<Resolved> ResolveManifest(RegistryClient& client, const Reference& ref,
                                 const oci::Platform& platform) {
  ASSIGN_OR_RETURN(Fetched top, client.GetManifest(ref.repository, ref.ManifestRef()));
  Digest digest = storage::Sha256::Of(top.body);
  if (ref.digest && digest != *ref.digest) {
    return Error::Corrupt("digest mismatch: manifest " + ref.digest->str() + " has content " +
                          digest.str());
  }
  if (!top.digest.empty() && top.digest != digest.str()) {
    return Error::Corrupt("digest mismatch: the registry says manifest " + top.digest +
                          ", its content is " + digest.str());
  }
  std::string media_type = top.media_type;
  std::string body = std::move(top.body);
  const std::string where = ref.Familiar();
  for (int depth = 0;; ++depth) {
    // The document's own mediaType decides when the header is vague.
    if (!oci::IsIndexMediaType(media_type) && !oci::IsManifestMediaType(media_type)) {
      auto as_index = oci::ParseImageIndex(body, where);
      if (as_index.ok() && !as_index->manifests.empty()) {
        media_type = std::string(oci::media_type::kOciIndex);
      } else {
        media_type = std::string(oci::media_type::kOciManifest);
      }
    }
    if (oci::IsManifestMediaType(media_type)) return Resolved{body, digest, media_type};
    if (depth == kMaxIndexDepth) {
      return Error::Invalid(where + ": image indexes nested more than 4 deep");
    }
    ASSIGN_OR_RETURN(oci::ImageIndex index, oci::ParseImageIndex(body, where));
    ASSIGN_OR_RETURN(size_t chosen, oci::SelectManifest(index, platform, where));
    const oci::Descriptor& d = index.manifests[chosen];
    if (d.size > kMaxManifestBytes) return Error(EFBIG, where + ": manifest too large");
    ASSIGN_OR_RETURN(Fetched next, client.GetManifest(ref.repository, d.digest.str()));
    if (next.body.size() != d.size || storage::Sha256::Of(next.body) != d.digest) {
      return Error::Corrupt("digest mismatch: manifest " + d.digest.str() +
                            " does not match its descriptor");
    }
    body = std::move(next.body);
    digest = d.digest;
    media_type = d.media_type;
  }
}

}  // namespace

Result<PullResult> PullImage(storage::Store& store, RegistryClient& client, const Reference& ref,
                             const PullOptions& options) {
  ASSIGN_OR_RETURN(oci::Platform platform, oci::ParsePlatform(options.platform));
  const std::string where = ref.Familiar();
  // GC waits while the pull dedups and reuses layers, until its commit
  // (storage/write_gate.h); the lease marks the work in progress.
  std::shared_lock gate(store.write_gate());
  ASSIGN_OR_RETURN(auto lease,
                   storage::Lease::Acquire(store.index(), {.description = "pull " + where}));
  ASSIGN_OR_RETURN(Resolved resolved, ResolveManifest(client, ref, platform));
  ASSIGN_OR_RETURN(oci::Manifest manifest, oci::ParseManifest(resolved.manifest, where));
  const oci::Descriptor& cd = manifest.config;
  if (cd.media_type != oci::media_type::kOciConfig &&
      cd.media_type != oci::media_type::kDockerConfig) {
    return Error::Invalid(where +
                          ": config.mediaType: not an image config: " + oci::Quoted(cd.media_type));
  }
  if (cd.size > kMaxConfigBytes) return Error(EFBIG, where + ": config too large");
  ASSIGN_OR_RETURN(std::string config_json, client.GetBlob(ref.repository, cd.digest, cd.size));
  if (config_json.size() != cd.size) {
    return Error::Corrupt("config " + cd.digest.str() + " has " +
                          std::to_string(config_json.size()) + " bytes where the manifest says " +
                          std::to_string(cd.size));
  }
  ASSIGN_OR_RETURN(oci::ImageConfig config, oci::ParseImageConfig(config_json, cd.digest.str()));
  if (config.diff_ids.size() != manifest.layers.size()) {
    return Error::Invalid(where + ": the manifest lists " + std::to_string(manifest.layers.size()) +
                          " layers but the config's rootfs.diff_ids has " +
                          std::to_string(config.diff_ids.size()));
  }

  PullResult result;
  result.layers = static_cast<uint32_t>(manifest.layers.size());
  result.manifest_digest = resolved.manifest_digest;
  std::vector<LayerProgress> board_init;
  std::vector<LayerJob> jobs;
  std::set<Digest> planned;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const oci::Descriptor& l = manifest.layers[i];
    if (!oci::IsLayerMediaType(l.media_type)) {
      bool encrypted = l.media_type.find("encrypted") != std::string::npos;
      return Error::Invalid(where + ": layers[" + std::to_string(i) + "].mediaType: " +
                            (encrypted ? "encrypted layers are not supported"
                                       : "not a layer: " + oci::Quoted(l.media_type)));
    }
    board_init.push_back({Short(l.digest), "waiting", 0, l.size});
    ASSIGN_OR_RETURN(auto stored, store.index().GetLayer(config.diff_ids[i]));
    if (stored || !planned.insert(config.diff_ids[i]).second) {
      board_init.back().state = "exists";
      ++result.layers_reused;
      continue;
    }
    jobs.push_back({i, l, config.diff_ids[i]});
  }
  std::atomic<bool> cancel{false};
  TransferProgressFn progress;
  if (options.progress) {
    // The caller's cancel is learnt when it reports: it is set by a report
    // that could not reach the client.
    progress = [&](const std::vector<LayerProgress>& layers) {
      options.progress(layers);
      if (options.cancel && options.cancel->load()) cancel = true;
    };
  }
  ProgressBoard board(std::move(board_init), progress);
  if (progress && jobs.empty() && result.layers > 0) board.Set(0, "exists", 0);

  PendingLayers pending(store.objects());
  Fetch fetch;
  std::mutex error_mu;
  std::optional<Error> first_error;
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (;;) {
      size_t k = next++;
      if (k >= jobs.size() || cancel.load()) return;
      const LayerJob& job = jobs[k];
      Status st = PullLayer(store, client, ref.repository, job, cancel, board, pending, fetch);
      if (!st.ok()) {
        std::lock_guard lock(error_mu);
        // The first failure is the story; the others were cancelled by it.
        if (!first_error) {
          first_error = std::move(st).error().Context("layer " + std::to_string(job.index + 1) +
                                                      " (" + Short(job.blob.digest) + ")");
        }
        cancel = true;
        return;
      }
    }
  };
  unsigned n = std::max(1u, std::min<unsigned>(options.parallel, jobs.size()));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (first_error) return std::move(*first_error);

  result.layers_fetched = static_cast<uint32_t>(jobs.size());
  result.bytes_fetched = fetch.bytes;
  result.resumes = fetch.resumes;
  storage::Store::NewImage image;
  image.config = std::move(config_json);
  image.manifest = resolved.manifest;
  image.diff_ids = config.diff_ids;
  image.new_layers = pending.pointers();
  if (!ref.tag.empty() && !ref.digest) {
    ASSIGN_OR_RETURN(result.tag, storage::Store::NormalizeTag(ref.Familiar()));
    image.tags.push_back(result.tag);
  }
  for (const auto& job : jobs) image.blobs.emplace_back(job.blob.digest, job.diff_id);
  ASSIGN_OR_RETURN(result.image_id, store.CommitImage(image));
  pending.Committed();

  // Remembered for pushes; a cache, so outside the image's batch.
  storage::Index::Batch batch;
  for (const auto& job : jobs) {
    batch.PutLayerBlob(job.diff_id,
                       {job.blob.digest, job.blob.size, job.blob.media_type, ref.Repo()});
  }
  if (batch.count() > 0) (void)store.index().Write(batch, storage::Index::Sync::kNo);
  return result;
}

}  // namespace strata::registry
