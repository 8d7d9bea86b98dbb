// mnt/status: one read-only directory per container (as its StatusSource
// lists them) holding the source's files, made when opened.
#include <sys/stat.h>

#include <algorithm>
#include <mutex>

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

Result<std::pair<NodeInfo, struct stat>> FuseServer::StatusLookup(const NodeInfo& parent,
                                                                  const std::string& name) {
  NodeInfo child;
  child.kind = NodeKind::kStatus;
  if (parent.kind == NodeKind::kCategory) {
    std::shared_lock lock(status_mu_);
    if (status_ == nullptr || !status_->HasContainer(name)) return Errno(ENOENT, name);
    child.root_name = name;
  } else if (parent.kind == NodeKind::kStatus && parent.path.empty()) {
    const auto& files = StatusSource::kFiles;
    if (std::find(files.begin(), files.end(), name) == files.end()) return Errno(ENOENT, name);
    child.root_name = parent.root_name;
    child.path = name;
  } else {
    return Errno(ENOTDIR, name);
  }
  return std::make_pair(child, StatusStat(child));
}

namespace {

// How long a file's content made for a lookup or getattr is what the
// following open serves, so that the size the kernel was told and the
// content agree.
constexpr auto kSnapshotLife = std::chrono::seconds(1);

std::string SnapshotKey(const NodeInfo& node) { return node.root_name + "/" + node.path; }

}  // namespace

struct stat FuseServer::StatusStat(const NodeInfo& node) {
  struct stat st {};
  st.st_ino = node.id != 0 ? node.id : node.ino;
  if (node.path.empty()) {
    st.st_mode = S_IFDIR | 0555;
    st.st_nlink = 2;
  } else {
    // The content is made now, so the size is right for readers that go
    // by it (sendfile, splice); the open that follows serves this content.
    st.st_mode = S_IFREG | 0444;
    st.st_nlink = 1;
    auto content = StatusRead(node);
    if (content.ok()) {
      st.st_size = static_cast<off_t>(content->size());
      auto now = std::chrono::steady_clock::now();
      std::lock_guard lock(snapshots_mu_);
      std::erase_if(snapshots_,
                    [&](const auto& kv) { return now - kv.second.made > kSnapshotLife; });
      snapshots_[SnapshotKey(node)] = {std::move(*content), now};
    }
  }
  return st;
}

Result<std::string> FuseServer::StatusContent(const NodeInfo& node) {
  {
    std::lock_guard lock(snapshots_mu_);
    auto it = snapshots_.find(SnapshotKey(node));
    if (it != snapshots_.end() &&
        std::chrono::steady_clock::now() - it->second.made <= kSnapshotLife) {
      std::string content = std::move(it->second.content);
      snapshots_.erase(it);
      return content;
    }
  }
  return StatusRead(node);
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
