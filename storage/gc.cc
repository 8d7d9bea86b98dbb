#include "storage/gc.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>
#include <set>

#include "common/fs.h"
#include "common/log.h"
#include "storage/store.h"

namespace strata::storage {

namespace {

// A sorted, unique set of object IDs: a million of them fit in 16 MB and a
// lookup is a binary search.
class ObjectSet {
 public:
  void Add(const ObjectId& id) { ids_.push_back(id); }
  void Seal() {
    std::sort(ids_.begin(), ids_.end());
    ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
  }
  bool Contains(const ObjectId& id) const {
    return std::binary_search(ids_.begin(), ids_.end(), id);
  }
  size_t size() const { return ids_.size(); }

 private:
  std::vector<ObjectId> ids_;
};

struct Marks {
  std::set<Digest> layers;
  std::set<Digest> chains;
  std::set<std::string> blob_hex;  // blobs/ files named by an image
  ObjectSet objects;
};

bool Older(const struct stat& st, const timespec& start) {
  return st.st_mtim.tv_sec < start.tv_sec ||
         (st.st_mtim.tv_sec == start.tv_sec && st.st_mtim.tv_nsec < start.tv_nsec);
}

// Bytes of a file or a tree (for tmp/ and containers/ debris).
uint64_t TreeBytes(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  if (!S_ISDIR(st.st_mode)) return S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
  uint64_t total = 0;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return 0;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    total += TreeBytes(path + "/" + std::string(name));
  }
  ::closedir(d);
  return total;
}

Result<std::vector<std::string>> DirNames(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return Error::FromErrno("open " + path);
  }
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") out.emplace_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Walks a chain to the bottom, marking each chain and its top layer.
Status MarkChain(Index& index, const Digest& chain, Marks* marks) {
  Digest cur = chain;
  while (!cur.empty() && marks->chains.insert(cur).second) {
    ASSIGN_OR_RETURN(auto record, index.GetChain(cur));
    if (!record) break;  // fsck reports a missing chain; GC only keeps what exists
    marks->layers.insert(record->diff_id);
    cur = record->parent;
  }
  return Ok();
}

Status Mark(Store& store, const GcOptions& options, const std::vector<ContainerRoot>& containers,
            int64_t now, Marks* marks, GcReport* report, Index::Batch* batch) {
  Index& index = store.index();
  RETURN_IF_ERROR(index.ForEachImage([&](const ImageRecord& r) -> Status {
    marks->blob_hex.insert(r.id.hex());
    if (!r.manifest.empty()) marks->blob_hex.insert(r.manifest.hex());
    Digest chain;
    for (const Digest& diff_id : r.diff_ids) {
      chain = ChainId(chain, diff_id);
      marks->chains.insert(chain);
      marks->layers.insert(diff_id);
    }
    return Ok();
  }));
  for (const ContainerRoot& c : containers) RETURN_IF_ERROR(MarkChain(index, c.chain, marks));
  RETURN_IF_ERROR(index.ForEachLease([&](std::string_view id, const LeaseRecord& r) -> Status {
    if (r.expires <= now) {
      ++report->leases_expired;
      if (options.list || options.dry_run) report->items.push_back({"lease", std::string(id), 0});
      batch->DeleteLease(id);
      return Ok();
    }
    ++report->leases_kept;
    for (const Digest& layer : r.layers) marks->layers.insert(layer);
    for (const ObjectId& object : r.objects) marks->objects.Add(object);
    return Ok();
  }));
  for (const Digest& layer : marks->layers) {
    RETURN_IF_ERROR(index.ForEachEntry(layer, [&](const std::string&, const Entry& e) {
      if (e.has_object()) marks->objects.Add(e.object);
      return Ok();
    }));
  }
  marks->objects.Seal();
  return Ok();
}

// Index records nothing reaches go into batch; object records are left to
// the object sweep (their files must be old enough too).
Status SweepRecords(Index& index, const GcOptions& options, const Marks& marks, GcReport* report,
                    Index::Batch* batch) {
  const bool list = options.list || options.dry_run;
  RETURN_IF_ERROR(index.ForEachChain([&](const Digest& id, const ChainRecord&) {
    if (marks.chains.count(id) != 0) return Ok();
    ++report->chains;
    if (list) report->items.push_back({"chain", id.str(), 0});
    batch->DeleteChain(id);
    return Ok();
  }));
  RETURN_IF_ERROR(index.ForEachLayer([&](const Digest& id, const LayerRecord& r) {
    if (marks.layers.count(id) != 0) return Ok();
    ++report->layers;
    if (list) report->items.push_back({"layer", id.str(), r.content_bytes});
    batch->DeleteLayer(id);
    return Ok();
  }));
  RETURN_IF_ERROR(index.ForEachBlob([&](const Digest& compressed, const Digest& diff_id) {
    if (marks.layers.count(diff_id) == 0) batch->DeleteBlob(compressed);
    return Ok();
  }));
  return Ok();
}

// Object records and files: unreached and older than the start go.
Status SweepObjects(Store& store, const GcOptions& options, const Marks& marks,
                    const timespec& start, GcReport* report, Index::Batch* batch,
                    std::vector<ObjectId>* doomed) {
  const bool list = options.list || options.dry_run;
  const std::string dir = store.objects().objects_dir();
  std::set<ObjectId> kept_young;  // unreached, but newer than the GC
  ASSIGN_OR_RETURN(auto shards, DirNames(dir));
  for (const std::string& shard : shards) {
    if (shard.size() != 2) continue;
    const std::string shard_path = dir + "/" + shard;
    ASSIGN_OR_RETURN(auto names, DirNames(shard_path));
    for (const std::string& name : names) {
      auto id = ObjectId::FromHex(shard + name);
      if (!id.ok()) continue;  // not an object: fsck reports it
      if (marks.objects.Contains(*id)) continue;
      struct stat st;
      if (::lstat((shard_path + "/" + name).c_str(), &st) != 0) continue;
      if (!Older(st, start)) {
        kept_young.insert(*id);
        continue;
      }
      ++report->objects;
      report->object_bytes += static_cast<uint64_t>(st.st_size);
      if (list) report->items.push_back({"object", id->hex(), static_cast<uint64_t>(st.st_size)});
      doomed->push_back(*id);
    }
  }
  return store.index().ForEachObject([&](const ObjectId& id, const ObjectRecord&) {
    if (marks.objects.Contains(id) || kept_young.count(id) != 0) {
      ++report->objects_kept;
      return Ok();
    }
    batch->DeleteObject(id);  // its file, if any, is in doomed
    return Ok();
  });
}

// Debris: everything in tmp/ (no writer runs while GC holds the gate) and
// container directories without a record, older than the start.
Status SweepDebris(Store& store, const GcOptions& options,
                   const std::vector<ContainerRoot>& containers, const timespec& start,
                   GcReport* report) {
  const bool list = options.list || options.dry_run;
  const std::string tmp = store.tmp_dir();
  ASSIGN_OR_RETURN(auto names, DirNames(tmp));
  for (const std::string& name : names) {
    std::string path = tmp + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !Older(st, start)) continue;
    uint64_t bytes = TreeBytes(path);
    ++report->tmp_entries;
    report->tmp_bytes += bytes;
    if (list) report->items.push_back({"tmp", path, bytes});
    if (!options.dry_run) RETURN_IF_ERROR(RemoveTree(path));
  }
  if (!options.containers) return Ok();
  std::set<std::string> known;
  for (const auto& c : containers) known.insert(c.id);
  const std::string dir = store.root() + "/containers";
  ASSIGN_OR_RETURN(auto ids, DirNames(dir));
  for (const std::string& id : ids) {
    std::string path = dir + "/" + id;
    struct stat st;
    if (known.count(id) != 0 || PathExists(path + "/config.json")) continue;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || !Older(st, start)) continue;
    uint64_t bytes = TreeBytes(path);
    ++report->container_dirs;
    report->container_bytes += bytes;
    if (list) report->items.push_back({"container", path, bytes});
    if (!options.dry_run) RETURN_IF_ERROR(RemoveTree(path));
  }
  return Ok();
}

}  // namespace

