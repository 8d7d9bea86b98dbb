#include "storage/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "common/fs.h"
#include "storage/image_exporter.h"
#include "storage/image_importer.h"
#include "storage/merged_view.h"
#include "storage/rootfs_importer.h"
#include "storage/schema.h"

namespace strata::storage {

namespace {

// The bytes of a file, or of the files under a directory (an exported OCI
// layout: a handful of blobs).
uint64_t PathBytes(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    auto size = std::filesystem::file_size(path, ec);
    return ec ? 0 : size;
  }
  uint64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

}  // namespace

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  std::unique_ptr<Store> store(new Store());
  store->root_ = options.root;
  if (!options.read_only) {
    RETURN_IF_ERROR(MakeDirs(options.root, 0711));
    for (const char* dir : {"db", "objects", "blobs/sha256", "tmp"}) {
      RETURN_IF_ERROR(MakeDirs(JoinPath(options.root, dir), 0700));
    }
    ASSIGN_OR_RETURN(store->lock_fd_,
                     OpenFile(JoinPath(options.root, "lock"), O_RDWR | O_CREAT, 0600));
    if (::flock(store->lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return Error(EBUSY, "store " + options.root + " is in use by another process");
      }
      return Error::FromErrno("lock " + options.root);
    }
    // Staging debris of a previous run: nothing names it.
    RETURN_IF_ERROR(RemoveTree(store->tmp_dir()));
    RETURN_IF_ERROR(MakeDirs(store->tmp_dir(), 0700));
  }
  IndexOptions index_options;
  index_options.path = JoinPath(options.root, "db");
  index_options.read_only = options.read_only;
  index_options.create_if_missing = !options.read_only;
  ASSIGN_OR_RETURN(store->index_, Index::Open(index_options));

  ObjectStoreOptions object_options;
  object_options.objects_dir = JoinPath(options.root, "objects");
  object_options.tmp_dir = store->tmp_dir();
  Index* index = store->index_.get();
  object_options.is_recorded = [index](const ObjectId& id) -> Result<bool> {
    ASSIGN_OR_RETURN(auto record, index->GetObject(id));
    return record.has_value();
  };
  ASSIGN_OR_RETURN(store->objects_, ObjectStore::Open(std::move(object_options)));
  return store;
}

Result<Digest> Store::ResolveImage(const std::string& ref) {
  auto found = [&](const Digest& id) -> Result<Digest> {
    ASSIGN_OR_RETURN(auto image, index_->GetImage(id));
    if (!image) return Error::NotFound("no such image: " + ref);
    return id;
  };
  if (ref.rfind("sha256:", 0) == 0) {
    if (ref.size() == 71) {
      ASSIGN_OR_RETURN(Digest id, Digest::Parse(ref));
      return found(id);
    }
  } else if (ref.size() == 64 && IsHex(ref)) {
    ASSIGN_OR_RETURN(Digest id, Digest::FromHex(ref));
    return found(id);
  }
  if (auto tag = NormalizeTag(ref); tag.ok()) {
    ASSIGN_OR_RETURN(auto id, index_->GetTag(*tag));
    if (id) return *id;
  }
  std::string prefix = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
  if (prefix.size() >= 4 && prefix.size() < 64 && IsHex(prefix)) {
    std::vector<Digest> matches;
    RETURN_IF_ERROR(index_->ForEachImage([&](const ImageRecord& r) {
      if (r.id.hex().compare(0, prefix.size(), prefix) == 0) matches.push_back(r.id);
      return Ok();
    }));
    if (matches.size() == 1) return matches[0];
    if (matches.size() > 1) {
      return Error::Invalid("image ID prefix \"" + prefix + "\" is ambiguous (" +
                            std::to_string(matches.size()) + " images)");
    }
  }
  return Error::NotFound("no such image: " + ref);
}

