// NodeFiles: the descriptor through which the session reads and writes a
// file node.
//
// The kernel opens files without asking the session (the first open is
// answered ENOSYS, FUSE_NO_OPEN_SUPPORT): reads, writes, fsync, fallocate
// and the rest come with a node id and no handle. So a node's descriptor is
// kept here between requests:
//  - an upper file's, opened at the first read or write (read-write at the
//    first write) or by create;
//  - a status file's snapshot (a memory file made at lookup: one node per
//    content, so the kernel's cached pages are always that content's);
//  - any file's, once it loses a name while the kernel knows it (pinned):
//    an open file whose last name went must go on working, and nothing can
//    reopen it then.
// A lower file's object is not kept here: UnionRoot's LowerFiles caches it
// by ino and drops it at copy-up, which is what keeps reads from a stale
// lower file after a copy-up impossible.
//
// Lifecycle: an entry goes when the kernel forgets its node, or (unless
// pinned) with its root (ForgetRoot). Past the budget, entries that can be reopened by name
// (not pinned) are closed, oldest first.
//
// Thread safety: all methods may be called concurrently; the lock is held
// only inside them. A File handed out stays open while it is held, even if
// its entry goes meanwhile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "common/unique_fd.h"

namespace strata::fuse {

class NodeFiles {
 public:
  struct File {
    UniqueFd fd;
    bool lower = false;     // an object file: never written
    bool writable = false;  // opened read-write
  };
  using FilePtr = std::shared_ptr<const File>;

  // budget: entries kept open that could be reopened by name.
  explicit NodeFiles(size_t budget) : budget_(budget) {}

  // The node's file, or null.
  FilePtr Find(uint64_t node);
  // Keeps file as node's (owner: the root it belongs to, for ForgetRoot)
  // and returns it; a writable file replaces a read-only one, else the one
  // kept first wins and is returned.
  FilePtr Put(uint64_t node, const void* owner, File file, bool pinned = false);
  // The node's file is kept until the node is forgotten.
  void Pin(uint64_t node);
  void Forget(uint64_t node);
  // Closes the files of a root that leaves the session, but those pinned:
  // the rest can still be reopened by name while the kernel knows them.
  void ForgetRoot(const void* owner);
  size_t size();

 private:
  struct Entry {
    FilePtr file;
    const void* owner = nullptr;
    bool pinned = false;
    std::list<uint64_t>::iterator age;  // in ages_, unless pinned
  };
  void Erase(std::unordered_map<uint64_t, Entry>::iterator it);  // requires mu_

  const size_t budget_;
  std::mutex mu_;
  std::unordered_map<uint64_t, Entry> entries_;  // guarded by mu_
  std::list<uint64_t> ages_;  // unpinned nodes, oldest first; guarded by mu_
};

}  // namespace strata::fuse
