#include "fuse/inode_table.h"

namespace strata::fuse {

namespace {
// Keys order a union root's nodes by path so that a subtree is one range.
std::string UnionKey(const void* root, const std::string& path) {
  char buf[32];
  snprintf(buf, sizeof buf, "u%p|", root);
  return buf + path;
}
}  // namespace

InodeTable::InodeTable() {
  Node top;
  top.info.id = kTopId;
  top.info.kind = NodeKind::kTop;
  top.info.ino = kTopId;
  top.lookups = 1;
  nodes_.emplace(kTopId, top);
  by_key_.emplace(Key(top.info), kTopId);
}

void InodeTable::Pin(uint64_t id, const NodeInfo& info) {
  std::lock_guard lock(mu_);
  Node node;
  node.info = info;
  node.info.id = id;
  node.lookups = UINT64_MAX / 2;  // never reaches 0
  by_key_[Key(node.info)] = id;
  nodes_[id] = std::move(node);
}

std::string InodeTable::Key(const NodeInfo& info) {
  switch (info.kind) {
    case NodeKind::kTop: return "t";
    case NodeKind::kCategory: return "c" + info.category;
    case NodeKind::kUnion: return UnionKey(info.root.get(), info.path);
  }
  return "";
}

std::optional<NodeInfo> InodeTable::Get(uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.info;
}

uint64_t InodeTable::Ref(const NodeInfo& info) {
  std::lock_guard lock(mu_);
  std::string key = Key(info);
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    Node& node = nodes_.at(it->second);
    ++node.lookups;
    if (info.ino != 0) node.info.ino = info.ino;
    return it->second;
  }
  uint64_t id = next_id_++;
  Node node;
  node.info = info;
  node.info.id = id;
  node.info.unlinked = false;
  node.lookups = 1;
  nodes_.emplace(id, std::move(node));
  by_key_.emplace(std::move(key), id);
  return id;
}

void InodeTable::Forget(uint64_t id, uint64_t count) {
  if (id == kTopId) return;
  std::lock_guard lock(mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  Node& node = it->second;
  node.lookups = count >= node.lookups ? 0 : node.lookups - count;
  if (node.lookups > 0) return;
  if (!node.info.unlinked) {
    auto key = by_key_.find(Key(node.info));
    if (key != by_key_.end() && key->second == id) by_key_.erase(key);
  }
  nodes_.erase(it);
}

void InodeTable::SetIno(uint64_t id, uint64_t ino) {
  std::lock_guard lock(mu_);
  if (auto it = nodes_.find(id); it != nodes_.end()) it->second.info.ino = ino;
}

void InodeTable::Unlinked(const UnionRoot* root, const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(UnionKey(root, path));
  if (it == by_key_.end()) return;
  nodes_.at(it->second).info.unlinked = true;
  by_key_.erase(it);
}

void InodeTable::Move(const UnionRoot* root, const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  // Whatever was at `to` is replaced.
  if (auto it = by_key_.find(UnionKey(root, to)); it != by_key_.end()) {
    nodes_.at(it->second).info.unlinked = true;
    by_key_.erase(it);
  }
  std::string base = UnionKey(root, from);
  std::vector<std::pair<std::string, uint64_t>> moved;
  for (auto it = by_key_.lower_bound(base); it != by_key_.end();) {
    const std::string& key = it->first;
    if (key.compare(0, base.size(), base) != 0) break;
    if (key.size() > base.size() && key[base.size()] != '/') {
      ++it;  // a sibling sharing the prefix ("/a" vs "/ab")
      continue;
    }
    moved.emplace_back(key, it->second);
    it = by_key_.erase(it);
  }
  for (auto& [key, id] : moved) {
    Node& node = nodes_.at(id);
    node.info.path = to + node.info.path.substr(from.size());
    by_key_[Key(node.info)] = id;
  }
}

void InodeTable::Exchange(const UnionRoot* root, const std::string& a, const std::string& b) {
  // Move a aside under a name no path can have, then swap.
  const std::string tmp = std::string("\x01") + "exchange";
  Move(root, a, tmp);
  Move(root, b, a);
  Move(root, tmp, b);
}

size_t InodeTable::size() const {
  std::lock_guard lock(mu_);
  return nodes_.size();
}

}  // namespace strata::fuse