Result<Digest> Store::CommitImage(const NewImage& image) {
  std::lock_guard lock(commit_mu_);
  const Digest image_id = Sha256::Of(image.config);

  // The config and manifest go into blobs/ first, without an fsync each:
  // the one syncfs below makes them durable with the objects, and runs on a
  // thread of its own while the batch is built (the view of a big layer
  // takes tens of ms of CPU, the syncfs as long in the kernel's writeback).
  // On any failure below, the blobs written here go again.
  std::vector<std::string> written_blobs;
  struct BlobCleanup {
    std::vector<std::string>& paths;
    bool armed = true;
    ~BlobCleanup() {
      if (armed) {
        for (const auto& path : paths) ::unlink(path.c_str());
      }
    }
  } blob_cleanup{written_blobs};
  bool blobs_synced = true;  // by the syncfs of the objects' filesystem
  for (const std::string* blob : {&image.config, &image.manifest}) {
    if (blob->empty()) continue;
    const Digest digest = Sha256::Of(*blob);
    std::string path = blob_path(digest);
    if (PathExists(path)) {
      // A blob written by an import that crashed before its syncfs may be
      // cut short: kept only if it is whole.
      auto stored = ReadFile(path);
      if (stored.ok() && *stored == *blob) continue;
    }
    RETURN_IF_ERROR(ReplaceFile(path, *blob, 0444));
    written_blobs.push_back(path);
  }
  if (!written_blobs.empty()) {
    struct stat blobs_st, objects_st;
    const std::string dir = root_ + "/blobs/sha256";
    if (::stat(dir.c_str(), &blobs_st) != 0 ||
        ::stat((root_ + "/objects").c_str(), &objects_st) != 0 ||
        blobs_st.st_dev != objects_st.st_dev) {
      blobs_synced = false;  // another filesystem: fsynced one by one below
    }
  }
  // Objects (and blobs) become durable before any record names them
  // (invariant 1): the batch is written only once this has returned.
  Status synced = Ok();
  std::thread syncer([&] {
    synced = objects_->Sync();
    if (synced.ok() && !blobs_synced) {
      for (const auto& path : written_blobs) {
        synced = FsyncPath(path);
        if (!synced.ok()) return;
      }
      synced = FsyncPath(root_ + "/blobs/sha256");
    }
  });
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();
    }
  } joiner{syncer};

  // Chains: a record per prefix; the top one gets its merged view.
  Digest chain;
  std::vector<ChainRecord> new_chains;
  std::vector<Digest> new_chain_ids;
  bool top_view_ready = false;
  for (size_t i = 0; i < image.diff_ids.size(); ++i) {
    Digest parent = chain;
    chain = ChainId(parent, image.diff_ids[i]);
    ASSIGN_OR_RETURN(auto record, index_->GetChain(chain));
    bool top = i + 1 == image.diff_ids.size();
    if (top && record) top_view_ready = record->view_ready;
    if (record && (!top || record->view_ready)) continue;
    new_chain_ids.push_back(chain);
    new_chains.push_back(ChainRecord{parent, image.diff_ids[i], static_cast<uint32_t>(i + 1), top});
  }

  // The merged view is built on a thread of its own while this one puts the
  // layers and objects in the batch (the two only read the layers' entries).
  Index::Batch view_batch;
  uint64_t view_bytes = 0;
  Status view_status = Ok();
  std::thread view_thread;
  if (!image.diff_ids.empty()) {
    view_thread = std::thread([&] {
      MergedViewBuilder view;
      for (size_t i = 0; i < image.diff_ids.size(); ++i) {
        auto it = std::find_if(image.new_layers.begin(), image.new_layers.end(),
                               [&](const LayerContents* l) { return l->diff_id == image.diff_ids[i]; });
        view_status = it != image.new_layers.end()
                          ? view.ApplyLayer(static_cast<uint32_t>(i), (*it)->entries)
                          : view.ApplyStoredLayer(static_cast<uint32_t>(i), *index_,
                                                  image.diff_ids[i]);
        if (!view_status.ok()) return;
      }
      view.Finish();
      view_bytes = view.content_bytes();
      if (!top_view_ready) view.WriteTo(chain, &view_batch);
    });
  }
  Joiner view_joiner{view_thread};

  std::map<Digest, const LayerContents*> fresh;
  for (const LayerContents* layer : image.new_layers) fresh[layer->diff_id] = layer;
  Index::Batch batch;
  // Layers: new ones go in the batch (unless a concurrent import stored the
  // same layer meanwhile), the others must be in the index.
  for (const Digest& diff_id : image.diff_ids) {
    ASSIGN_OR_RETURN(auto stored, index_->GetLayer(diff_id));
    auto it = fresh.find(diff_id);
    if (stored) continue;
    if (it == fresh.end()) return Error::NotFound("layer " + diff_id.str() + " is not in the store");
    if (it->second != nullptr) {
      it->second->AddToBatch(&batch);
      const int64_t now = ::time(nullptr);
      for (const auto& [path, entry] : it->second->entries) {
        if (entry.has_object() && entry.hardlink_to.empty()) {
          batch.PutObject(entry.object, ObjectRecord{entry.size, now});
        }
      }
      it->second = nullptr;  // once, even if the image lists the layer twice
    }
  }
  for (size_t i = 0; i < new_chains.size(); ++i) batch.PutChain(new_chain_ids[i], new_chains[i]);
  if (view_thread.joinable()) view_thread.join();
  RETURN_IF_ERROR(view_status);
  batch.Append(std::move(view_batch));

  ASSIGN_OR_RETURN(auto existing, index_->GetImage(image_id));
  ImageRecord record;
  if (existing) {
    record = *existing;
  } else {
    record.id = image_id;
    record.chain = chain;
    record.diff_ids = image.diff_ids;
    record.config_size = image.config.size();
    record.size = view_bytes;
    record.created = ::time(nullptr);
  }
  if (!image.manifest.empty()) record.manifest = Sha256::Of(image.manifest);
  batch.PutImage(record);
  for (const auto& tag : image.tags) batch.PutTag(tag, image_id);
  for (const auto& [compressed, diff_id] : image.blobs) batch.PutBlob(compressed, diff_id);

  syncer.join();
  Status st = synced;
  if (st.ok()) st = index_->Write(batch);
  if (!st.ok()) return std::move(st).error().Context("commit image " + image_id.str());
  blob_cleanup.armed = false;
  for (const LayerContents* layer : image.new_layers) objects_->Release(layer->created_objects);
  return image_id;
}

