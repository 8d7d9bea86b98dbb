#include "runtime/image_mounts.h"

#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <boost/json.hpp>

#include "common/fs.h"
#include "common/log.h"
#include "fuse/lower.h"

namespace strata::runtime {

namespace {

namespace json = boost::json;

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (::getrandom(raw.data(), raw.size(), 0) != static_cast<ssize_t>(raw.size())) {
    for (auto& c : raw) c = static_cast<char>(::random());
  }
  return storage::HexEncode(raw);
}

std::string ScratchDir(storage::Store& store, const std::string& scratch) {
  return JoinPath(JoinPath(store.root(), "containers"), scratch);
}

}  // namespace

Result<std::unique_ptr<ImageMounts>> ImageMounts::Open(storage::Store& store,
                                                       fuse::FuseServer& fuse,
                                                       ChildReaper& reaper) {
  std::unique_ptr<ImageMounts> mounts(new ImageMounts(store, fuse, reaper));
  auto state = ReadFile(mounts->state_path());
  if (state.ok()) {
    json::error_code ec;
    json::value v = json::parse(*state, ec);
    if (!ec && v.is_array()) {
      for (const auto& item : v.as_array()) {
        if (!item.is_object()) continue;
        const auto& o = item.as_object();
        auto str = [&](const char* key) -> std::string {
          auto* f = o.if_contains(key);
          return f != nullptr && f->is_string() ? std::string(f->as_string()) : "";
        };
        std::string dir = str("dir"), scratch = str("scratch");
        // Left by a stratad that did not stop cleanly: its FUSE session is
        // gone, so the bind is dead weight.
        if (!dir.empty() && ::umount2(dir.c_str(), MNT_DETACH) == 0) {
          LogInfo("detached stale mount " + dir);
        }
        if (!scratch.empty() && scratch.find('/') == std::string::npos) {
          (void)RemoveTree(ScratchDir(store, scratch));
        }
      }
    }
  }
  std::lock_guard lock(mounts->mu_);
  RETURN_IF_ERROR(mounts->Save());
  return mounts;
}

Status ImageMounts::Save() const {
  json::array out;
  for (const auto& m : mounts_) {
    out.push_back(json::object{{"dir", m.dir}, {"image", m.image}, {"scratch", m.scratch}});
  }
  return WriteFileAtomic(state_path(), json::serialize(out), 0600);
}

Result<std::shared_ptr<fuse::UnionRoot>> ImageMounts::MakeRoot(const storage::Digest& image,
                                                               const std::string& scratch) {
  ASSIGN_OR_RETURN(auto record, store_.index().GetImage(image));
  if (!record) return Error::NotFound("no such image: " + image.str());
  fuse::UnionRootOptions options;
  options.lower = fuse::MakeChainLower(store_.index(), store_.objects(), record->chain);
  if (scratch.empty()) {
    options.statfs_dir = store_.root();
  } else {
    options.upper_dir = ScratchDir(store_, scratch) + "/upper";
    options.work_dir = ScratchDir(store_, scratch) + "/work";
  }
  ASSIGN_OR_RETURN(auto root, fuse::UnionRoot::Open(std::move(options)));
  return std::shared_ptr<fuse::UnionRoot>(std::move(root));
}

Result<std::string> ImageMounts::View(const storage::Digest& image) {
  std::lock_guard lock(mu_);
  const std::string name = image.hex();
  if (!fuse_.HasRoot(fuse::FuseServer::kImages, name)) {
    ASSIGN_OR_RETURN(auto root, MakeRoot(image, ""));
    Status added = fuse_.AddRoot(fuse::FuseServer::kImages, name, std::move(root));
    if (!added.ok() && added.error().code() != EEXIST) return std::move(added).error();
  }
  return fuse_.PathOf(fuse::FuseServer::kImages, name);
}

