#include "storage/fsck.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/fs.h"
#include "storage/merged_view.h"
#include "storage/store.h"
#include "storage/tar_split.h"

namespace strata::storage {

bool FsckReport::repaired() const {
  return images_hurt.empty() &&
         std::all_of(problems.begin(), problems.end(), [](const auto& p) { return p.repaired; });
}

namespace {

struct ObjectFile {
  ObjectId id;
  uint64_t size = 0;
  bool hash_ok = true;
};

Result<ObjectId> HashFile(const std::string& path, uint64_t* size) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY | O_NOFOLLOW));
  ObjectHasher hasher;
  std::string buf(1 << 18, '\0');
  *size = 0;
  for (;;) {
    ASSIGN_OR_RETURN(size_t got, ReadFull(fd.get(), buf.data(), buf.size()));
    if (got == 0) break;
    hasher.Update({buf.data(), got});
    *size += got;
  }
  return hasher.Finish();
}

class Checker {
 public:
  Checker(Store& store, const FsckOptions& options) : store_(store), options_(options) {}

  Result<FsckReport> Run() {
    const auto t0 = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(HashObjects());
    RETURN_IF_ERROR(CheckObjectRecords());
    RETURN_IF_ERROR(CheckLayers());
    RETURN_IF_ERROR(CheckChainsAndViews());
    RETURN_IF_ERROR(CheckImages());
    RETURN_IF_ERROR(FindOrphans());
    if (options_.repair) RETURN_IF_ERROR(Repair());
    report_.images_hurt.assign(hurt_.begin(), hurt_.end());
    report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return std::move(report_);
  }

 private:
  void Problem(std::string kind, std::string what) {
    report_.problems.push_back({std::move(kind), std::move(what), false});
  }

  const ObjectFile* FindFile(const ObjectId& id) const {
    auto it = std::lower_bound(files_.begin(), files_.end(), id,
                               [](const ObjectFile& f, const ObjectId& x) { return f.id < x; });
    return it != files_.end() && it->id == id ? &*it : nullptr;
  }

  // Re-hashes every object file, shards spread over the workers.
  Status HashObjects() {
    const std::string dir = store_.objects().objects_dir();
    ASSIGN_OR_RETURN(auto shards, ListDir(dir));
    unsigned n = options_.threads != 0 ? options_.threads : std::thread::hardware_concurrency();
    n = std::max(1u, std::min(n, 16u));
    std::atomic<size_t> next{0};
    std::mutex mu;
    Status failed = Ok();
    auto work = [&] {
      std::vector<ObjectFile> mine;
      std::vector<std::string> strays;
      for (size_t i; (i = next.fetch_add(1)) < shards.size();) {
        const std::string& shard = shards[i];
        const std::string shard_path = dir + "/" + shard;
        auto names = ListDir(shard_path);
        if (!names.ok()) {
          std::lock_guard lock(mu);
          failed = std::move(names).error();
          return;
        }
        for (const std::string& name : *names) {
          auto id = ObjectId::FromHex(shard + name);
          if (shard.size() != 2 || !id.ok()) {
            strays.push_back(shard_path + "/" + name);
            continue;
          }
          ObjectFile f{*id, 0, true};
          auto hash = HashFile(shard_path + "/" + name, &f.size);
          f.hash_ok = hash.ok() && *hash == *id;
          mine.push_back(f);
        }
      }
      std::lock_guard lock(mu);
      files_.insert(files_.end(), mine.begin(), mine.end());
      strays_.insert(strays_.end(), strays.begin(), strays.end());
    };
    std::vector<std::thread> workers;
    for (unsigned i = 0; i < n; ++i) workers.emplace_back(work);
    for (auto& t : workers) t.join();
    RETURN_IF_ERROR(failed);
    std::sort(files_.begin(), files_.end(),
              [](const ObjectFile& a, const ObjectFile& b) { return a.id < b.id; });
    for (const ObjectFile& f : files_) {
      ++report_.objects_checked;
      report_.object_bytes_checked += f.size;
      if (!f.hash_ok) {
        Problem("corrupt-object", "object " + f.id.hex() + ": content does not hash to its name");
        corrupt_.insert(f.id);
      }
    }
    for (const auto& s : strays_) Problem("stray", "not an object file: " + s);
    return Ok();
  }

  Status CheckObjectRecords() {
    return store_.index().ForEachObject([&](const ObjectId& id, const ObjectRecord& r) {
      recorded_.insert(id);
      const ObjectFile* f = FindFile(id);
      if (f == nullptr) {
        missing_records_.insert(id);  // judged once entries are known
      } else if (f->size != r.size && corrupt_.insert(id).second) {
        Problem("corrupt-object", "object " + id.hex() + ": " + std::to_string(f->size) +
                                      " bytes where its record says " + std::to_string(r.size));
      }
      return Ok();
    });
  }