Result<ImportResult> Store::ImportImage(const ImportOptions& options) {
  return CountImport(ImportImageArchive(*this, options));
}

Result<ImportResult> Store::ImportRootfs(const RootfsImportOptions& options) {
  return CountImport(ImportRootfsTree(*this, options));
}

Result<ImportResult> Store::CountImport(Result<ImportResult> result) {
  if (!result.ok()) {
    stats_.imports_failed.fetch_add(1, std::memory_order_relaxed);
  } else {
    stats_.imports_succeeded.fetch_add(1, std::memory_order_relaxed);
    stats_.import_bytes.fetch_add(result->bytes_read, std::memory_order_relaxed);
  }
  return result;
}

Status Store::ExportImage(const ExportOptions& options) {
  auto id = ResolveImage(options.ref);
  if (!id.ok()) {
    stats_.exports_failed.fetch_add(1, std::memory_order_relaxed);
    return std::move(id).error();
  }
  Status st = ExportImageTo(*this, *id, options);
  if (!st.ok()) {
    stats_.exports_failed.fetch_add(1, std::memory_order_relaxed);
    return st;
  }
  stats_.exports_succeeded.fetch_add(1, std::memory_order_relaxed);
  stats_.export_bytes.fetch_add(PathBytes(options.path), std::memory_order_relaxed);
  return st;
}

Result<std::string> Store::ImageConfig(const std::string& ref) {
  ASSIGN_OR_RETURN(Digest id, ResolveImage(ref));
  return ReadFile(blob_path(id));
}

namespace {

// Tags by image, from one scan of the tags.
Result<std::map<Digest, std::vector<std::string>>> TagsByImage(Index& index) {
  std::map<Digest, std::vector<std::string>> tags;
  RETURN_IF_ERROR(index.ForEachTag([&](std::string_view name, const Digest& id) {
    tags[id].emplace_back(name);
    return Ok();
  }));
  return tags;
}

std::string JsonString(const boost::json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
    return std::string(v->as_string());
  }
  return "";
}

}  // namespace

Result<std::vector<ImageSummary>> Store::ListImages() {
  ASSIGN_OR_RETURN(auto tags, TagsByImage(*index_));
  std::vector<ImageSummary> out;
  RETURN_IF_ERROR(index_->ForEachImage([&](const ImageRecord& r) -> Status {
    ImageSummary s;
    s.id = r.id;
    s.tags = tags[r.id];
    s.chain = r.chain;
    s.layers = static_cast<uint32_t>(r.diff_ids.size());
    s.size = r.size;
    s.imported = r.created;
    auto config = ReadFile(blob_path(r.id));
    if (config.ok()) {
      boost::json::error_code ec;
      auto value = boost::json::parse(*config, ec);
      if (!ec && value.is_object()) {
        s.created = JsonString(value.as_object(), "created");
        s.architecture = JsonString(value.as_object(), "architecture");
        s.os = JsonString(value.as_object(), "os");
      }
    }
    out.push_back(std::move(s));
    return Ok();
  }));
  return out;
}

