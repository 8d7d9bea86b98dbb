#include "fuse/node_files.h"

#include <vector>

namespace strata::fuse {

NodeFiles::FilePtr NodeFiles::Find(uint64_t node) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(node);
  return it == entries_.end() ? nullptr : it->second.file;
}

NodeFiles::FilePtr NodeFiles::Put(uint64_t node, const void* owner, File file, bool pinned) {
  auto made = std::make_shared<const File>(std::move(file));
  std::vector<FilePtr> closing;  // closed after the lock is dropped
  std::lock_guard lock(mu_);
  auto [it, inserted] = entries_.try_emplace(node);
  Entry& e = it->second;
  if (!inserted) {
    if (e.file->writable || !made->writable) return e.file;
    closing.push_back(std::move(e.file));
    pinned = pinned || e.pinned;
    if (!e.pinned) ages_.erase(e.age);
  }
  e.file = made;
  e.owner = owner;
  e.pinned = pinned;
  if (!pinned) e.age = ages_.insert(ages_.end(), node);
  while (ages_.size() > budget_) {
    auto oldest = entries_.find(ages_.front());
    closing.push_back(oldest->second.file);
    Erase(oldest);
  }
  return made;
}

void NodeFiles::Pin(uint64_t node) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(node);
  if (it == entries_.end() || it->second.pinned) return;
  ages_.erase(it->second.age);
  it->second.pinned = true;
}

void NodeFiles::Forget(uint64_t node) {
  FilePtr closing;
  std::lock_guard lock(mu_);
  auto it = entries_.find(node);
  if (it == entries_.end()) return;
  closing = it->second.file;
  Erase(it);
}

void NodeFiles::ForgetRoot(const void* owner) {
  std::vector<FilePtr> closing;
  std::lock_guard lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto next = std::next(it);
    if (it->second.owner == owner && !it->second.pinned) {
      closing.push_back(it->second.file);
      Erase(it);
    }
    it = next;
  }
}

size_t NodeFiles::size() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void NodeFiles::Erase(std::unordered_map<uint64_t, Entry>::iterator it) {
  if (!it->second.pinned) ages_.erase(it->second.age);
  entries_.erase(it);
}

}  // namespace strata::fuse