Result<GcReport> CollectGarbage(Store& store, const GcOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  timespec start;
  ::clock_gettime(CLOCK_REALTIME, &start);
  GcReport report;
  report.dry_run = options.dry_run;

  std::unique_lock gate(store.write_gate());
  std::vector<ContainerRoot> containers;
  if (options.containers) {
    auto listed = options.containers();
    if (!listed.ok()) return std::move(listed).error().Context("gc: list the containers");
    containers = std::move(listed).value();
  }
  Marks marks;
  Index::Batch batch;
  RETURN_IF_ERROR_CTX(Mark(store, options, containers, start.tv_sec, &marks, &report, &batch),
                      "gc: mark");
  RETURN_IF_ERROR_CTX(SweepRecords(store.index(), options, marks, &report, &batch), "gc: sweep");
  std::vector<ObjectId> doomed;
  RETURN_IF_ERROR_CTX(SweepObjects(store, options, marks, start, &report, &batch, &doomed),
                      "gc: sweep objects");

  // blobs/ files no image names.
  const std::string blob_dir = store.root() + "/blobs/sha256";
  std::vector<std::string> doomed_blobs;
  ASSIGN_OR_RETURN(auto blob_names, DirNames(blob_dir));
  for (const std::string& hex : blob_names) {
    if (marks.blob_hex.count(hex) != 0) continue;
    struct stat st;
    std::string path = blob_dir + "/" + hex;
    if (::lstat(path.c_str(), &st) != 0 || !Older(st, start)) continue;
    ++report.blobs;
    report.blob_bytes += static_cast<uint64_t>(st.st_size);
    if (options.list || options.dry_run) {
      report.items.push_back({"blob", "sha256:" + hex, static_cast<uint64_t>(st.st_size)});
    }
    doomed_blobs.push_back(path);
  }

  if (!options.dry_run) {
    // Records first: a crash after this leaves unnamed files only.
    if (batch.count() > 0) RETURN_IF_ERROR_CTX(store.index().Write(batch), "gc: write the index");
    for (const ObjectId& id : doomed) {
      Status st = store.objects().Remove(id);
      if (!st.ok()) LogWarning("gc: " + st.error().message());
    }
    for (const std::string& path : doomed_blobs) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        LogWarning("gc: unlink " + path + ": " + std::strerror(errno));
      }
    }
  }
  RETURN_IF_ERROR_CTX(SweepDebris(store, options, containers, start, &report), "gc: sweep debris");
  report.bytes_reclaimed =
      report.object_bytes + report.blob_bytes + report.tmp_bytes + report.container_bytes;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace strata::storage
