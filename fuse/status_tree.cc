// mnt/status: one read-only directory per container (as its StatusSource
// lists them) holding the source's files, made when looked up.
#include <sys/mman.h>
#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <mutex>

#include "common/fs.h"
#include "fuse/entry_stat.h"
#include "fuse/fuse_server.h"

namespace strata::fuse {

void FuseServer::SetStatusSource(StatusSource* source) {
  {
    std::unique_lock lock(status_mu_);
    status_ = source;
  }
  StatusChanged();
}

namespace {

// How long a content made by a lookup waits for its node to keep it (a
// readdirplus entry that did not fit is never kept).
constexpr auto kSnapshotLife = std::chrono::seconds(1);

std::string SnapshotKey(const NodeInfo& node) {
  return node.root_name + "/" + node.path + "#" + std::to_string(node.content);
}

}  // namespace

Result<std::pair<NodeInfo, struct stat>> FuseServer::StatusLookup(const NodeInfo& parent,
                                                                  const std::string& name) {
  NodeInfo child;
  child.kind = NodeKind::kStatus;
  if (parent.kind == NodeKind::kCategory) {
    std::shared_lock lock(status_mu_);
    if (status_ == nullptr || !status_->HasContainer(name)) return Errno(ENOENT, name);
    child.root_name = name;
    return std::make_pair(child, StatusStat(child));
  }
  if (parent.kind != NodeKind::kStatus || !parent.path.empty()) return Errno(ENOTDIR, name);
  const auto& files = StatusSource::kFiles;
  if (std::find(files.begin(), files.end(), name) == files.end()) return Errno(ENOENT, name);
  child.root_name = parent.root_name;
  child.path = name;
  // The content is made now; the node is this content's (the kernel keeps
  // a file's pages across opens), so another content is another node.
  ASSIGN_OR_RETURN(std::string content, StatusRead(child));
  child.content = XXH3_64bits(content.data(), content.size());
  struct stat st = StatusStat(child);
  st.st_size = static_cast<off_t>(content.size());
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(snapshots_mu_);
  std::erase_if(snapshots_, [&](const auto& kv) { return now - kv.second.made > kSnapshotLife; });
  snapshots_[SnapshotKey(child)] = {std::move(content), now};
  return std::make_pair(child, st);
}

struct stat FuseServer::StatusStat(const NodeInfo& node) {
  struct stat st {};
  st.st_ino = node.id != 0 ? node.id : node.ino;
  if (node.path.empty()) {
    st.st_mode = S_IFDIR | 0555;
    st.st_nlink = 2;
    return st;
  }
  st.st_mode = S_IFREG | 0444;
  st.st_nlink = 1;
  struct stat kept {};
  if (node.id != 0 && StatOpenFile(node.id, &kept)) st.st_size = kept.st_size;
  return st;
}

void FuseServer::KeepStatusFile(uint64_t id, const NodeInfo& node) {
  if (files_.Find(id) != nullptr) return;
  std::optional<std::string> content;
  {
    std::lock_guard lock(snapshots_mu_);
    if (auto it = snapshots_.find(SnapshotKey(node)); it != snapshots_.end()) {
      content = std::move(it->second.content);
      snapshots_.erase(it);
    }
  }
  if (!content) {
    // Taken by a lookup of the same content whose node has gone since.
    auto made = StatusRead(node);
    if (!made.ok()) return;
    content = std::move(*made);
  }
  UniqueFd fd(::memfd_create("strata-status", MFD_CLOEXEC));
  if (!fd || !WriteAll(fd.get(), *content).ok()) return;
  files_.Put(id, nullptr, {std::move(fd), true, false}, true);
}

Result<std::vector<DirEntry>> FuseServer::StatusList(const NodeInfo& node) {
  std::vector<DirEntry> entries;
  if (node.kind == NodeKind::kCategory) {
    std::shared_lock lock(status_mu_);
    if (status_ != nullptr) {
      for (auto& id : status_->Containers()) entries.push_back({std::move(id), S_IFDIR, 1});
    }
  } else if (node.path.empty()) {
    for (const auto& f : StatusSource::kFiles) entries.push_back({f, S_IFREG, 1});
  } else {
    return Errno(ENOTDIR, node.path);
  }
  return entries;
}

Result<std::string> FuseServer::StatusRead(const NodeInfo& node) {
  if (node.path.empty()) return Errno(EISDIR, node.root_name);
  std::shared_lock lock(status_mu_);
  if (status_ == nullptr) return Errno(ENOENT, node.root_name);
  return status_->Read(node.root_name, node.path);
}

}  // namespace strata::fuse
