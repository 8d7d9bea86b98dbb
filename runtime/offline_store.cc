#include "runtime/offline_store.h"

#include "runtime/gc_service.h"
#include "runtime/maintenance_json.h"
#include "storage/fsck.h"
#include "storage/gc.h"
#include "storage/store.h"

namespace strata::runtime {
namespace {

Result<std::unique_ptr<storage::Store>> OpenOffline(const std::string& root,
                                                    const std::string& what) {
  auto store = storage::Store::Open({.root = root});
  if (!store.ok() && store.error().code() == EBUSY) {
    return Error(EBUSY, what + ": store " + root +
                            " is in use (is stratad running? stop it first, or leave out "
                            "--root to go through stratad)");
  }
  if (!store.ok()) return std::move(store).error().Context(what + ": open store " + root);
  return std::move(store).value();
}

}  // namespace

Result<boost::json::object> OfflineGc(const std::string& root, bool dry_run) {
  ASSIGN_OR_RETURN(auto store, OpenOffline(root, "gc"));
  storage::GcOptions options;
  options.dry_run = dry_run;
  options.list = dry_run;
  options.containers = [root] { return ContainerRootsOnDisk(root); };
  ASSIGN_OR_RETURN(storage::GcReport r, storage::CollectGarbage(*store, options));
  return GcReportToJson(r);
}

Result<boost::json::object> OfflineFsck(const std::string& root, bool repair, unsigned threads) {
  ASSIGN_OR_RETURN(auto store, OpenOffline(root, "fsck"));
  ASSIGN_OR_RETURN(storage::FsckReport r,
                   storage::CheckStore(*store, {.repair = repair, .threads = threads}));
  return FsckReportToJson(r);
}

}  // namespace strata::runtime