  // An object a layer needs: present, of the size it expects, sound.
  void NeedObject(const Digest& layer, const ObjectId& id, uint64_t size, std::string_view path) {
    referenced_.insert(id);
    const ObjectFile* f = FindFile(id);
    if (f == nullptr) {
      if (missing_.insert(id).second) {
        Problem("missing-object", "object " + id.hex() + " of " + std::string(path) + " in layer " +
                                      layer.str() + " is missing");
      }
      hurt_layers_.insert(layer);
    } else if (f->size != size) {
      if (corrupt_.insert(id).second) {
        Problem("corrupt-object", "object " + id.hex() + " has " + std::to_string(f->size) +
                                      " bytes, " + std::string(path) + " in layer " + layer.str() +
                                      " expects " + std::to_string(size));
      }
      hurt_layers_.insert(layer);
    } else if (corrupt_.count(id) != 0) {
      hurt_layers_.insert(layer);
    }
  }

  Status CheckLayers() {
    Index& index = store_.index();
    std::vector<std::pair<Digest, LayerRecord>> layers;
    RETURN_IF_ERROR(index.ForEachLayer([&](const Digest& id, const LayerRecord& r) {
      layers.emplace_back(id, r);
      return Ok();
    }));
    for (const auto& [id, record] : layers) {
      ++report_.layers_checked;
      layers_.insert(id);
      uint64_t entries = 0;
      RETURN_IF_ERROR(index.ForEachEntry(id, [&](const std::string& path, const Entry& e) {
        ++entries;
        if (e.has_object()) NeedObject(id, e.object, e.size, path);
        return Ok();
      }));
      if (entries != record.entry_count) {
        Problem("layer", "layer " + id.str() + " has " + std::to_string(entries) +
                             " entries where its record says " +
                             std::to_string(record.entry_count));
      }
      uint64_t bytes = 0;
      uint64_t chunks = 0;
      Status parsed = index.ForEachTarSplit(id, [&](std::string_view chunk) {
        ++chunks;
        return ParseTarSplitChunk(chunk, [&](const TarSplitRecord& r) {
          if (r.kind == TarSplitRecord::Kind::kSegment) {
            bytes += r.segment.size();
          } else {
            bytes += r.size;
            if (r.size > 0) NeedObject(id, r.object, r.size, "(tar-split)");
          }
          return Ok();
        });
      });
      if (!parsed.ok()) {
        Problem("tar-split", "layer " + id.str() + ": " + parsed.error().message());
        hurt_layers_.insert(id);
      } else if (bytes != record.tar_size) {
        Problem("tar-split", "layer " + id.str() + ": records make " + std::to_string(bytes) +
                                 " bytes of its " + std::to_string(record.tar_size) + "-byte tar");
        hurt_layers_.insert(id);
      }
    }
    return Ok();
  }

