// ApiRouter: the maintenance routes (GC, fsck, prune, squash, container
// disk usage). The shapes are in maintenance_json.h and docs/api.md.
#include <mutex>

#include <boost/json.hpp>

#include "common/log.h"
#include "runtime/api_call.h"
#include "runtime/container_manager.h"
#include "runtime/gc_service.h"
#include "runtime/json_fields.h"
#include "runtime/maintenance_json.h"
#include "runtime/tree_usage.h"
#include "storage/fsck.h"
#include "storage/squash.h"

namespace strata::runtime {
namespace json = boost::json;

namespace {

// `du` walks each upper on request: bounded as the monitor's walk is.
constexpr uint64_t kUpperMaxEntries = 1000000;

}  // namespace

Result<GcService*> ApiRouter::Gc() {
  if (gc_ == nullptr) return Error(ENOTSUP, "garbage collection is not available here");
  return gc_;
}

Status ApiRouter::CollectGarbage(Call& call) {
  ASSIGN_OR_RETURN(GcService * gc, Gc());
  ASSIGN_OR_RETURN(json::object body, call.Body());
  storage::GcOptions options;
  options.dry_run = jsonf::Bool(body, "dry_run");
  options.list = jsonf::Bool(body, "list");
  ASSIGN_OR_RETURN(storage::GcReport report, gc->Collect(options));
  if (!options.dry_run) {
    LogInfo("gc reclaimed " + std::to_string(report.bytes_reclaimed) + " bytes in " +
            std::to_string(report.seconds) + " s");
  }
  call.Reply(200, GcReportToJson(report));
  return Ok();
}

Status ApiRouter::CheckStore(Call& call) {
  ASSIGN_OR_RETURN(json::object body, call.Body());
  if (jsonf::Bool(body, "repair")) {
    return Error(EBUSY,
                 "fsck --repair needs the store to itself: stop stratad and run "
                 "strata fsck --repair --root " +
                     store_.root());
  }
  // Under the gate, so no import is half written while it reads.
  std::unique_lock gate(store_.write_gate());
  ASSIGN_OR_RETURN(storage::FsckReport report, storage::CheckStore(store_, {}));
  gate.unlock();
  // tmp/ holds only the staging of running work, not debris, while the
  // service runs: it is emptied when the store opens.
  call.Reply(200, FsckReportToJson(report));
  return Ok();
}

Status ApiRouter::ContainerUsage(Call& call) {
  json::array out;
  if (containers_ != nullptr) {
    ASSIGN_OR_RETURN(std::vector<ContainerRecord> all, containers_->List(true));
    for (const auto& c : all) {
      TreeUsage upper =
          MeasureTree(store_.root() + "/containers/" + c.config.id + "/upper", kUpperMaxEntries);
      out.push_back(json::object{{"id", c.config.id},
                                 {"name", c.config.name},
                                 {"image", c.config.image},
                                 {"image_ref", c.config.image_ref},
                                 {"upper_bytes", upper.bytes},
                                 {"upper_partial", upper.partial}});
    }
  }
  json::object reclaimable{{"bytes", 0}, {"objects", 0}};
  if (gc_ != nullptr) {
    storage::GcOptions options;
    options.dry_run = true;
    ASSIGN_OR_RETURN(storage::GcReport report, gc_->Collect(options));
    reclaimable = json::object{
        {"bytes", report.bytes_reclaimed}, {"objects", report.objects}, {"layers", report.layers}};
  }
  call.Reply(200, json::object{{"containers", std::move(out)}, {"reclaimable", reclaimable}});
  return Ok();
}

Status ApiRouter::PruneImages(Call& call) {
  ASSIGN_OR_RETURN(GcService * gc, Gc());
  ASSIGN_OR_RETURN(json::object body, call.Body());
  bool dry_run = jsonf::Bool(body, "dry_run");
  ASSIGN_OR_RETURN(storage::PruneResult result, gc->Prune(dry_run));
  if (!dry_run && !result.removed.empty()) {
    LogInfo("pruned " + std::to_string(result.removed.size()) + " untagged images");
  }
  call.Reply(200, PruneResultToJson(result));
  return Ok();
}

Status ApiRouter::SquashImage(Call& call) {
  ASSIGN_OR_RETURN(json::object body, call.Body());
  std::string tag = jsonf::Str(body, "tag");
  if (tag.empty())
    return Error::Invalid("squash: a --tag NAME[:TAG] for the new image is required");
  auto result = storage::SquashImage(store_, call.ref(), tag);
  if (!result.ok()) return std::move(result).error().Context("squash " + call.ref());
  LogInfo("squashed " + call.ref() + " (" + std::to_string(result->layers_before) +
          " layers) into " + result->tag + " in " + std::to_string(result->seconds) + " s");
  call.Reply(201, SquashResultToJson(*result));
  return Ok();
}

}  // namespace strata::runtime
