#include "storage/merged_view.h"

#include <set>

#include "storage/schema.h"

namespace strata::storage {

namespace {

// Keys of the descendants of dir in a map ordered by path: [first, end).
std::string DescendantPrefix(const std::string& dir) { return dir == "/" ? "/" : dir + "/"; }

}  // namespace

MergedViewBuilder::MergedViewBuilder() {
  ViewEntry root;
  root.entry.type = EntryType::kDirectory;
  root.entry.mode = 0755;
  root.entry.implicit = true;
  entries_.emplace("/", root);
}

void MergedViewBuilder::EraseBelow(const std::string& dir, uint32_t below_layer) {
  std::string prefix = DescendantPrefix(dir);
  for (auto it = entries_.lower_bound(prefix);
       it != entries_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    if (it->first == dir || it->second.layer >= below_layer) {
      ++it;
    } else {
      it = entries_.erase(it);
    }
  }
}

Status MergedViewBuilder::ApplyEntry(uint32_t layer, const std::string& path, const Entry& entry) {
  if (path != "/") {
    auto parent = entries_.find(schema::ParentPath(path));
    if (parent == entries_.end() || parent->second.entry.type != EntryType::kDirectory) {
      // The layer's importer gives every entry a parent in its own layer, so
      // this is a parent that a lower layer made a non-directory (e.g. a
      // symlink) and this layer writes through.
      std::string what = parent == entries_.end()
                             ? std::string("missing")
                             : std::string("a ") + EntryTypeName(parent->second.entry.type);
      return Error::Invalid("layer " + std::to_string(layer) + ": entry \"" + path +
                            "\" is below \"" + schema::ParentPath(path) + "\", which is " + what +
                            " in the layers beneath");
    }
  }
  auto existing = entries_.find(path);
  if (entry.type == EntryType::kWhiteout) {
    if (existing != entries_.end()) {
      EraseBelow(path, layer);
      entries_.erase(existing);
    }
    return Ok();
  }
  if (entry.type == EntryType::kDirectory) {
    if (existing != entries_.end() && existing->second.entry.type == EntryType::kDirectory) {
      if (entry.opaque) EraseBelow(path, layer);
      if (!entry.implicit) existing->second = ViewEntry{entry, layer};
      existing->second.entry.opaque = false;
      return Ok();
    }
    if (existing != entries_.end() && entry.implicit) {
      return Error::Invalid("layer " + std::to_string(layer) + ": \"" + path +
                            "\" is a " + EntryTypeName(existing->second.entry.type) +
                            " in the layers beneath, and this layer writes below it");
    }
  }
  if (existing != entries_.end()) {
    // A non-directory (or a directory over a non-directory) replaces the
    // lower entry and everything beneath it.
    EraseBelow(path, layer + 1);
    existing->second = ViewEntry{entry, layer};
    existing->second.entry.opaque = false;
  } else {
    ViewEntry v{entry, layer};
    v.entry.opaque = false;
    entries_.emplace(path, std::move(v));
  }
  return Ok();
}

Status MergedViewBuilder::ApplyLayer(uint32_t layer,
                                     const std::vector<std::pair<std::string, Entry>>& entries) {
  for (const auto& [path, entry] : entries) RETURN_IF_ERROR(ApplyEntry(layer, path, entry));
  return Ok();
}

Status MergedViewBuilder::ApplyStoredLayer(uint32_t layer, Index& index, const Digest& diff_id) {
  return index.ForEachEntry(diff_id, [&](const std::string& path, const Entry& entry) {
    return ApplyEntry(layer, path, entry);
  });
}

void MergedViewBuilder::Finish() {
  std::map<std::pair<uint32_t, std::string>, uint32_t> names;  // hard-link group -> names
  for (const auto& [path, v] : entries_) {
    if (v.entry.type == EntryType::kDirectory) {
      if (path != "/") ++entries_.at(schema::ParentPath(path)).nlink;
    } else {
      ++names[{v.layer, v.entry.HardlinkGroup(path)}];
    }
  }
  for (auto& [path, v] : entries_) {
    if (v.entry.type == EntryType::kDirectory) {
      v.nlink += 1;  // started at 1: "." and the parent's link, plus subdirectories
    } else {
      v.nlink = names[{v.layer, v.entry.HardlinkGroup(path)}];
    }
  }
}

uint64_t MergedViewBuilder::content_bytes() const {
  uint64_t bytes = 0;
  std::set<std::pair<uint32_t, std::string>> seen;  // hard-link groups counted
  for (const auto& [path, v] : entries_) {
    if (v.entry.type != EntryType::kRegular) continue;
    if (v.nlink > 1 && !seen.emplace(v.layer, v.entry.HardlinkGroup(path)).second) continue;
    bytes += v.entry.size;
  }
  return bytes;
}

void MergedViewBuilder::WriteTo(const Digest& chain_id, Index::Batch* batch) const {
  for (const auto& [path, entry] : entries_) batch->PutViewEntry(chain_id, path, entry);
}

}  // namespace strata::storage
