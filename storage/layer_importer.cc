#include "storage/layer_importer.h"

#include <algorithm>
#include <unordered_map>

#include "storage/object_store.h"
#include "storage/schema.h"
#include "storage/tar_reader.h"
#include "storage/tar_split.h"

namespace strata::storage {

namespace {

constexpr size_t kMaxPath = 4096;
constexpr size_t kMaxName = 255;
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr uint64_t kProgressEvery = 4 << 20;
constexpr size_t kDataChunk = 1 << 17;

Error Refuse(const std::string& path, std::string_view why) {
  return Error::Invalid("entry \"" + path.substr(0, 256) + "\": " + std::string(why));
}

// The layer being built: entries by path, in arrival order.
class LayerBuilder {
 public:
  Result<Entry*> Find(const std::string& path) {
    auto it = index_.find(path);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
  }

  // Makes sure every ancestor of path is a directory of this layer, adding
  // implicit ones; refuses a path below a non-directory.
  Status EnsureParents(const std::string& path) {
    std::string parent = schema::ParentPath(path);
    if (parent.empty()) return Ok();
    ASSIGN_OR_RETURN(Entry * existing, Find(parent));
    if (existing != nullptr) {
      if (existing->type != EntryType::kDirectory) {
        return Refuse(path, "is below \"" + parent + "\", which is a " +
                                EntryTypeName(existing->type) + " in the same layer");
      }
      return Ok();
    }
    RETURN_IF_ERROR(EnsureParents(parent));
    Entry dir;
    dir.type = EntryType::kDirectory;
    dir.mode = 0755;
    dir.implicit = true;
    Add(parent, std::move(dir));
    return Ok();
  }

  void Add(const std::string& path, Entry e) {
    index_.emplace(path, entries_.size());
    entries_.emplace_back(path, std::move(e));
  }

  // The entries in index key order (parents first).
  std::vector<std::pair<std::string, Entry>> TakeSorted() {
    std::vector<std::pair<std::string, size_t>> keyed;
    keyed.reserve(entries_.size());
    for (size_t i = 0; i < entries_.size(); ++i) {
      keyed.emplace_back(schema::PathKey(entries_[i].first), i);
    }
    std::sort(keyed.begin(), keyed.end());
    std::vector<std::pair<std::string, Entry>> sorted;
    sorted.reserve(entries_.size());
    for (const auto& [key, i] : keyed) sorted.push_back(std::move(entries_[i]));
    entries_.clear();
    index_.clear();
    return sorted;
  }

  size_t size() const { return entries_.size(); }

 private:
  std::vector<std::pair<std::string, Entry>> entries_;
  std::unordered_map<std::string, size_t> index_;
};

Result<std::string> CheckedPath(const std::string& raw) {
  if (raw.size() > kMaxPath) {
    return Error(ENAMETOOLONG, "entry path of " + std::to_string(raw.size()) +
                                   " bytes exceeds " + std::to_string(kMaxPath));
  }
  if (!raw.empty() && raw[0] == '/') return Refuse(raw, "absolute path");
  auto normalized = schema::NormalizePath(raw);
  if (!normalized.ok()) return Refuse(raw, normalized.error().message());
  size_t pos = 1;
  while (pos < normalized->size()) {
    size_t next = normalized->find('/', pos);
    if (next == std::string::npos) next = normalized->size();
    if (next - pos > kMaxName) {
      return Error(ENAMETOOLONG, "entry \"" + raw.substr(0, 256) + "\": a name exceeds " +
                                     std::to_string(kMaxName) + " bytes");
    }
    pos = next + 1;
  }
  return normalized;
}

EntryType TypeOf(char typeflag) {
  switch (typeflag) {
    case '2': return EntryType::kSymlink;
    case '3': return EntryType::kCharDevice;
    case '4': return EntryType::kBlockDevice;
    case '5': return EntryType::kDirectory;
    case '6': return EntryType::kFifo;
    default: return EntryType::kRegular;
  }
}

}  // namespace

const char* EntryTypeName(EntryType type) {
  switch (type) {
    case EntryType::kRegular: return "file";
    case EntryType::kDirectory: return "directory";
    case EntryType::kSymlink: return "symlink";
    case EntryType::kCharDevice: return "character device";
    case EntryType::kBlockDevice: return "block device";
    case EntryType::kFifo: return "fifo";
    case EntryType::kSocket: return "socket";
    case EntryType::kWhiteout: return "whiteout";
  }
  return "unknown";
}

void LayerContents::AddToBatch(Index::Batch* batch) const {
  batch->PutLayer(diff_id, record);
  for (const auto& [path, entry] : entries) batch->PutEntry(diff_id, path, entry);
  for (size_t i = 0; i < tar_split_chunks.size(); ++i) {
    batch->PutTarSplit(diff_id, i, tar_split_chunks[i]);
  }
}

Result<LayerContents> ImportLayer(ObjectStore& objects, ByteSource& tar,
                                  const std::function<void(const LayerImportProgress&)>& progress) {
  HashingSource hashed(&tar);
  return ImportLayer(objects, static_cast<DigestingSource&>(hashed), progress);
}

Result<LayerContents> ImportLayer(ObjectStore& objects, DigestingSource& hashed,
                                  const std::function<void(const LayerImportProgress&)>& progress) {
  LayerContents out;
  TarReader reader(&hashed);
  TarSplitWriter split;
  LayerBuilder layer;
  std::string raw;
  uint64_t next_progress = kProgressEvery;

  // On failure, the objects this layer created go again.
  struct Cleanup {
    ObjectStore& objects;
    std::vector<ObjectId>& created;
    bool armed = true;
    ~Cleanup() {
      if (armed) objects.Discard(created);
    }
  } cleanup{objects, out.created_objects};

  TarHeader h;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, reader.Next(&h, &raw));
    split.AddSegment(raw);
    raw.clear();
    if (!more) break;

