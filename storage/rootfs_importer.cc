#include "storage/rootfs_importer.h"

#include <sys/stat.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <shared_mutex>

#include "storage/byte_source.h"
#include "storage/layer_importer.h"
#include "storage/lease.h"
#include "storage/oci.h"
#include "storage/read_ahead_source.h"
#include "storage/tree_tar_source.h"

namespace strata::storage {

namespace {

constexpr const char* kCreatedBy = "strata image import-rootfs";

std::string NowRfc3339() {
  std::time_t now = std::time(nullptr);
  struct tm tm;
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The tar stream of PATH: a directory as TreeTarSource makes it, or a file
// decompressed as needed. Owns the sources it chains.
struct RootfsStream {
  std::unique_ptr<ByteSource> file;
  std::unique_ptr<ByteSource> tar;
};

Result<RootfsStream> OpenRootfs(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error(errno, std::strerror(errno));
  RootfsStream stream;
  if (S_ISDIR(st.st_mode)) {
    ASSIGN_OR_RETURN(stream.tar, TreeTarSource::Open(path));
  } else if (S_ISREG(st.st_mode)) {
    ASSIGN_OR_RETURN(stream.file, FdSource::Open(path));
    ASSIGN_OR_RETURN(stream.tar, DecompressingSource::Open(stream.file.get()));
  } else {
    return Error::Invalid("not a directory or a tar file");
  }
  return stream;
}

Result<ImportResult> Import(Store& store, const RootfsImportOptions& options) {
  if (options.tag.empty()) return Error::Invalid("a tag is required");
  ASSIGN_OR_RETURN(std::string tag, Store::NormalizeTag(options.tag));
  ASSIGN_OR_RETURN(oci::Platform platform,
                   oci::ParsePlatform(options.os + "/" + options.architecture));

  ASSIGN_OR_RETURN(RootfsStream stream, OpenRootfs(options.path));
  auto report = [&](const char* phase, uint64_t bytes) {
    if (options.progress) options.progress(Progress{phase, 1, 1, bytes, bytes});
  };
  report("layer", 0);
  // Making the tar (reading files or decompressing) and its sha256 on one
  // core, the importer on the other.
  ReadAheadSource tar(stream.tar.get());
  ASSIGN_OR_RETURN(LayerContents layer,
                   ImportLayer(store.objects(), tar,
                               [&](const LayerImportProgress& p) { report("layer", p.bytes); }));
  // From here the layer's new objects go again unless the image commits.
  struct Discard {
    ObjectStore& objects;
    const std::vector<ObjectId>& ids;
    bool armed = true;
    ~Discard() {
      if (armed) objects.Discard(ids);
    }
  } discard{store.objects(), layer.created_objects};

  oci::ImageConfig config;
  config.created = NowRfc3339();
  config.architecture = platform.architecture;
  config.os = platform.os;
  config.variant = platform.variant;
  config.diff_ids = {layer.diff_id};
  config.history.push_back({config.created, kCreatedBy, "", "", false});

  ASSIGN_OR_RETURN(auto stored, store.index().GetLayer(layer.diff_id));
  Store::NewImage image;
  image.config = oci::BuildImageConfig(config);
  image.diff_ids = config.diff_ids;
  if (!stored) image.new_layers.push_back(&layer);
  image.tags = {tag};
  report("commit", layer.record.tar_size);
  ASSIGN_OR_RETURN(Digest id, store.CommitImage(image));
  // A layer the store already had keeps its recorded objects; Discard ends
  // the pending state of our copies without touching what the index names.
  discard.armed = stored.has_value();

  ImportResult result;
  result.image_id = id;
  result.tags = {tag};
  result.layers = 1;
  result.layers_reused = stored ? 1 : 0;
  result.bytes_read = layer.record.tar_size;
  result.objects_created = stored ? 0 : layer.created_objects.size();
  return result;
}

}  // namespace

Result<ImportResult> ImportRootfsTree(Store& store, const RootfsImportOptions& options) {
  std::shared_lock gate(store.write_gate());  // GC waits meanwhile (write_gate.h)
  auto lease = Lease::Acquire(store.index(), {.description = "import-rootfs " + options.path});
  if (!lease.ok()) return std::move(lease).error().Context("import-rootfs " + options.path);
  auto result = Import(store, options);
  if (!result.ok()) return std::move(result).error().Context("import-rootfs " + options.path);
  return result;
}

}  // namespace strata::storage