Result<ImageSummary> Store::InspectImage(const std::string& ref) {
  ASSIGN_OR_RETURN(Digest id, ResolveImage(ref));
  ASSIGN_OR_RETURN(auto images, ListImages());
  for (auto& image : images) {
    if (image.id == id) return std::move(image);
  }
  return Error::NotFound("no such image: " + ref);
}

Status Store::TagImage(const std::string& ref, const std::string& name) {
  // Neither a removal (commit_mu_) nor a prune (the gate, held exclusively)
  // may drop the image between resolving it and writing its new tag.
  std::shared_lock gate(write_gate_);
  std::lock_guard lock(commit_mu_);
  ASSIGN_OR_RETURN(Digest id, ResolveImage(ref));
  ASSIGN_OR_RETURN(std::string tag, NormalizeTag(name));
  Index::Batch batch;
  batch.PutTag(tag, id);
  return index_->Write(batch);
}

Result<std::vector<std::string>> Store::RemoveImage(const std::string& ref) {
  std::lock_guard lock(commit_mu_);
  ASSIGN_OR_RETURN(Digest id, ResolveImage(ref));
  ASSIGN_OR_RETURN(auto tags, TagsByImage(*index_));
  std::vector<std::string>& image_tags = tags[id];
  std::vector<std::string> removed;
  auto tag = NormalizeTag(ref);
  bool by_tag = tag.ok() && std::find(image_tags.begin(), image_tags.end(), *tag) !=
                                image_tags.end();
  Index::Batch batch;
  if (by_tag) {
    removed.push_back(*tag);
  } else {
    removed = image_tags;
  }
  for (const auto& t : removed) batch.DeleteTag(t);
  // Untagged images go from the list; their content stays until GC.
  if (removed.size() == image_tags.size()) batch.DeleteImage(id);
  RETURN_IF_ERROR(index_->Write(batch));
  if (removed.empty()) removed.push_back(id.str());
  return removed;
}

Result<UsageReport> Store::DiskUsage() {
  UsageReport report;
  ASSIGN_OR_RETURN(auto tags, TagsByImage(*index_));
  // Objects of each image's merged view, and how many images use each.
  std::vector<std::pair<ImageRecord, std::set<ObjectId>>> images;
  std::unordered_map<std::string, uint32_t> users;  // object raw id -> images
  std::map<ObjectId, uint64_t> sizes;
  RETURN_IF_ERROR(index_->ForEachImage([&](const ImageRecord& r) -> Status {
    std::set<ObjectId> objs;
    RETURN_IF_ERROR(index_->ForEachViewEntry(r.chain, [&](const std::string&, const ViewEntry& v) {
      if (v.entry.has_object()) {
        objs.insert(v.entry.object);
        sizes[v.entry.object] = v.entry.size;
      }
      return Ok();
    }));
    for (const auto& o : objs) ++users[std::string(o.raw())];
    report.logical_bytes += r.size;
    images.emplace_back(r, std::move(objs));
    return Ok();
  }));
  for (const auto& [record, objs] : images) {
    ImageUsage u;
    u.id = record.id;
    u.tags = tags[record.id];
    for (const auto& o : objs) {
      uint64_t size = sizes[o];
      u.total += size;
      (users[std::string(o.raw())] > 1 ? u.shared : u.unique) += size;
    }
    report.images.push_back(std::move(u));
  }
  RETURN_IF_ERROR(index_->ForEachObject([&](const ObjectId&, const ObjectRecord& r) {
    ++report.objects;
    report.object_bytes += r.size;
    return Ok();
  }));
  RETURN_IF_ERROR(index_->ForEachLayer([&](const Digest&, const LayerRecord&) {
    ++report.layers;
    return Ok();
  }));
  RETURN_IF_ERROR(index_->ForEachChain([&](const Digest&, const ChainRecord&) {
    ++report.chains;
    return Ok();
  }));
  return report;
}

}  // namespace strata::storage
