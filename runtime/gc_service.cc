#include "runtime/gc_service.h"

#include <dirent.h>

#include <ctime>

#include "common/fs.h"
#include "common/log.h"
#include "runtime/container_manager.h"
#include "runtime/container_record.h"

namespace strata::runtime {

namespace {

Result<storage::ContainerRoot> RootOf(const ContainerConfig& config) {
  ASSIGN_OR_RETURN(storage::Digest chain, storage::Digest::Parse(config.chain));
  return storage::ContainerRoot{config.id, chain};
}

}  // namespace

Result<std::vector<storage::ContainerRoot>> ContainerRootsOnDisk(const std::string& root) {
  std::vector<storage::ContainerRoot> out;
  const std::string dir = root + "/containers";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return Error::FromErrno("open " + dir);
  }
  std::vector<std::string> ids;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") ids.emplace_back(name);
  }
  ::closedir(d);
  for (const auto& id : ids) {
    if (!PathExists(dir + "/" + id + "/config.json")) continue;  // debris: GC removes it
    ASSIGN_OR_RETURN(ContainerRecord record, LoadRecord(dir + "/" + id));
    ASSIGN_OR_RETURN(storage::ContainerRoot r, RootOf(record.config));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<storage::ContainerRoot>> ContainerRootsOf(ContainerManager& containers) {
  ASSIGN_OR_RETURN(std::vector<ContainerRecord> records, containers.List(true));
  std::vector<storage::ContainerRoot> out;
  for (const auto& r : records) {
    ASSIGN_OR_RETURN(storage::ContainerRoot root, RootOf(r.config));
    out.push_back(std::move(root));
  }
  return out;
}

Result<std::unique_ptr<GcService>> GcService::Start(const GcServiceOptions& options) {
  if (options.store == nullptr) return Error::Invalid("GcService needs a store");
  std::unique_ptr<GcService> service(new GcService(options));
  if (options.interval.count() > 0) {
    service->thread_ = std::thread([s = service.get()] { s->Loop(); });
  }
  return service;
}

GcService::~GcService() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GcService::Loop() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, options_.interval, [&] { return stopping_; })) {
    lock.unlock();
    auto report = Collect({});
    if (report.ok()) {
      LogInfo("periodic gc reclaimed " + std::to_string(report->bytes_reclaimed) + " bytes (" +
              std::to_string(report->objects) + " objects) in " + std::to_string(report->seconds) +
              " s");
    } else {
      LogWarning("periodic gc: " + report.error().message());
    }
    lock.lock();
  }
}

Result<storage::GcReport> GcService::Collect(storage::GcOptions options) {
  if (options_.containers != nullptr) {
    ContainerManager* containers = options_.containers;
    options.containers = [containers] { return ContainerRootsOf(*containers); };
  }
  auto report = storage::CollectGarbage(*options_.store, options);
  if (options.dry_run) return report;
  std::lock_guard lock(mu_);
  if (!report.ok()) {
    ++metrics_.runs_failed;
    return report;
  }
  ++metrics_.runs_succeeded;
  metrics_.bytes_reclaimed_total += report->bytes_reclaimed;
  metrics_.last_bytes_reclaimed = report->bytes_reclaimed;
  metrics_.last_run_unix = static_cast<double>(std::time(nullptr));
  metrics_.last_duration_seconds = report->seconds;
  return report;
}

Result<storage::PruneResult> GcService::Prune(bool dry_run) {
  std::set<storage::Digest> in_use;
  if (options_.containers != nullptr) {
    ASSIGN_OR_RETURN(std::vector<ContainerRecord> records, options_.containers->List(true));
    for (const auto& r : records) {
      auto id = storage::Digest::Parse(r.config.image);
      if (id.ok()) in_use.insert(*id);
    }
  }
  return storage::PruneImages(*options_.store, in_use, dry_run);
}

GcMetrics GcService::Metrics() const {
  std::lock_guard lock(mu_);
  return metrics_;
}

}  // namespace strata::runtime
