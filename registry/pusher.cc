#include "registry/pusher.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "common/fs.h"
#include "common/unique_fd.h"
#include "storage/oci.h"
#include "storage/tar_split.h"

namespace strata::registry {

namespace {

using storage::Digest;
namespace oci = storage::oci;

struct PushedLayer {
  Digest digest;
  uint64_t size = 0;
  std::string how;  // "exists", "mounted", "pushed"
};

class Board {
 public:
  Board(size_t n, TransferProgressFn fn) : layers_(n), fn_(std::move(fn)) {}
  void Set(size_t i, const std::string& digest, const std::string& state, uint64_t bytes,
           uint64_t size) {
    std::lock_guard lock(mu_);
    if (!digest.empty()) layers_[i].digest = digest;
    layers_[i].state = state;
    layers_[i].bytes = bytes;
    layers_[i].size = size;
    if (fn_) fn_(layers_);
  }

 private:
  std::mutex mu_;
  std::vector<LayerProgress> layers_;
  TransferProgressFn fn_;
};

// The registry-relative repository of a remembered "host/repository".
std::optional<std::string> SameRegistryRepo(const std::string& source, const Reference& target) {
  std::string prefix = target.registry + "/";
  if (source.rfind(prefix, 0) != 0) return std::nullopt;
  std::string repo = source.substr(prefix.size());
  if (repo.empty() || repo == target.repository) return std::nullopt;
  return repo;
}

Result<PushedLayer> PushLayer(storage::Store& store, RegistryClient& client,
                              const Reference& target, const Digest& diff_id, size_t i,
                              const PushOptions& options, Board& board) {
  const std::string media_type(LayerMediaType(options.compression));
  std::vector<storage::LayerBlobRecord> known;
  RETURN_IF_ERROR(store.index().ForEachLayerBlob(diff_id, [&](const storage::LayerBlobRecord& r) {
    if (r.media_type == media_type || (options.compression == Compression::kGzip &&
                                       r.media_type == oci::media_type::kDockerLayerGzip)) {
      known.push_back(r);
    }
    return Ok();
  }));
  for (const auto& r : known) {
    const std::string short_digest = r.digest.hex().substr(0, 12);
    ASSIGN_OR_RETURN(auto size, client.BlobExists(target.repository, r.digest));
    if (size) {
      board.Set(i, short_digest, "exists", r.size, r.size);
      return PushedLayer{r.digest, r.size, "exists"};
    }
    if (auto from = SameRegistryRepo(r.source, target)) {
      ASSIGN_OR_RETURN(bool mounted, client.MountBlob(target.repository, r.digest, *from));
      if (mounted) {
        board.Set(i, short_digest, "mounted", r.size, r.size);
        return PushedLayer{r.digest, r.size, "mounted"};
      }
    }
  }

  // Compress the layer as replayed from tar-split into an unlinked file.
  board.Set(i, diff_id.hex().substr(0, 12), "compressing", 0, 0);
  int raw = ::open(store.tmp_dir().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (raw < 0) return Error::FromErrno("open a temporary file in " + store.tmp_dir());
  UniqueFd fd(raw);
  ASSIGN_OR_RETURN(auto compressor, LayerCompressor::Create(options.compression, fd.get()));
  RETURN_IF_ERROR(
      storage::ReassembleLayer(store.index(), store.objects(), diff_id,
                               [&](std::string_view piece) { return compressor->Write(piece); }));
  RETURN_IF_ERROR(compressor->Finish());
  const Digest digest = compressor->digest();
  const uint64_t size = compressor->size();
  const std::string short_digest = digest.hex().substr(0, 12);
  ASSIGN_OR_RETURN(auto existing, client.BlobExists(target.repository, digest));
  if (existing) {
    board.Set(i, short_digest, "exists", size, size);
    return PushedLayer{digest, size, "exists"};
  }
  board.Set(i, short_digest, "uploading", 0, size);
  RETURN_IF_ERROR(client.UploadBlob(
      target.repository, digest, fd.get(), size, options.chunk_size,
      [&](uint64_t sent) { board.Set(i, short_digest, "uploading", sent, size); }));
  board.Set(i, short_digest, "pushed", size, size);
  return PushedLayer{digest, size, "pushed"};
}

}  // namespace

Result<PushResult> PushImage(storage::Store& store, RegistryClient& client,
                             const std::string& image_ref, const Reference& target,
                             const PushOptions& options) {
  ASSIGN_OR_RETURN(Digest id, store.ResolveImage(image_ref));
  ASSIGN_OR_RETURN(auto record, store.index().GetImage(id));
  if (!record) return Error::NotFound("no such image: " + image_ref);
  ASSIGN_OR_RETURN(std::string config_json, ReadFile(store.blob_path(id)));
  ASSIGN_OR_RETURN(oci::ImageConfig config, oci::ParseImageConfig(config_json, id.str()));
  const std::vector<Digest>& diff_ids = record->diff_ids;

  PushResult result;
  result.image_id = id;
  result.layers = static_cast<uint32_t>(diff_ids.size());
  const std::string media_type(LayerMediaType(options.compression));
  Board board(diff_ids.size(), options.progress);
  std::vector<std::optional<PushedLayer>> pushed(diff_ids.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::optional<Error> first_error;
  auto worker = [&] {
    for (;;) {
      size_t k = next++;
      if (k >= diff_ids.size() || failed.load()) return;
      auto layer = PushLayer(store, client, target, diff_ids[k], k, options, board);
      if (!layer.ok()) {
        std::lock_guard lock(error_mu);
        if (!first_error) {
          first_error = std::move(layer).error().Context("layer " + std::to_string(k + 1));
        }
        failed = true;
        return;
      }
      pushed[k] = std::move(layer).value();
    }
  };
  unsigned n = std::max(1u, std::min<unsigned>(options.parallel, diff_ids.size()));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();

  // Remember what the registry now holds, even if another layer failed:
  // a retry then skips these.
  storage::Index::Batch batch;
  for (size_t k = 0; k < diff_ids.size(); ++k) {
    if (!pushed[k]) continue;
    batch.PutLayerBlob(diff_ids[k],
                       {pushed[k]->digest, pushed[k]->size, media_type, target.Repo()});
    if (pushed[k]->how == "pushed") {
      ++result.layers_uploaded;
      result.bytes_uploaded += pushed[k]->size;
    } else if (pushed[k]->how == "mounted") {
      ++result.layers_mounted;
    } else {
      ++result.layers_existing;
    }
  }
  if (batch.count() > 0) RETURN_IF_ERROR(store.index().Write(batch));
  if (first_error) return std::move(*first_error);

  ASSIGN_OR_RETURN(auto config_there, client.BlobExists(target.repository, id));
  if (!config_there) RETURN_IF_ERROR(client.UploadBlob(target.repository, id, config_json));

  oci::Manifest manifest;
  manifest.media_type = std::string(oci::media_type::kOciManifest);
  manifest.config = {std::string(oci::media_type::kOciConfig), id, config_json.size(), {}, {}};
  for (size_t k = 0; k < diff_ids.size(); ++k) {
    manifest.layers.push_back({media_type, pushed[k]->digest, pushed[k]->size, {}, {}});
  }
  std::string manifest_json = oci::BuildManifest(manifest);
  result.manifest_digest = storage::Sha256::Of(manifest_json);
  std::string ref = target.tag.empty() ? "latest" : target.tag;
  RETURN_IF_ERROR(client.PutManifest(target.repository, ref, manifest.media_type, manifest_json));
  result.reference = target.FamiliarRepo() + ":" + ref;
  (void)config;
  return result;
}

}  // namespace strata::registry
