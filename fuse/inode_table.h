// InodeTable: the FUSE node ids the kernel holds, and what each names.
//
// Rules:
//  - A node is created (or its count raised) only by a reply that gives the
//    kernel an entry: lookup, create, mkdir, mknod, symlink, link,
//    readdirplus. The kernel owns the lookup count and lowers it with forget;
//    a node is dropped when its count reaches 0. The root node is never
//    dropped.
//  - Nodes of a union root are keyed by (root, path); rename moves the node
//    and every node below it; unlink/rmdir mark it unlinked (open files go on
//    working through their descriptors).
//  - The table's mutex is held only inside these methods: never across a
//    UnionRoot call or a fuse_reply_*.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "fuse/union_root.h"

namespace strata::fuse {

// What a node is.
enum class NodeKind {
  kTop,       // the mount's root: lists the categories
  kCategory,  // "images" or "containers": lists their roots
  kUnion,     // an entry inside a union root ("/" is the root itself)
};

struct NodeInfo {
  uint64_t id = 0;
  NodeKind kind = NodeKind::kTop;
  std::string category;               // kCategory, kUnion
  std::shared_ptr<UnionRoot> root;    // kUnion
  std::string root_name;              // kUnion
  std::string path;                   // kUnion: path within the root
  bool unlinked = false;
  uint64_t ino = 0;                   // last st_ino reported
};

class InodeTable {
 public:
  static constexpr uint64_t kTopId = 1;

  InodeTable();
  // A copy of the node's info, or nullopt for an unknown id.
  std::optional<NodeInfo> Get(uint64_t id) const;
  // Adds a node with a fixed id that is never forgotten (the top levels).
  void Pin(uint64_t id, const NodeInfo& info);
  // Finds or makes the node and raises its lookup count by one.
  uint64_t Ref(const NodeInfo& info);
  void Forget(uint64_t id, uint64_t count);
  void SetIno(uint64_t id, uint64_t ino);
  // A union entry moved: re-key it and its descendants.
  void Move(const UnionRoot* root, const std::string& from, const std::string& to);
  // A union entry went away (exchange: the two swap).
  void Unlinked(const UnionRoot* root, const std::string& path);
  void Exchange(const UnionRoot* root, const std::string& a, const std::string& b);
  size_t size() const;

 private:
  struct Node {
    NodeInfo info;
    uint64_t lookups = 0;
  };
  static std::string Key(const NodeInfo& info);
  mutable std::mutex mu_;
  uint64_t next_id_ = 16;  // ids below are pinned
  std::unordered_map<uint64_t, Node> nodes_;
  std::map<std::string, uint64_t> by_key_;  // linked nodes only; ordered for subtree moves
};

}  // namespace strata::fuse