    ASSIGN_OR_RETURN(std::string path, CheckedPath(h.path));
    std::string_view base = schema::BaseName(path);
    Entry e;
    e.mode = h.mode;
    e.uid = h.uid;
    e.gid = h.gid;
    e.mtime_sec = h.mtime_sec;
    e.mtime_nsec = h.mtime_nsec;
    e.xattrs = std::move(h.xattrs);

    if (base.substr(0, kWhiteoutPrefix.size()) == kWhiteoutPrefix) {
      std::string parent = schema::ParentPath(path);
      RETURN_IF_ERROR(layer.EnsureParents(path));
      if (base == kOpaqueMarker) {
        ASSIGN_OR_RETURN(Entry * dir, layer.Find(parent));
        if (dir == nullptr) return Refuse(path, "opaque marker without a directory");
        dir->opaque = true;
        continue;
      }
      std::string_view hidden = base.substr(kWhiteoutPrefix.size());
      if (hidden.empty() || hidden == "." || hidden == "..") return Refuse(path, "bad whiteout");
      path = (parent == "/" ? "/" : parent + "/") + std::string(hidden);
      e = Entry();
      e.type = EntryType::kWhiteout;
    } else if (h.typeflag == '1') {
      ASSIGN_OR_RETURN(std::string target, CheckedPath(h.link));
      ASSIGN_OR_RETURN(Entry * first, layer.Find(target));
      if (first == nullptr) {
        return Refuse(path, "hard link to \"" + target + "\", which is not earlier in the layer");
      }
      if (first->type == EntryType::kDirectory || first->type == EntryType::kWhiteout) {
        return Refuse(path, "hard link to a " + std::string(EntryTypeName(first->type)));
      }
      std::string group = first->hardlink_to.empty() ? target : first->hardlink_to;
      e = *first;
      e.hardlink_to = group;
    } else {
      e.type = TypeOf(h.typeflag);
      if (e.type == EntryType::kSymlink) e.link_target = h.link;
      if (e.type == EntryType::kCharDevice || e.type == EntryType::kBlockDevice) {
        e.rdev_major = h.devmajor;
        e.rdev_minor = h.devminor;
      }
      if (e.type == EntryType::kRegular) {
        e.size = h.size;
        if (h.size > 0) {
          auto writer = objects.NewWriter(h.size);
          for (;;) {
            // Straight from the reader's buffer (no copy).
            ASSIGN_OR_RETURN(std::string_view data, reader.ReadDataView(kDataChunk));
            if (data.empty()) break;
            RETURN_IF_ERROR(writer.Append(data));
          }
          ASSIGN_OR_RETURN(auto put, writer.Commit());
          if (put.created) out.created_objects.push_back(put.id);
          e.object = put.id;
          split.AddFile(h.size, put.id);
          out.record.content_bytes += h.size;
        }
      }
    }

    ASSIGN_OR_RETURN(Entry * existing, layer.Find(path));
    if (existing != nullptr) {
      // A directory first made implicitly for a child takes its own header.
      if (existing->implicit && e.type == EntryType::kDirectory) {
        e.opaque = existing->opaque;
        *existing = std::move(e);
        continue;
      }
      return Refuse(path, "appears twice in the layer");
    }
    if (path != "/") RETURN_IF_ERROR(layer.EnsureParents(path));
    layer.Add(path, std::move(e));

    if (progress && hashed.bytes() >= next_progress) {
      progress({hashed.bytes()});
      next_progress = hashed.bytes() + kProgressEvery;
    }
  }

  out.diff_id = hashed.Finish();
  out.record.tar_size = hashed.bytes();
  out.record.entry_count = layer.size();
  out.record.created = ::time(nullptr);
  out.entries = layer.TakeSorted();
  out.tar_split_chunks = split.Finish();
  if (progress) progress({hashed.bytes()});
  cleanup.armed = false;
  return out;
}

}  // namespace strata::storage
