// ContainerManager: commit (the writable layer becomes an image layer) and
// reset (the writable layer is thrown away).

#include <shared_mutex>

#include "common/fs.h"
#include "common/log.h"
#include "runtime/container_manager.h"
#include "runtime/container_manager_internal.h"
#include "runtime/upper_layer.h"
#include "storage/layer_importer.h"
#include "storage/lease.h"
#include "storage/oci.h"

namespace strata::runtime {

namespace {

std::string JoinArgs(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

// Imports the upper as a layer, its tar made as the importer reads it.
Result<storage::LayerContents> ImportUpper(storage::Store& store, const std::string& upper) {
  ASSIGN_OR_RETURN(auto source, OpenUpperLayer(upper));
  return storage::ImportLayer(store.objects(), *source);
}

}  // namespace

Result<storage::Digest> ContainerManager::Commit(const std::string& ref,
                                                 const CommitRequest& request) {
  if (request.tag.empty()) return Error::Invalid("commit: a NAME[:TAG] for the image is required");
  ASSIGN_OR_RETURN(std::string tag, storage::Store::NormalizeTag(request.tag));
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  std::lock_guard op(c->op_mu);
  const ContainerConfig& cfg = c->config;
  ASSIGN_OR_RETURN(storage::Digest parent, storage::Digest::Parse(cfg.image));
  ASSIGN_OR_RETURN(std::string parent_text, store_.ImageConfig(parent.str()));
  ASSIGN_OR_RETURN(storage::oci::ImageConfig image,
                   storage::oci::ParseImageConfig(parent_text, "config of " + parent.str()));

  // GC waits until the new image is in the index (storage/write_gate.h).
  std::shared_lock gate(store_.write_gate());
  ASSIGN_OR_RETURN(auto lease,
                   storage::Lease::Acquire(store_.index(), {.description = "commit " + c->name()}));

  // A running container is paused while its upper is read, so the layer is
  // one consistent moment of it.
  bool paused_here = false;
  {
    std::lock_guard lock(c->mu);
    paused_here = c->state.status == ContainerStatus::kRunning;
  }
  if (paused_here) RETURN_IF_ERROR(runtime_.Pause(cfg.id));
  // Writes the kernel may still cache (with fuse/'s writeback cache) reach
  // the upper before it is read.
  Status written = fuse_.WriteBack(fuse::FuseServer::kContainers, cfg.id);
  Result<storage::LayerContents> layer =
      written.ok() ? ImportUpper(store_, c->upper_dir()) : written.error();
  if (paused_here) {
    Status resumed = runtime_.Resume(cfg.id);
    if (!resumed.ok()) LogWarning("container " + c->name() + ": " + resumed.error().message());
  }
  if (!layer.ok()) return std::move(layer).error().Context("commit " + c->name());
  struct Discard {
    storage::ObjectStore& objects;
    const std::vector<storage::ObjectId>& ids;
    bool armed = true;
    ~Discard() {
      if (armed) objects.Discard(ids);
    }
  } discard{store_.objects(), layer->created_objects};

  std::string now = NowRfc3339Nano();
  image.created = now;
  if (!request.author.empty()) image.author = request.author;
  image.config.cmd = cfg.cmd;
  image.config.env = cfg.env;
  image.config.working_dir = cfg.workdir;
  image.diff_ids.push_back(layer->diff_id);
  image.history.push_back({now, JoinArgs(cfg.Args()), request.author, request.comment, false});

  ASSIGN_OR_RETURN(auto stored, store_.index().GetLayer(layer->diff_id));
  storage::Store::NewImage new_image;
  new_image.config = storage::oci::BuildImageConfig(image);
  new_image.diff_ids = image.diff_ids;
  if (!stored) new_image.new_layers.push_back(&*layer);
  new_image.tags = {tag};
  ASSIGN_OR_RETURN(storage::Digest id, store_.CommitImage(new_image));
  // A layer already in the store keeps its own objects; ours were only
  // pending and go (as the rootfs importer does).
  discard.armed = stored.has_value();
  LogInfo("committed container " + c->name() + " as " + tag + " (" + id.str() + ")");
  return id;
}

Status ContainerManager::Reset(const std::string& ref) {
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  std::lock_guard op(c->op_mu);
  RETURN_IF_ERROR(StopLocked(c, c->config.stop_timeout, true));
  {
    // The exit must be recorded before the root goes.
    std::unique_lock lock(c->mu);
    c->cv.wait(lock, [&] { return !c->monitoring; });
  }
  c->JoinWarmUp();
  const std::string& id = c->config.id;
  Status removed = fuse_.RemoveRoot(fuse::FuseServer::kContainers, id);
  if (!removed.ok() && !removed.error().IsNotFound()) return removed;
  // Renamed away first: a crash midway leaves either the old upper or none.
  std::string doomed = c->dir + "/upper.old";
  (void)RemoveTree(doomed);
  if (PathExists(c->upper_dir()) && ::rename(c->upper_dir().c_str(), doomed.c_str()) != 0) {
    return Error::FromErrno("reset " + c->name());
  }
  RETURN_IF_ERROR(RemoveTree(doomed));
  RETURN_IF_ERROR(RemoveTree(c->work_dir()));
  RETURN_IF_ERROR(EnsureRoot(*c));
  LogInfo("reset container " + c->name());
  return Ok();
}

}  // namespace strata::runtime
