// Store: the content-addressed layer store under one root directory.
//
//   db/        the index (RocksDB)         objects/   file contents
//   blobs/     manifests and configs       tmp/       staging
//
// Lifecycle: Open() takes an exclusive lock on <root>/lock for a read-write
// store; a second read-write Open of the same root fails with EBUSY and says
// so. Thread safety: every method may be called concurrently; imports run in
// parallel and commit each in one index batch.
//
// Image references (`ref`) are, in order of lookup: a tag ("busybox",
// "busybox:1.36", "localhost:5000/app:v2"; ":latest" is implied), a full
// image ID ("sha256:<hex>" or "<hex>"), or a unique prefix of at least 4
// hex digits of an image ID.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "storage/digest.h"
#include "storage/entry.h"
#include "storage/image_tag.h"
#include "storage/index.h"
#include "storage/layer_importer.h"
#include "storage/object_store.h"
#include "storage/write_gate.h"
#include "storage/store_stats.h"

namespace strata::storage {

struct StoreOptions {
  std::string root;
  bool read_only = false;  // inspection only: no lock, no writes
};

// Reported during imports and exports.
struct Progress {
  std::string phase;        // "layer", "commit", ...
  uint32_t layer = 0;       // 1-based index of the current layer
  uint32_t layers = 0;      // total layers
  uint64_t bytes = 0;       // bytes done in the current layer
  uint64_t total_bytes = 0; // bytes done in the whole operation
};
using ProgressFn = std::function<void(const Progress&)>;

struct ImportOptions {
  std::string path;                 // OCI layout dir, OCI archive, docker-archive
  std::vector<std::string> tags;    // extra tags to set (in addition to the archive's own)
  std::string platform = "linux/amd64";  // os/arch[/variant] for image indexes
  ProgressFn progress;
};

struct RootfsImportOptions {
  std::string path;  // a directory, or a tar / tar.gz / tar.zst of a root filesystem
  std::string tag;   // required
  std::string architecture = "amd64";
  std::string os = "linux";
  ProgressFn progress;
};

struct ImportResult {
  Digest image_id;
  std::vector<std::string> tags;
  uint32_t layers = 0;
  uint32_t layers_reused = 0;  // already in the store
  uint64_t bytes_read = 0;     // uncompressed tar bytes read
  uint64_t objects_created = 0;
};

enum class ExportFormat { kOciLayout, kOciArchive, kDockerArchive };

struct ExportOptions {
  std::string ref;
  std::string path;
  ExportFormat format = ExportFormat::kOciArchive;
  ProgressFn progress;
};

struct ImageSummary {
  Digest id;
  std::vector<std::string> tags;
  Digest chain;
  uint32_t layers = 0;
  uint64_t size = 0;        // content bytes of the merged view's files
  std::string created;      // from the config (RFC 3339), may be empty
  std::string architecture; // from the config
  std::string os;
  int64_t imported = 0;     // unix seconds
};

struct ImageUsage {
  Digest id;
  std::vector<std::string> tags;
  uint64_t total = 0;   // bytes of the distinct objects the image uses
  uint64_t shared = 0;  // of which also used by another image
  uint64_t unique = 0;  // used by this image only
};

struct UsageReport {
  std::vector<ImageUsage> images;
  uint64_t objects = 0;        // object files in the index
  uint64_t object_bytes = 0;   // their bytes (what the store holds)
  uint64_t logical_bytes = 0;  // what the images would take without sharing
  uint64_t layers = 0;
  uint64_t chains = 0;
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();

  // Images.
  Result<ImportResult> ImportImage(const ImportOptions& options);
  Result<ImportResult> ImportRootfs(const RootfsImportOptions& options);
  Status ExportImage(const ExportOptions& options);
  Result<Digest> ResolveImage(const std::string& ref);
  Result<std::vector<ImageSummary>> ListImages();
  Result<ImageSummary> InspectImage(const std::string& ref);
  // The image's config JSON as stored (its sha256 is the image ID).
  Result<std::string> ImageConfig(const std::string& ref);
  Status TagImage(const std::string& ref, const std::string& name);
  // Removes a tag (or, given an ID, every tag of that image and the image
  // record once no tag names it); content stays until GC.
  Result<std::vector<std::string>> RemoveImage(const std::string& ref);
  Result<UsageReport> DiskUsage();

  // What an importer hands to CommitImage: the image's config (and manifest,
  // if it came with one) and its layers bottom to top, each either already in
  // the store or among new_layers.
  struct NewImage {
    std::string config;    // raw JSON; its sha256 is the image ID
    std::string manifest;  // raw JSON, may be empty
    std::vector<Digest> diff_ids;
    std::vector<const LayerContents*> new_layers;
    std::vector<std::string> tags;  // normalized
    std::vector<std::pair<Digest, Digest>> blobs;  // compressed digest -> diffID
  };
  // Writes the image atomically: blobs/ files, then one syncfs, then one
  // index batch with the new layers, chains, the merged view of the top
  // chain (materialized here), the image and its tags. On success the new
  // layers' created objects are released; on failure nothing is recorded,
  // and the caller discards them.
  Result<Digest> CommitImage(const NewImage& image);

  // The parts, for the components built on the store.
  Index& index() { return *index_; }
  ObjectStore& objects() { return *objects_; }
  const std::string& root() const { return root_; }
  // Imports and commits hold it shared, GC exclusively (write_gate.h).
  WriteGate& write_gate() { return write_gate_; }
  // Counts of imports and exports, for the monitor.
  const StoreStats& stats() const { return stats_; }
  std::string tmp_dir() const { return root_ + "/tmp"; }
  std::string blob_path(const Digest& d) const { return root_ + "/blobs/sha256/" + d.hex(); }

  // "busybox" -> "busybox:latest"; refuses malformed names (EINVAL;
  // image_tag.h has the rules).
  static Result<std::string> NormalizeTag(const std::string& name) {
    return NormalizeImageTag(name);
  }

 private:
  Store() = default;
  Result<ImportResult> CountImport(Result<ImportResult> result);
  std::string root_;
  UniqueFd lock_fd_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<ObjectStore> objects_;
  // Commits and removals serialize: each reads the index (which layers,
  // views and tags exist) and then writes one batch.
  std::mutex commit_mu_;
  WriteGate write_gate_;
  StoreStats stats_;
};

}  // namespace strata::storage
