// Monitor: stratad's metrics, wired in one place — the /metrics server and
// every collector (volumes, store, containers, FUSE, GC, cron), with what they share
// (the statfs prober, the upper-usage thread).
//
// Lifecycle: Start() binds the address and serves until the Monitor is
// destroyed, which must happen before the store, the FUSE server and the
// container manager it reads go away.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/result.h"
#include "fuse/fuse_stats.h"
#include "runtime/container_manager.h"
#include "runtime/cron_scheduler.h"
#include "runtime/gc_service.h"
#include "runtime/statfs_prober.h"
#include "storage/store.h"

namespace strata::monitor {

class MetricsServer;
class UpperUsage;

struct MonitorOptions {
  std::string address = "127.0.0.1:9850";           // HOST:PORT
  storage::Store* store = nullptr;                  // required
  const fuse::FuseStats* fuse = nullptr;            // required
  runtime::ContainerManager* containers = nullptr;  // required
  const runtime::GcService* gc = nullptr;           // optional: strata_gc_*
  const runtime::CronScheduler* cron = nullptr;     // optional: strata_cron_*
  double low_space_percent = 10;                    // strata_volume_low below this % available
  std::chrono::milliseconds statfs_timeout{2000};
  std::chrono::seconds store_refresh{30};  // store counts cached this long
  std::chrono::seconds upper_refresh{60};  // each upper measured this often
  uint64_t upper_max_entries = 1000000;    // per walk of one upper
};

class Monitor {
 public:
  static Result<std::unique_ptr<Monitor>> Start(const MonitorOptions& options);
  ~Monitor();

  int port() const;
  // The prober, for others that statfs volumes (the status files).
  runtime::StatfsProber& prober() { return *prober_; }

 private:
  Monitor() = default;
  std::unique_ptr<runtime::StatfsProber> prober_;
  std::unique_ptr<UpperUsage> uppers_;
  std::unique_ptr<MetricsServer> server_;
};

}  // namespace strata::monitor
