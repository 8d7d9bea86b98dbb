// ImageMounts: images shown through the FUSE session, and `strata mount`.
//
//   View(image)                  mnt/images/<id>: the image's read-only view,
//                                added on first use, shared by every user.
//   Mount(image, dir, writable)  binds a view (read-only) or a scratch
//                                container root (writable: its upper lives in
//                                containers/<scratch>/ and is thrown away by
//                                Unmount) at a directory of the host, nosuid
//                                and nodev (the image's setuid files and
//                                device nodes give the host's users nothing).
//   Unmount(dir)
//
// What is bound where is kept in <root>/mounts.json, so that a stratad that
// starts after a crash detaches the bind mounts the old session left (their
// FUSE mount is gone: ENOTCONN) and drops their scratch layers.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "fuse/fuse_server.h"
#include "runtime/child_reaper.h"
#include "storage/store.h"

namespace strata::runtime {

struct MountRecord {
  std::string dir;      // where it is bound on the host
  std::string image;    // image ID (sha256:...)
  std::string scratch;  // scratch root name, empty for a read-only view
};

class ImageMounts {
 public:
  // Cleans what a previous session left (see above).
  // The reaper runs the binds (they look up stratad's own mount) and must
  // outlive the object.
  static Result<std::unique_ptr<ImageMounts>> Open(storage::Store& store, fuse::FuseServer& fuse,
                                                   ChildReaper& reaper);

  // The path of the image's view under the FUSE mount.
  Result<std::string> View(const storage::Digest& image);
  Result<MountRecord> Mount(const std::string& ref, const std::string& dir, bool writable);
  Status Unmount(const std::string& dir);
  std::vector<MountRecord> List() const;
  // Unmounts everything (stratad stopping).
  void UnmountAll();

 private:
  // How long a bind may take before its child is killed.
  static constexpr std::chrono::seconds kBindTimeout{30};

  ImageMounts(storage::Store& store, fuse::FuseServer& fuse, ChildReaper& reaper)
      : store_(store), fuse_(fuse), reaper_(reaper) {}
  Status Save() const;  // requires mu_
  Result<std::shared_ptr<fuse::UnionRoot>> MakeRoot(const storage::Digest& image,
                                                    const std::string& scratch);
  std::string state_path() const { return store_.root() + "/mounts.json"; }

  storage::Store& store_;
  fuse::FuseServer& fuse_;
  ChildReaper& reaper_;
  mutable std::mutex mu_;
  std::vector<MountRecord> mounts_;  // guarded by mu_
};

}  // namespace strata::runtime
