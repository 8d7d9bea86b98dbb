#include "storage/squash.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <map>
#include <shared_mutex>

#include "common/fs.h"
#include "storage/layer_importer.h"
#include "storage/oci.h"
#include "storage/store.h"
#include "storage/tar_split.h"

namespace strata::storage {

namespace {

struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<archive_entry, EntryFree>;

// Writes a pax tar of a view with libarchive, unblocked, so every call's
// output arrives in out_ at once: headers and padding become tar-split
// segments, file contents become references to their objects. The whole
// stream goes through sha256 (the diffID).
class SquashTar {
 public:
  SquashTar(Store& store) : store_(store) {}
  ~SquashTar() {
    if (a_ != nullptr) archive_write_free(a_);
  }

  Status Open() {
    a_ = archive_write_new();
    if (a_ == nullptr) return Error(ENOMEM, "archive_write_new");
    if (archive_write_set_format_pax_restricted(a_) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a_, 0) != ARCHIVE_OK ||
        archive_write_open(a_, this, nullptr, &SquashTar::Write, nullptr) != ARCHIVE_OK) {
      return ArchiveError("tar writer");
    }
    return Ok();
  }

  // name: the tar name ("etc/passwd", "./" for the root); link: the first
  // name of its hard-link group, or empty.
  Status Add(const std::string& name, const Entry& e, const std::string& link) {
    EntryPtr ae(archive_entry_new());
    archive_entry_set_pathname(ae.get(), name.c_str());
    unsigned type = AE_IFREG;
    switch (e.type) {
      case EntryType::kDirectory:
        type = AE_IFDIR;
        break;
      case EntryType::kSymlink:
        type = AE_IFLNK;
        break;
      case EntryType::kCharDevice:
        type = AE_IFCHR;
        break;
      case EntryType::kBlockDevice:
        type = AE_IFBLK;
        break;
      case EntryType::kFifo:
        type = AE_IFIFO;
        break;
      default:
        break;
    }
    archive_entry_set_filetype(ae.get(), type);
    archive_entry_set_perm(ae.get(), e.mode & 07777);
    archive_entry_set_uid(ae.get(), e.uid);
    archive_entry_set_gid(ae.get(), e.gid);
    archive_entry_set_mtime(ae.get(), e.mtime_sec, e.mtime_nsec);
    if (e.type == EntryType::kSymlink) archive_entry_set_symlink(ae.get(), e.link_target.c_str());
    if (e.type == EntryType::kCharDevice || e.type == EntryType::kBlockDevice) {
      archive_entry_set_rdevmajor(ae.get(), e.rdev_major);
      archive_entry_set_rdevminor(ae.get(), e.rdev_minor);
    }
    for (const auto& [key, value] : e.xattrs) {
      archive_entry_xattr_add_entry(ae.get(), key.c_str(), value.data(), value.size());
    }
    const bool content = link.empty() && e.has_object();
    if (!link.empty()) {
      archive_entry_set_hardlink(ae.get(), link.c_str());
      archive_entry_set_size(ae.get(), 0);
    } else {
      archive_entry_set_size(ae.get(), e.type == EntryType::kRegular ? e.size : 0);
    }
    if (archive_write_header(a_, ae.get()) < ARCHIVE_WARN) return ArchiveError("tar " + name);
    FlushSegment();
    if (content) RETURN_IF_ERROR(AddContent(name, e));
    return Ok();
  }

  Status Finish() {
    if (archive_write_close(a_) != ARCHIVE_OK) return ArchiveError("finish tar");
    FlushSegment();
    return Ok();
  }

  Digest diff_id() { return sha_.Finish(); }
  uint64_t bytes() const { return bytes_; }
  std::vector<std::string> chunks() { return split_.Finish(); }

 private:
  static la_ssize_t Write(archive*, void* self, const void* buf, size_t n) {
    static_cast<SquashTar*>(self)->out_.append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }

  Error ArchiveError(std::string_view what) const {
    const char* msg = archive_error_string(a_);
    return Error(EIO, std::string(what) + ": " + (msg != nullptr ? msg : "tar writer error"));
  }

  void FlushSegment() {
    if (out_.empty()) return;
    sha_.Update(out_);
    split_.AddSegment(out_);
    bytes_ += out_.size();
    out_.clear();
  }

