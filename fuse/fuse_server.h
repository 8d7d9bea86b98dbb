// FuseServer: the one FUSE session of stratad, mounted at <root>/mnt.
//
//   mnt/images/<name>/       read-only views of images
//   mnt/containers/<name>/   container roots (lower view + writable upper)
//   mnt/status/<id>/         read-only status files of each container
//                            (status_source.h), fresh at every open
//
// The FUSE operations are thin adapters: decode the request, call the
// UnionRoot of the node, reply exactly once. The session runs on its own
// threads (libfuse's multi-threaded loop) from Start() until Stop() or
// destruction, which unmounts.
//
// Thread safety: AddRoot/RemoveRoot/HasRoot may be called from any thread
// while the session serves requests.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "fuse/dir_listings.h"
#include "fuse/fuse_stats.h"
#include "fuse/inode_table.h"
#include "fuse/node_files.h"
#include "fuse/status_source.h"
#include "fuse/union_root.h"
#include "fuse/uring_channel.h"

struct fuse_session;

namespace strata::fuse {

struct FuseServerOptions {
  std::string mountpoint;  // created if missing; a stale mount there is detached
  std::string statfs_dir;  // what statfs outside any root reports
  int max_threads = 16;
  double image_timeout = 86400.0;    // kernel cache of image views: they never change
  // Container roots change only through this session (one kernel inode per
  // file, so hard links stay coherent), so the kernel may cache them too.
  double container_timeout = 60.0;
  // The kernel's writeback cache for container roots: small writes gather
  // in the kernel, but every close makes the next stat of the file a round
  // trip, and writes not yet written back are lost if the session dies
  // (docs/fuse.md, Writes). Off (the default): every write(2) reaches the
  // upper before it returns.
  bool writeback_cache = false;
  // Requests over io_uring queues, one per CPU (uring_channel.h), when the
  // kernel has them; turns on fuse's enable_uring module parameter.
  bool io_uring = true;
  // Workers (each with a ring entry and a max_read-sized buffer) per CPU;
  // 0: 4, fewer on hosts with many CPUs.
  unsigned uring_workers_per_cpu = 0;
};

class FuseServer {
 public:
  static inline const std::string kImages = "images";
  static inline const std::string kContainers = "containers";
  static constexpr uint64_t kImagesId = 2;  // the category nodes' fixed ids
  static constexpr uint64_t kContainersId = 3;
  static inline const std::string kStatus = "status";
  static constexpr uint64_t kStatusId = 4;

  static Result<std::unique_ptr<FuseServer>> Start(const FuseServerOptions& options);
  ~FuseServer();

  Status AddRoot(const std::string& category, const std::string& name,
                 std::shared_ptr<UnionRoot> root);
  // The root disappears from the namespace; open files keep working. Its
  // copy-ups are made durable first, and with the writeback cache, the
  // writes the kernel caches are written back.
  Status RemoveRoot(const std::string& category, const std::string& name);
  bool HasRoot(const std::string& category, const std::string& name) const;
  // Writes the kernel's cached writes (the writeback cache) of the session
  // through to the uppers, so that a reader of an upper on the host (commit)
  // sees them. Must not be called from a session thread. Its system calls
  // on the mount are made through the self-access runner.
  Status WriteBack(const std::string& category, const std::string& name);

  // Runs work whose system calls go through the session's own mount. A
  // thread of this process caught in such a call when the process is killed
  // waits for the session's answer for good, keeping the process (and
  // /dev/fuse, whose closing would end the wait) alive; stratad gives a
  // runner that does the work in a child process (runtime/child_reaper.h).
  // work must not take locks other threads may hold. Unset (the default,
  // and the tests'): work runs in place.
  using SelfAccess = std::function<Status(const std::function<Status()>& work)>;
  void SetSelfAccess(SelfAccess run);
  std::string PathOf(const std::string& category, const std::string& name) const;
  // The mount's largest read request, which is also its readahead window
  // (read_ahead.h).
  size_t max_read() const { return max_read_; }

  // What mnt/status shows (empty without a source). The source must stay
  // alive until it is replaced: this waits for the reads using the old one.
  void SetStatusSource(StatusSource* source);
  // The set of containers with a status directory changed (the runtime
  // calls this on create and removal): mnt/status is listed afresh.
  void StatusChanged();

  void Stop();
  const FuseStats& stats() const { return stats_; }
  // Requests served over io_uring (0 when the session uses /dev/fuse only).
  uint64_t uring_requests() const { return stats_.uring_requests.load(); }

  // Detaches a FUSE mount left at dir by a crashed process (ENOTCONN).
  static Status CleanStaleMount(const std::string& dir);

 private:
  friend struct FuseOps;
  FuseServer() = default;
  // fstat of the node's kept descriptor (node_files.h), for a file whose
  // last name went.
  bool StatOpenFile(uint64_t node, struct stat* st);
  // Directories' last attributes, for one removed while a process sits in it.
  void RememberStat(uint64_t node, const struct stat& st);
  void Forgot(uint64_t node);
  std::optional<struct stat> LastStat(uint64_t node);
  // mnt/status (status_tree.cc).
  Result<std::pair<NodeInfo, struct stat>> StatusLookup(const NodeInfo& parent,
                                                        const std::string& name);
  // A status node's attributes (a file's size is its kept content's).
  struct stat StatusStat(const NodeInfo& node);
  Result<std::vector<DirEntry>> StatusList(const NodeInfo& node);
  Result<std::string> StatusRead(const NodeInfo& node);
  // Keeps the content a lookup of status file node (now numbered id) made
  // as the node's file: a node per content (node_files.h).
  void KeepStatusFile(uint64_t id, const NodeInfo& node);
  // Descriptors NodeFiles may keep that could be reopened.
  static size_t NodeFilesBudget();

  // Drops the kernel's cached listing (and attributes) of directory dir.
  void DirChanged(uint64_t dir);
  FuseServerOptions options_;
  struct fuse_session* session_ = nullptr;
  std::unique_ptr<UringChannel> uring_;  // its I/O layer, when io_uring is on
  std::thread loop_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> writeback_{false};  // the kernel caches writes (set at init)
  std::mutex self_access_mu_;
  SelfAccess self_access_;  // guarded by self_access_mu_
  size_t max_read_ = 0;  // the mount's max_read (read_ahead.h), set before mounting
  InodeTable table_;
  DirListings listings_;
  mutable std::mutex roots_mu_;
  std::map<std::string, std::map<std::string, std::shared_ptr<UnionRoot>>> roots_;  // guarded
  FuseStats stats_;
  std::shared_mutex status_mu_;
  StatusSource* status_ = nullptr;  // guarded by status_mu_
  struct StatusSnapshot {
    std::string content;
    std::chrono::steady_clock::time_point made;
  };
  std::mutex snapshots_mu_;
  // Contents made by lookups, until their node keeps them; by
  // "<id>/<file>#<content hash>".
  std::map<std::string, StatusSnapshot> snapshots_;  // guarded by snapshots_mu_
  std::atomic<bool> no_open_{false};  // the kernel opens files without us (set at init)
  NodeFiles files_{NodeFilesBudget()};
  std::mutex open_mu_;
  std::unordered_map<uint64_t, struct stat> last_dir_stat_;  // guarded by open_mu_
};

}  // namespace strata::fuse
