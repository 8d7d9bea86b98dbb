// GcService: stratad's garbage collection, online: on request
// (`strata gc`, `strata image prune`) and, when asked, every interval
// (`stratad --gc-interval`). Roots include every container the manager
// knows (its chain; its directory under containers/ is kept).
//
// Lifecycle: Start() begins the periodic thread when the interval is not
// zero; the destructor stops it (waiting for a GC in progress to end).
// Thread safety: every method may be called concurrently; GCs serialize on
// the store's WriteGate.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/result.h"
#include "storage/gc.h"
#include "storage/image_prune.h"
#include "storage/store.h"

namespace strata::runtime {

class ContainerManager;

// For the monitor (strata_gc_* metrics).
struct GcMetrics {
  uint64_t runs_succeeded = 0, runs_failed = 0, bytes_reclaimed_total = 0, last_bytes_reclaimed = 0;
  double last_run_unix = 0, last_duration_seconds = 0;
};

struct GcServiceOptions {
  storage::Store* store = nullptr;         // required
  ContainerManager* containers = nullptr;  // null: no container roots
  std::chrono::seconds interval{0};        // 0: no periodic GC
};

class GcService {
 public:
  static Result<std::unique_ptr<GcService>> Start(const GcServiceOptions& options);
  ~GcService();
  GcService(const GcService&) = delete;
  GcService& operator=(const GcService&) = delete;

  // One GC now (options.containers is filled in here). Dry runs do not
  // count in the metrics.
  Result<storage::GcReport> Collect(storage::GcOptions options);
  // Untagged images no container uses.
  Result<storage::PruneResult> Prune(bool dry_run);
  GcMetrics Metrics() const;

 private:
  explicit GcService(const GcServiceOptions& options) : options_(options) {}
  void Loop();

  GcServiceOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  GcMetrics metrics_;      // guarded by mu_
  std::thread thread_;
};

// The containers recorded under <root>/containers, read from disk: the
// roots of an offline GC (stratad stopped).
Result<std::vector<storage::ContainerRoot>> ContainerRootsOnDisk(const std::string& root);
// The roots of the manager's containers.
Result<std::vector<storage::ContainerRoot>> ContainerRootsOf(ContainerManager& containers);

}  // namespace strata::runtime
