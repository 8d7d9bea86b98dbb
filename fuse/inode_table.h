// InodeTable: the FUSE node ids the kernel holds, and what each names.
//
// One node per file: within a union root a node is keyed by the file's
// st_ino (which the union keeps stable, equal for hard links and across
// copy-up), so every name of a file is one kernel inode — hard links share
// attributes, page cache and locks, as on a local filesystem.
//
// Rules:
//  - A node is created (or its count raised) only by a reply that gives the
//    kernel an entry: lookup, create, mkdir, mknod, symlink, link,
//    readdirplus. The kernel owns the lookup count and lowers it with forget;
//    a node is dropped when its count reaches 0. Pinned nodes (the top
//    levels) are never dropped. Status nodes are keyed by their names and,
//    for files, their content (node_files.h).
//  - A node remembers the names it was looked up by. Operations use one of
//    them (`path`); rename moves names (and, for a directory, every name
//    below it); unlink drops one. A node with no name left is `unlinked`:
//    open files go on working through their descriptors.
//  - The table's mutex is held only inside these methods: never across a
//    UnionRoot call or a fuse_reply_*.
//  - A node's info is shared, never changed in place: Get hands out the
//    current one (one reference count, no string copies per request), and
//    a change (a name moved or dropped) makes a new one, so a request goes
//    on with the info it got.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "fuse/union_root.h"

namespace strata::fuse {

// What a node is.
enum class NodeKind {
  kTop,       // the mount's root: lists the categories
  kCategory,  // "images", "containers" or "status": lists their roots
  kUnion,     // a file inside a union root ("/" is the root itself)
  kStatus,    // status/<root_name> (path "") or a file in it (path = its name)
};

struct NodeInfo {
  uint64_t id = 0;
  NodeKind kind = NodeKind::kTop;
  std::string category;             // kCategory, kUnion
  std::shared_ptr<UnionRoot> root;  // kUnion
  std::string root_name;            // kUnion, kStatus
  std::string path;                 // kUnion: a current name within the root; kStatus: the file
  bool unlinked = false;            // kUnion: no name left
  uint64_t ino = 0;                 // st_ino: the file's identity in its root
  uint64_t content = 0;             // kStatus files: their content's hash (a node per content)
};

// A node's info as it was when taken from the table; it never changes.
using NodeSnapshot = std::shared_ptr<const NodeInfo>;

class InodeTable {
 public:
  static constexpr uint64_t kTopId = 1;

  InodeTable();
  // Adds a node with a fixed id that is never forgotten (the top levels).
  void Pin(uint64_t id, const NodeInfo& info);
  // The node's info, or null for an unknown id.
  NodeSnapshot Get(uint64_t id) const;
  // Finds or makes the node of info (by root and ino for union files),
  // records info.path as one of its names, and raises its lookup count.
  uint64_t Ref(const NodeInfo& info);
  // Returns the node's info if it was dropped (else null).
  NodeSnapshot Forget(uint64_t id, uint64_t count);
  // A name moved: re-key it and every name below it.
  void Move(const UnionRoot* root, const std::string& from, const std::string& to);
  void Exchange(const UnionRoot* root, const std::string& a, const std::string& b);
  // A name went away.
  void Unlinked(const UnionRoot* root, const std::string& path);
  // The node a name of root is known to the kernel by.
  std::optional<uint64_t> Find(const UnionRoot* root, const std::string& path) const;
  // Every node of root that has a name.
  std::vector<NodeSnapshot> NodesOf(const UnionRoot* root) const;
  size_t size() const;

 private:
  struct Node {
    NodeSnapshot info;
    uint64_t lookups = 0;
    std::set<std::string> paths;  // kUnion: names known to the kernel
  };
  using PathKey = std::pair<const UnionRoot*, std::string>;
  using InoKey = std::pair<const UnionRoot*, uint64_t>;
  static std::string Key(const NodeInfo& info);
  void DropName(uint64_t id, const std::string& path);  // requires mu_
  // Replaces node's info by a copy with this name (requires mu_).
  static void Rename(Node& node, const std::string& path, bool unlinked);

  mutable std::mutex mu_;
  uint64_t next_id_ = 16;  // ids below are pinned
  std::unordered_map<uint64_t, Node> nodes_;
  std::map<std::string, uint64_t> fixed_;   // top levels by key
  std::map<InoKey, uint64_t> by_ino_;       // union files by identity
  std::map<PathKey, uint64_t> by_path_;     // union names; ordered for subtree moves
};

}  // namespace strata::fuse
