#include "fuse/inode_table.h"

#include <algorithm>

namespace strata::fuse {

InodeTable::InodeTable() {
  NodeInfo top;
  top.kind = NodeKind::kTop;
  top.ino = kTopId;
  Pin(kTopId, top);
}

std::string InodeTable::Key(const NodeInfo& info) {
  if (info.kind == NodeKind::kStatus) {
    return "s" + info.root_name + "/" + info.path + "#" + std::to_string(info.content);
  }
  return info.kind == NodeKind::kTop ? "t" : "c" + info.category;
}

void InodeTable::Pin(uint64_t id, const NodeInfo& info) {
  std::lock_guard lock(mu_);
  auto pinned = std::make_shared<NodeInfo>(info);
  pinned->id = id;
  Node node;
  node.info = std::move(pinned);
  node.lookups = UINT64_MAX / 2;  // never reaches 0
  fixed_[Key(*node.info)] = id;
  nodes_[id] = std::move(node);
}

NodeSnapshot InodeTable::Get(uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return nullptr;
  return it->second.info;
}

void InodeTable::Rename(Node& node, const std::string& path, bool unlinked) {
  auto info = std::make_shared<NodeInfo>(*node.info);
  info->path = path;
  info->unlinked = unlinked;
  node.info = std::move(info);
}

uint64_t InodeTable::Ref(const NodeInfo& info) {
  std::lock_guard lock(mu_);
  if (info.kind == NodeKind::kStatus) {
    auto [it, inserted] = fixed_.try_emplace(Key(info), 0);
    if (inserted) {
      it->second = next_id_++;
      auto made = std::make_shared<NodeInfo>(info);
      made->id = it->second;
      made->ino = it->second;
      Node node;
      node.info = std::move(made);
      nodes_.emplace(it->second, std::move(node));
    }
    ++nodes_.at(it->second).lookups;
    return it->second;
  }
  if (info.kind != NodeKind::kUnion) {
    uint64_t id = fixed_.at(Key(info));
    ++nodes_.at(id).lookups;
    return id;
  }
  const UnionRoot* root = info.root.get();
  uint64_t id;
  if (auto it = by_ino_.find({root, info.ino}); it != by_ino_.end()) {
    id = it->second;
  } else {
    id = next_id_++;
    auto made = std::make_shared<NodeInfo>(info);
    made->id = id;
    made->unlinked = false;
    Node node;
    node.info = std::move(made);
    nodes_.emplace(id, std::move(node));
    by_ino_[{root, info.ino}] = id;
  }
  Node& node = nodes_.at(id);
  ++node.lookups;
  // The name now belongs to this file, whatever it named before.
  auto [pit, inserted] = by_path_.emplace(PathKey{root, info.path}, id);
  if (!inserted && pit->second != id) {
    DropName(pit->second, info.path);
    by_path_[{root, info.path}] = id;
  }
  node.paths.insert(info.path);
  if (node.info->path != info.path || node.info->unlinked) Rename(node, info.path, false);
  return id;
}

void InodeTable::DropName(uint64_t id, const std::string& path) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  Node& node = it->second;
  node.paths.erase(path);
  if (node.paths.empty()) {
    Rename(node, node.info->path, true);
  } else if (node.info->path == path) {
    Rename(node, *node.paths.begin(), node.info->unlinked);
  }
}

NodeSnapshot InodeTable::Forget(uint64_t id, uint64_t count) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return nullptr;
  Node& node = it->second;
  node.lookups = count >= node.lookups ? 0 : node.lookups - count;
  if (node.lookups > 0) return nullptr;
  NodeSnapshot dropped = node.info;
  if (dropped->kind == NodeKind::kStatus) {
    fixed_.erase(Key(*dropped));
    nodes_.erase(it);
    return dropped;
  }
  if (dropped->kind != NodeKind::kUnion) return nullptr;
  const UnionRoot* root = dropped->root.get();
  for (const auto& path : node.paths) {
    auto p = by_path_.find({root, path});
    if (p != by_path_.end() && p->second == id) by_path_.erase(p);
  }
  auto i = by_ino_.find({root, dropped->ino});
  if (i != by_ino_.end() && i->second == id) by_ino_.erase(i);
  nodes_.erase(it);
  return dropped;
}

void InodeTable::Unlinked(const UnionRoot* root, const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = by_path_.find({root, path});
  if (it == by_path_.end()) return;
  uint64_t id = it->second;
  by_path_.erase(it);
  DropName(id, path);
}

std::optional<uint64_t> InodeTable::Find(const UnionRoot* root, const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = by_path_.find({root, path});
  if (it == by_path_.end()) return std::nullopt;
  return it->second;
}

std::vector<NodeSnapshot> InodeTable::NodesOf(const UnionRoot* root) const {
  std::lock_guard lock(mu_);
  std::vector<uint64_t> ids;
  for (auto it = by_path_.lower_bound({root, ""}); it != by_path_.end() && it->first.first == root;
       ++it) {
    ids.push_back(it->second);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());  // hard links: one node
  std::vector<NodeSnapshot> nodes;
  nodes.reserve(ids.size());
  for (uint64_t id : ids) nodes.push_back(nodes_.at(id).info);
  return nodes;
}

void InodeTable::Move(const UnionRoot* root, const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  // Whatever was named `to` is replaced.
  if (auto it = by_path_.find({root, to}); it != by_path_.end()) {
    uint64_t id = it->second;
    by_path_.erase(it);
    DropName(id, to);
  }
  std::vector<std::pair<std::string, uint64_t>> moved;
  for (auto it = by_path_.lower_bound({root, from});
       it != by_path_.end() && it->first.first == root;) {
    const std::string& path = it->first.second;
    if (path.compare(0, from.size(), from) != 0) break;
    if (path.size() > from.size() && path[from.size()] != '/') {
      ++it;  // a sibling sharing the prefix ("/a" vs "/a-b")
      continue;
    }
    moved.emplace_back(path, it->second);
    it = by_path_.erase(it);
  }
  for (auto& [path, id] : moved) {
    std::string renamed = to + path.substr(from.size());
    Node& node = nodes_.at(id);
    node.paths.erase(path);
    node.paths.insert(renamed);
    if (node.info->path == path) Rename(node, renamed, node.info->unlinked);
    by_path_[{root, renamed}] = id;
  }
}

void InodeTable::Exchange(const UnionRoot* root, const std::string& a, const std::string& b) {
  // Move a aside under a name no path can have, then swap.
  const std::string aside = std::string("\x01") + "exchange";
  Move(root, a, aside);
  Move(root, b, a);
  Move(root, aside, b);
}

size_t InodeTable::size() const {
  std::lock_guard lock(mu_);
  return nodes_.size();
}

}  // namespace strata::fuse