  // Streams the object through sha256 and libarchive (which only counts it
  // and pads after it); the record is a reference, not the bytes.
  Status AddContent(const std::string& name, const Entry& e) {
    ASSIGN_OR_RETURN(UniqueFd fd, store_.objects().OpenObject(e.object));
    uint64_t left = e.size;
    while (left > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, buf_.size()));
      ASSIGN_OR_RETURN(size_t got, ReadFull(fd.get(), buf_.data(), want));
      if (got != want) return Error(EIO, "object " + e.object.hex() + " of " + name + " is short");
      sha_.Update({buf_.data(), got});
      if (archive_write_data(a_, buf_.data(), got) != static_cast<la_ssize_t>(got) ||
          out_.size() != got) {
        return ArchiveError("tar " + name);
      }
      out_.clear();
      left -= got;
    }
    split_.AddFile(e.size, e.object);
    bytes_ += e.size;
    return Ok();
  }

  Store& store_;
  archive* a_ = nullptr;
  std::string out_;
  std::string buf_ = std::string(1 << 18, '\0');
  Sha256 sha_;
  TarSplitWriter split_;
  uint64_t bytes_ = 0;
};

std::string TarName(const std::string& path) { return path == "/" ? "./" : path.substr(1); }

std::string NowRfc3339() {
  char buf[32];
  std::time_t now = std::time(nullptr);
  std::tm tm;
  ::gmtime_r(&now, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Result<SquashResult> SquashImage(Store& store, const std::string& ref, const std::string& tag) {
  const auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(std::string name, Store::NormalizeTag(tag));
  // GC waits until the new image is in the index (write_gate.h).
  std::shared_lock gate(store.write_gate());
  ASSIGN_OR_RETURN(Digest id, store.ResolveImage(ref));
  ASSIGN_OR_RETURN(auto image, store.index().GetImage(id));
  if (!image) return Error::NotFound("no such image: " + ref);
  ASSIGN_OR_RETURN(std::string config_text, ReadFile(store.blob_path(id)));
  ASSIGN_OR_RETURN(oci::ImageConfig config, oci::ParseImageConfig(config_text, "config"));

  // The view, parents first; hard-link groups by the name they point at.
  std::vector<std::pair<std::string, Entry>> view;
  RETURN_IF_ERROR(store.index().ForEachViewEntry(
      image->chain, [&](const std::string& path, const ViewEntry& v) {
        if (v.entry.type == EntryType::kWhiteout || v.entry.type == EntryType::kSocket) return Ok();
        if (path == "/" && v.entry.implicit) return Ok();
        view.emplace_back(path, v.entry);
        return Ok();
      }));

  // A link's target may have been replaced by an upper layer: it stays in
  // the group only while it is still the same file.
  std::map<std::string, const Entry*> by_path;
  for (const auto& [path, e] : view) by_path.emplace(path, &e);
  auto same_file = [&](const Entry& e) {
    auto it = by_path.find(e.hardlink_to);
    return it != by_path.end() && it->second->type == EntryType::kRegular &&
           it->second->size == e.size && it->second->object == e.object;
  };

  SquashTar tar(store);
  RETURN_IF_ERROR(tar.Open());
  LayerContents layer;
  std::map<std::string, std::string> first_name;  // group (the target path) -> name written
  for (auto& [path, e] : view) {
    Entry out = e;
    out.implicit = false;
    out.opaque = false;
    std::string link;
    if (e.type == EntryType::kRegular) {
      const std::string group = !e.hardlink_to.empty() && same_file(e) ? e.hardlink_to : path;
      auto [it, first] = first_name.emplace(group, path);
      if (!first) link = it->second;
      out.hardlink_to = link;
      if (link.empty()) layer.record.content_bytes += e.size;
    } else {
      out.hardlink_to.clear();
    }
    RETURN_IF_ERROR_CTX(tar.Add(TarName(path), out, link.empty() ? "" : TarName(link)),
                        "squash " + ref);
    layer.entries.emplace_back(path, std::move(out));
  }
  RETURN_IF_ERROR_CTX(tar.Finish(), "squash " + ref);
  layer.diff_id = tar.diff_id();
  layer.tar_split_chunks = tar.chunks();
  layer.record.tar_size = tar.bytes();
  layer.record.entry_count = layer.entries.size();
  layer.record.created = ::time(nullptr);

  for (auto& h : config.history) h.empty_layer = true;
  const std::string now = NowRfc3339();
  config.history.push_back({now,
                            "strata image squash " + ref + " (" + id.str() + ", " +
                                std::to_string(image->diff_ids.size()) + " layers)",
                            "", "", false});
  config.diff_ids = {layer.diff_id};

  Store::NewImage new_image;
  new_image.config = oci::BuildImageConfig(config);
  new_image.diff_ids = {layer.diff_id};
  new_image.new_layers = {&layer};
  new_image.tags = {name};
  ASSIGN_OR_RETURN(Digest new_id, store.CommitImage(new_image));

  SquashResult result;
  result.image_id = new_id;
  result.diff_id = layer.diff_id;
  result.tag = name;
  result.entries = layer.entries.size();
  result.tar_size = layer.record.tar_size;
  result.layers_before = static_cast<uint32_t>(image->diff_ids.size());
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace strata::storage
