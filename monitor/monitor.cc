#include "monitor/monitor.h"

#include "monitor/container_collector.h"
#include "monitor/cron_collector.h"
#include "monitor/fuse_collector.h"
#include "monitor/gc_collector.h"
#include "monitor/metrics_server.h"
#include "monitor/store_collector.h"
#include "monitor/upper_usage.h"
#include "monitor/volume_collector.h"
#include "runtime/volume_sites.h"

namespace strata::monitor {

Result<std::unique_ptr<Monitor>> Monitor::Start(const MonitorOptions& o) {
  if (o.store == nullptr || o.fuse == nullptr || o.containers == nullptr) {
    return Error::Invalid("monitor: store, FUSE stats and containers are required");
  }
  std::unique_ptr<Monitor> m(new Monitor());
  m->prober_ = std::make_unique<runtime::StatfsProber>();
  m->uppers_ = std::make_unique<UpperUsage>(o.upper_refresh, o.upper_max_entries);
  ASSIGN_OR_RETURN(m->server_, MetricsServer::Start(o.address));

  runtime::ContainerManager* containers = o.containers;
  std::string root = o.store->root();
  VolumeCollectorOptions volumes;
  volumes.sites = [containers, root] { return runtime::AllVolumeSites(*containers, root); };
  volumes.prober = m->prober_.get();
  volumes.timeout = o.statfs_timeout;
  volumes.low_space_percent = o.low_space_percent;
  m->server_->Register(std::make_shared<VolumeCollector>(std::move(volumes)));
  m->server_->Register(std::make_shared<StoreCollector>(*o.store, o.store_refresh));
  m->server_->Register(std::make_shared<ContainerCollector>(*containers, root, *m->uppers_));
  m->server_->Register(std::make_shared<FuseCollector>(*o.fuse));
  if (o.gc != nullptr) m->server_->Register(std::make_shared<GcCollector>(*o.gc));
  if (o.cron != nullptr) m->server_->Register(std::make_shared<CronCollector>(*o.cron));
  return m;
}

Monitor::~Monitor() {
  server_.reset();  // no scrape runs past here
  uppers_.reset();
  prober_.reset();
}

int Monitor::port() const { return server_->port(); }

}  // namespace strata::monitor