Result<MountRecord> ImageMounts::Mount(const std::string& ref, const std::string& dir,
                                       bool writable) {
  if (dir.empty() || dir[0] != '/') return Error::Invalid("mount point must be an absolute path");
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return Error::FromErrno("mount point " + dir);
  if (!S_ISDIR(st.st_mode)) return Error(ENOTDIR, "mount point " + dir + " is not a directory");
  ASSIGN_OR_RETURN(storage::Digest image, store_.ResolveImage(ref));
  {
    std::lock_guard lock(mu_);
    for (const auto& m : mounts_) {
      if (m.dir == dir) return Error(EBUSY, dir + " already has an image mounted");
    }
  }
  MountRecord record{dir, image.str(), ""};
  std::string source;
  if (writable) {
    record.scratch = "scratch-" + RandomHex(8);
    ASSIGN_OR_RETURN(auto root, MakeRoot(image, record.scratch));
    RETURN_IF_ERROR(fuse_.AddRoot(fuse::FuseServer::kContainers, record.scratch, std::move(root)));
    source = fuse_.PathOf(fuse::FuseServer::kContainers, record.scratch);
  } else {
    ASSIGN_OR_RETURN(source, View(image));
  }
  auto undo = [&] {
    if (!record.scratch.empty()) {
      (void)fuse_.RemoveRoot(fuse::FuseServer::kContainers, record.scratch);
      (void)RemoveTree(ScratchDir(store_, record.scratch));
    }
  };
  // The bind looks the source up on stratad's own FUSE mount: in a child
  // (ChildReaper::Fork says why).
  auto bind = [&]() -> Result<std::string> {
    if (::mount(source.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return Error::FromErrno("bind " + source + " at " + dir);
    }
    // The FUSE session allows devices and setuid (container roots need
    // them, inside their containers); a view on the host must give its
    // users neither: an image's setuid-root file or device node would be
    // theirs.
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | (writable ? 0 : MS_RDONLY);
    if (::mount(nullptr, dir.c_str(), nullptr, flags, nullptr) != 0) {
      Error err =
          Error::FromErrno("make " + dir + " nosuid, nodev" + (writable ? "" : ", read-only"));
      ::umount2(dir.c_str(), MNT_DETACH);
      return err;
    }
    return std::string();
  };
  if (auto bound = reaper_.Call(bind, kBindTimeout); !bound.ok()) {
    undo();
    return bound.error();
  }
  std::lock_guard lock(mu_);
  mounts_.push_back(record);
  Status saved = Save();
  if (!saved.ok()) LogWarning("saving mounts.json: " + saved.error().message());
  return record;
}

Status ImageMounts::Unmount(const std::string& dir) {
  MountRecord record;
  {
    std::lock_guard lock(mu_);
    auto it = std::find_if(mounts_.begin(), mounts_.end(),
                           [&](const MountRecord& m) { return m.dir == dir; });
    if (it == mounts_.end()) return Error::NotFound(dir + " is not a strata mount");
    // Busy (files open, a process inside): detach it from the tree as
    // `umount -l` does; what is open keeps working until closed.
    // EINVAL: no longer a mount point (someone unmounted it by hand).
    if (::umount2(dir.c_str(), 0) != 0) {
      int err = errno;
      if (err == EBUSY) {
        if (::umount2(dir.c_str(), MNT_DETACH) != 0) return Error::FromErrno("unmount " + dir);
      } else if (err != EINVAL) {
        return Error::FromErrno("unmount " + dir, err);
      }
    }
    record = *it;
    mounts_.erase(it);
    RETURN_IF_ERROR(Save());
  }
  if (!record.scratch.empty()) {
    // The scratch layer goes with the mount.
    (void)fuse_.RemoveRoot(fuse::FuseServer::kContainers, record.scratch);
    RETURN_IF_ERROR(RemoveTree(ScratchDir(store_, record.scratch)));
  }
  return Ok();
}

std::vector<MountRecord> ImageMounts::List() const {
  std::lock_guard lock(mu_);
  return mounts_;
}

void ImageMounts::UnmountAll() {
  for (const auto& m : List()) {
    if (!Unmount(m.dir).ok()) {
      ::umount2(m.dir.c_str(), MNT_DETACH);
      if (!m.scratch.empty()) (void)RemoveTree(ScratchDir(store_, m.scratch));
    }
  }
  std::lock_guard lock(mu_);
  mounts_.clear();
  (void)Save();
}

}  // namespace strata::runtime
