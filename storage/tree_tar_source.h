// TreeTarSource: a ByteSource producing a pax tar of a directory tree, made
// as it is read (no temporary file, no thread), for `strata image
// import-rootfs DIR`.
//
// Contents: every entry below the root (the root itself is not an entry),
// names relative to it, directories in name order, parents first. Kept:
// type, permission bits (with setuid/setgid/sticky), numeric uid/gid, mtime,
// symlink targets, device numbers of character and block devices, fifos,
// hard links (a second name of a regular file becomes a tar hard link to the
// first), and the xattrs `user.*` and `security.*` except security.selinux
// (a host label, not image content). Sockets are skipped, as tar cannot hold
// them. Symlinks are never followed.
//
// The tree should not change while it is read: a regular file that shrinks
// fails the read (EIO, naming it); one that grows is cut at its size when its
// header was written.
//
// With TreeTarOptions::overlay_upper the tree is read as an overlayfs upper
// directory and written as an OCI layer: a whiteout (character device 0/0)
// NAME becomes an empty file .wh.NAME, and a directory with
// trusted.overlay.opaque "y" is followed by DIR/.wh..wh..opq (the
// trusted.overlay.* xattrs themselves are never kept).
//
// Not thread-safe; one reader.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "storage/byte_source.h"

namespace strata::storage {

struct TreeTarOptions {
  bool overlay_upper = false;
  // Entries left out (a directory with its subtree): the name relative to
  // the root and the entry's lstat.
  std::function<bool(const std::string& rel, const struct stat& st)> skip;
};

class TreeTarSource : public ByteSource {
 public:
  static Result<std::unique_ptr<TreeTarSource>> Open(const std::string& root,
                                                     TreeTarOptions options = {});
  ~TreeTarSource() override;
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  TreeTarSource() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::storage