  // The diffIDs of a chain, bottom first; empty if a link is missing.
  Result<std::vector<Digest>> ChainLayers(const Digest& chain) {
    std::vector<Digest> out;
    Digest cur = chain;
    while (!cur.empty()) {
      auto it = chains_.find(cur);
      if (it == chains_.end()) return std::vector<Digest>();
      out.push_back(it->second.diff_id);
      cur = it->second.parent;
      if (out.size() > chains_.size()) return std::vector<Digest>();  // a cycle
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

  Status CheckChainsAndViews() {
    Index& index = store_.index();
    RETURN_IF_ERROR(index.ForEachChain([&](const Digest& id, const ChainRecord& r) {
      chains_[id] = r;
      return Ok();
    }));
    for (const auto& [id, r] : chains_) {
      if (layers_.count(r.diff_id) == 0) {
        Problem("chain", "chain " + id.str() + ": its layer " + r.diff_id.str() + " is missing");
        continue;
      }
      if (!r.parent.empty() && chains_.count(r.parent) == 0) {
        Problem("chain", "chain " + id.str() + ": its parent " + r.parent.str() + " is missing");
        continue;
      }
      if (!r.view_ready) continue;
      ++report_.views_checked;
      ASSIGN_OR_RETURN(auto diff_ids, ChainLayers(id));
      bool layers_ok = !diff_ids.empty();
      for (const auto& d : diff_ids) layers_ok = layers_ok && layers_.count(d) != 0;
      if (!layers_ok) continue;  // reported above
      MergedViewBuilder view;
      for (size_t i = 0; i < diff_ids.size(); ++i) {
        RETURN_IF_ERROR(view.ApplyStoredLayer(static_cast<uint32_t>(i), index, diff_ids[i]));
      }
      view.Finish();
      std::map<std::string, ViewEntry> stored;
      Status read = index.ForEachViewEntry(id, [&](const std::string& path, const ViewEntry& e) {
        stored.emplace(path, e);
        return Ok();
      });
      if (!read.ok() || stored != view.entries()) {
        Problem("view", "the view of chain " + id.str() + " disagrees with its layers");
        bad_views_.push_back(id);
      }
    }
    return Ok();
  }

  Status CheckImages() {
    return store_.index().ForEachImage([&](const ImageRecord& r) {
      ++report_.images_checked;
      blobs_named_.insert(r.id.hex());
      if (!r.manifest.empty()) blobs_named_.insert(r.manifest.hex());
      auto config = ReadFile(store_.blob_path(r.id));
      if (!config.ok()) {
        Problem("image", "image " + r.id.str() + ": its config is missing");
        hurt_.insert(r.id.str());
      } else if (Sha256::Of(*config) != r.id) {
        Problem("image", "image " + r.id.str() + ": its config does not hash to its ID");
        hurt_.insert(r.id.str());
      }
      if (chains_.count(r.chain) == 0 && !r.diff_ids.empty()) {
        Problem("image", "image " + r.id.str() + ": its chain " + r.chain.str() + " is missing");
        hurt_.insert(r.id.str());
      }
      for (const Digest& d : r.diff_ids) {
        if (layers_.count(d) == 0) {
          Problem("image", "image " + r.id.str() + ": its layer " + d.str() + " is missing");
          hurt_.insert(r.id.str());
        } else if (hurt_layers_.count(d) != 0) {
          hurt_.insert(r.id.str());
        }
      }
      return Ok();
    });
  }

  Status FindOrphans() {
    for (const ObjectFile& f : files_) {
      if (referenced_.count(f.id) == 0 && recorded_.count(f.id) == 0 && corrupt_.count(f.id) == 0) {
        orphan_objects_.push_back(f.id);
        report_.orphans.push_back("object " + f.id.hex());
      }
    }
    for (const ObjectId& id : missing_records_) {
      if (referenced_.count(id) != 0) continue;  // reported as missing-object
      Problem("object-record", "object " + id.hex() + " is recorded but its file is missing");
    }
    const std::string blob_dir = store_.root() + "/blobs/sha256";
    ASSIGN_OR_RETURN(auto blobs, ListDir(blob_dir));
    for (const auto& hex : blobs) {
      if (blobs_named_.count(hex) != 0) continue;
      orphan_paths_.push_back(blob_dir + "/" + hex);
      report_.orphans.push_back("blob sha256:" + hex);
    }
    ASSIGN_OR_RETURN(auto tmp, ListDir(store_.tmp_dir()));
    for (const auto& name : tmp) {
      orphan_paths_.push_back(store_.tmp_dir() + "/" + name);
      report_.orphans.push_back("tmp/" + name);
    }
    return Ok();
  }

  Status Repair() {
    Index& index = store_.index();
    Index::Batch batch;
    const std::string quarantine = store_.root() + "/quarantine";
    for (FsckProblem& p : report_.problems) {
      if (p.kind == "object-record") p.repaired = true;  // record removed below
    }
    for (const ObjectId& id : missing_records_) {
      if (referenced_.count(id) == 0) batch.DeleteObject(id);
    }
    if (!corrupt_.empty()) RETURN_IF_ERROR(MakeDirs(quarantine, 0700));
    for (const ObjectId& id : corrupt_) {
      std::string from = store_.objects().PathOf(id);
      std::string to = quarantine + "/" + id.hex();
      if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
        return Error::FromErrno("quarantine " + from);
      }
      batch.DeleteObject(id);
    }
    // Quarantined objects stay problems: their images are hurt.
    for (const Digest& chain : bad_views_) {
      ASSIGN_OR_RETURN(auto diff_ids, ChainLayers(chain));
      MergedViewBuilder view;
      for (size_t i = 0; i < diff_ids.size(); ++i) {
        RETURN_IF_ERROR(view.ApplyStoredLayer(static_cast<uint32_t>(i), index, diff_ids[i]));
      }
      view.Finish();
      batch.DeleteChain(chain);  // its record and its view
      batch.PutChain(chain, chains_[chain]);
      view.WriteTo(chain, &batch);
    }
    for (FsckProblem& p : report_.problems) {
      if (p.kind == "view") p.repaired = true;
    }
    if (batch.count() > 0) RETURN_IF_ERROR_CTX(index.Write(batch), "fsck: write repairs");
    for (const ObjectId& id : orphan_objects_) RETURN_IF_ERROR(store_.objects().Remove(id));
    for (const std::string& path : orphan_paths_) RETURN_IF_ERROR(RemoveTree(path));
    report_.orphans_removed = true;
    return Ok();
  }

  Store& store_;
  const FsckOptions& options_;
  FsckReport report_;
  std::vector<ObjectFile> files_;  // sorted by id
  std::vector<std::string> strays_;
  std::set<ObjectId> recorded_, referenced_, corrupt_, missing_, missing_records_;
  std::set<Digest> layers_, hurt_layers_;
  std::map<Digest, ChainRecord> chains_;
  std::vector<Digest> bad_views_;
  std::set<std::string> blobs_named_, hurt_;
  std::vector<ObjectId> orphan_objects_;
  std::vector<std::string> orphan_paths_;
};

}  // namespace

Result<FsckReport> CheckStore(Store& store, const FsckOptions& options) {
  Checker checker(store, options);
  return checker.Run();
}

}  // namespace strata::storage
