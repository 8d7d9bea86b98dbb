#include "storage/gc.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>
#include <set>
#include <thread>

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
// Workers for the walk of objects/ and the unlinks: on a cold cache both
// wait on I/O, and concurrent waits overlap.
constexpr unsigned kSweepThreads = 4;

// What the walk found in one shard directory.
struct ShardSweep {
  std::vector<ObjectId> doomed;  // in readdir order: each directory block rewritten once
  std::vector<GcItem> items;
  std::vector<ObjectId> young;  // unreached, but newer than the GC
  uint64_t bytes = 0;
  Status status = Ok();
};

// Unreached files of one shard, with the inode numbers readdir gives for
// free: looked at in inode order, so the inode table is read in sequence
// rather than at random (the names are hashes).
void SweepShard(const std::string& shard_path, const std::string& shard, const Marks& marks,
                const timespec& start, bool list, ShardSweep* out) {
  DIR* d = ::opendir(shard_path.c_str());
  if (d == nullptr) {
    if (errno != ENOENT) out->status = Error::FromErrno("open " + shard_path);
    return;
  }
  struct Candidate {
    ino_t ino;
    size_t seq;
    ObjectId id;
    std::string name;
  };
  std::vector<Candidate> candidates;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.size() != 30) continue;  // ".", "..", not an object: fsck reports it
    auto id = ObjectId::FromHex(shard + std::string(name));
    if (!id.ok() || marks.objects.Contains(*id)) continue;
    candidates.push_back({e->d_ino, candidates.size(), *id, std::string(name)});
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) { return a.ino < b.ino; });
  std::vector<std::pair<size_t, ObjectId>> going;
  for (const Candidate& c : candidates) {
    struct stat st;
    if (::fstatat(::dirfd(d), c.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!Older(st, start)) {
      out->young.push_back(c.id);
      continue;
    }
    out->bytes += static_cast<uint64_t>(st.st_size);
    if (list) out->items.push_back({"object", c.id.hex(), static_cast<uint64_t>(st.st_size)});
    going.emplace_back(c.seq, c.id);
  }
  ::closedir(d);
  std::sort(going.begin(), going.end());
  for (const auto& [seq, id] : going) out->doomed.push_back(id);
}

// Object records and files: unreached and older than the start go.
Status SweepObjects(Store& store, const GcOptions& options, const Marks& marks,
                    const timespec& start, GcReport* report, Index::Batch* batch,
                    std::vector<ObjectId>* doomed) {
  const bool list = options.list || options.dry_run;
  const std::string dir = store.objects().objects_dir();
  ASSIGN_OR_RETURN(auto names, ListDir(dir));
  std::vector<std::string> shards;
  for (auto& name : names) {
    if (name.size() == 2) shards.push_back(std::move(name));
  }
  std::vector<ShardSweep> results(shards.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < shards.size();) {
      SweepShard(dir + "/" + shards[i], shards[i], marks, start, list, &results[i]);
    }
  };
  std::vector<std::thread> workers;
  for (unsigned t = 1; t < kSweepThreads; ++t) workers.emplace_back(work);
  work();
  for (auto& w : workers) w.join();
  std::set<ObjectId> kept_young;
  for (ShardSweep& r : results) {
    RETURN_IF_ERROR(r.status);
    report->objects += r.doomed.size();
    report->object_bytes += r.bytes;
    doomed->insert(doomed->end(), r.doomed.begin(), r.doomed.end());
    for (auto& item : r.items) report->items.push_back(std::move(item));
    kept_young.insert(r.young.begin(), r.young.end());
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
  ASSIGN_OR_RETURN(auto names, ListDir(tmp));
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
  ASSIGN_OR_RETURN(auto ids, ListDir(dir));
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

  auto lap = [last = t0]() mutable {
    auto now = std::chrono::steady_clock::now();
    double d = std::chrono::duration<double>(now - last).count();
    last = now;
    return d;
  };
  std::unique_lock gate(store.write_gate());
  report.gate_seconds = lap();
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
  report.mark_seconds = lap();
  RETURN_IF_ERROR_CTX(SweepRecords(store.index(), options, marks, &report, &batch), "gc: sweep");
  std::vector<ObjectId> doomed;
  RETURN_IF_ERROR_CTX(SweepObjects(store, options, marks, start, &report, &batch, &doomed),
                      "gc: sweep objects");

  report.walk_seconds = lap();
  // blobs/ files no image names.
  const std::string blob_dir = store.root() + "/blobs/sha256";
  std::vector<std::string> doomed_blobs;
  ASSIGN_OR_RETURN(auto blob_names, ListDir(blob_dir));
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
    report.index_seconds = lap();
    auto removed = store.objects().RemoveMany(doomed, kSweepThreads);
    if (!removed.ok()) LogWarning("gc: " + removed.error().message());
    for (const std::string& path : doomed_blobs) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        LogWarning("gc: unlink " + path + ": " + std::strerror(errno));
      }
    }
  }
  RETURN_IF_ERROR_CTX(SweepDebris(store, options, containers, start, &report), "gc: sweep debris");
  report.files_seconds = lap();
  report.bytes_reclaimed =
      report.object_bytes + report.blob_bytes + report.tmp_bytes + report.container_bytes;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace strata::storage
