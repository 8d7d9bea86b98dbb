// ContainerManager: opening, create, lookups, listings, rm, volumes and
// shutdown. The lifecycle is in container_lifecycle.cc, logs and exec in
// container_io.cc, commit and reset in container_commit.cc.
#include "runtime/container_manager.h"

#include <dirent.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include <boost/json.hpp>

#include "common/fs.h"
#include "common/log.h"
#include "fuse/lower.h"
#include "runtime/bind_source.h"
#include "runtime/container_manager_internal.h"
#include "runtime/root_warmup.h"
#include "runtime/security_options.h"
#include "storage/oci.h"

namespace strata::runtime {

namespace {

// How long a removal waits for the log's readers (an attached run, `logs`)
// to read it to the end (RemoveLocked).
constexpr std::chrono::seconds kLogReaderGrace{10};

uint64_t RandomU64() {
  uint64_t v = 0;
  if (::getrandom(&v, sizeof v, 0) != sizeof v) {
    v = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return v;
}

}  // namespace

void MergeEnv(std::vector<std::string>& env, const std::string& entry) {
  std::string key = entry.substr(0, entry.find('='));
  for (auto& e : env) {
    if (e.substr(0, e.find('=')) == key) {
      e = entry;
      return;
    }
  }
  env.push_back(entry);
}

ContainerManager::ContainerManager(const ContainerManagerOptions& options)
    : store_(*options.store),
      fuse_(*options.fuse),
      reaper_(*options.reaper),
      runtime_(
          *options.reaper, options.runtime,
          options.runtime_root.empty() ? options.store->root() + "/runtime" : options.runtime_root),
      volumes_(options.store->root() + "/volumes") {}

Result<std::unique_ptr<ContainerManager>> ContainerManager::Open(
    const ContainerManagerOptions& options) {
  if (options.store == nullptr || options.fuse == nullptr || options.reaper == nullptr) {
    return Error::Invalid("container manager: store, FUSE server and reaper are required");
  }
  if (options.runtime.empty()) return Error::Invalid("container manager: no OCI runtime");
  std::unique_ptr<ContainerManager> manager(new ContainerManager(options));
  RETURN_IF_ERROR(MakeDirs(options.store->root() + "/containers", 0700));
  RETURN_IF_ERROR(manager->Load());
  return manager;
}

ContainerManager::~ContainerManager() { Shutdown(); }

std::string ContainerManager::ContainerDir(const std::string& id) const {
  return store_.root() + "/containers/" + id;
}

void ContainerManager::SaveState(Container& c) {
  Status s = runtime::SaveState(c.dir, c.state, !c.config.auto_remove);
  if (!s.ok()) LogWarning("container " + c.name() + ": saving state: " + s.error().message());
}

Status ContainerManager::Load() {
  std::string top = store_.root() + "/containers";
  DIR* dir = ::opendir(top.c_str());
  if (dir == nullptr) return Error::FromErrno("open " + top);
  std::vector<std::string> ids;
  while (struct dirent* de = ::readdir(dir)) {
    std::string name = de->d_name;
    // Scratch layers of `strata mount --writable` live here too.
    if (name.size() == 64 && name.find_first_not_of("0123456789abcdef") == std::string::npos) {
      ids.push_back(name);
    }
  }
  ::closedir(dir);

  for (const auto& id : ids) {
    std::string cdir = ContainerDir(id);
    auto record = LoadRecord(cdir);
    if (!record.ok()) {
      if (!record.error().IsNotFound()) {
        LogWarning("container " + id + ": " + record.error().message() + " (skipped)");
      }
      continue;
    }
    auto c = std::make_shared<Container>(std::move(record->config), std::move(record->state), cdir);
    ContainerState& s = c->state;
    if (s.status == ContainerStatus::kRunning || s.status == ContainerStatus::kPaused ||
        s.status == ContainerStatus::kRestarting) {
      // The previous stratad went away without stopping it: its root is
      // gone with that FUSE session, so whatever still runs is killed.
      if (runtime_.Exists(id)) {
        Status deleted = runtime_.Delete(id, true);
        if (!deleted.ok()) LogWarning("container " + c->name() + ": " + deleted.error().message());
      }
      bool was_running = s.status != ContainerStatus::kRestarting;
      s.status = ContainerStatus::kExited;
      if (was_running) {
        s.exit_code = 255;
        s.error = "stratad stopped while the container was running";
      }
      s.pid = 0;
      s.finished_at = NowRfc3339Nano();
      SaveState(*c);
    }
    if (Status root = EnsureRoot(*c); !root.ok()) {
      LogWarning("container " + c->name() + ": " + root.error().message());
    }
    std::lock_guard lock(mu_);
    names_[c->config.name] = id;
    containers_[id] = std::move(c);
  }
  if (!ids.empty()) LogInfo("loaded " + std::to_string(containers_.size()) + " container(s)");
  return Ok();
}

void ContainerManager::RestoreContainers() {
  std::vector<ContainerPtr> restore, remove;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, c] : containers_) {
      std::lock_guard clock(c->mu);
      if (c->active() || c->state.started_at.empty()) continue;
      if (c->config.auto_remove) {
        remove.push_back(c);
      } else if (RestartsWithService(c->config.restart, c->state.manually_stopped)) {
        restore.push_back(c);
      }
    }
  }
  if (restore.empty() && remove.empty()) return;
  restore_thread_ = std::thread([this, restore, remove] {
    for (const auto& c : remove) {
      std::lock_guard op(c->op_mu);
      (void)RemoveLocked(c);
    }
    for (const auto& c : restore) {
      if (shutting_down_) return;
      std::lock_guard op(c->op_mu);
      Status s = StartLocked(c, true);
      if (s.ok()) {
        LogInfo("container " + c->name() + " restarted (restart policy " + c->config.restart.str() +
                ")");
      } else {
        LogWarning("container " + c->name() + ": restart: " + s.error().message());
      }
    }
  });
}

void ContainerManager::Shutdown() {
  if (shutting_down_.exchange(true)) return;
  if (restore_thread_.joinable()) restore_thread_.join();
  std::vector<ContainerPtr> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, c] : containers_) all.push_back(c);
  }
  std::vector<std::thread> stoppers;
  for (const auto& c : all) {
    {
      std::lock_guard lock(c->mu);
      if (!c->active()) continue;
    }
    stoppers.emplace_back([this, c] {
      std::lock_guard op(c->op_mu);
      Status s = StopLocked(c, c->config.stop_timeout, false);
      if (!s.ok()) LogWarning("container " + c->name() + ": stop: " + s.error().message());
    });
  }
  if (!stoppers.empty()) LogInfo("stopping " + std::to_string(stoppers.size()) + " container(s)");
  for (auto& t : stoppers) t.join();
  {
    std::unique_lock lock(monitors_mu_);
    monitors_cv_.wait_for(lock, std::chrono::seconds(30), [&] { return monitors_ == 0; });
  }
  for (const auto& c : all) {
    std::lock_guard lock(c->mu);
    c->cv.notify_all();
    c->log->Notify();
  }
}

Status ContainerManager::EnsureRoot(Container& c) {
  if (fuse_.HasRoot(fuse::FuseServer::kContainers, c.config.id)) return Ok();
  ASSIGN_OR_RETURN(storage::Digest chain, storage::Digest::Parse(c.config.chain));
  fuse::UnionRootOptions options;
  options.lower = fuse::MakeChainLower(store_.index(), store_.objects(), chain);
  options.upper_dir = c.upper_dir();
  options.work_dir = c.work_dir();
  ASSIGN_OR_RETURN(auto root, fuse::UnionRoot::Open(std::move(options)));
  Status added = fuse_.AddRoot(fuse::FuseServer::kContainers, c.config.id,
                               std::shared_ptr<fuse::UnionRoot>(std::move(root)));
  if (!added.ok() && added.error().code() != EEXIST) return std::move(added).error();
  return Ok();
}

Result<ContainerManager::ContainerPtr> ContainerManager::Find(const std::string& ref) {
  if (ref.empty()) return Error::Invalid("empty container reference");
  std::lock_guard lock(mu_);
  if (auto it = containers_.find(ref); it != containers_.end()) return it->second;
  std::string name = ref.front() == '/' ? ref.substr(1) : ref;
  if (auto it = names_.find(name); it != names_.end()) return containers_.at(it->second);
  if (ref.find_first_not_of("0123456789abcdef") == std::string::npos) {
    ContainerPtr found;
    for (auto it = containers_.lower_bound(ref);
         it != containers_.end() && it->first.compare(0, ref.size(), ref) == 0; ++it) {
      if (found) return Error::Invalid("container reference " + ref + " is ambiguous");
      found = it->second;
    }
    if (found) return found;
  }
  return Error::NotFound("no such container: " + ref);
}

Result<ContainerRecord> ContainerManager::Create(const CreateRequest& request) {
  if (shutting_down_) return Error(ESHUTDOWN, "stratad is shutting down");
  ContainerConfig config;
  ASSIGN_OR_RETURN(config.restart, RestartPolicy::Parse(request.restart));
  ASSIGN_OR_RETURN(config.network, ParseNetworkMode(request.network));
  if (request.auto_remove && config.restart.kind != RestartPolicy::Kind::kNo) {
    return Error::Invalid("--rm and a restart policy other than \"no\" exclude each other");
  }
  if (request.memory < 0 || request.pids_limit < 0 || request.cpus < 0) {
    return Error::Invalid("limits must not be negative");
  }
  if (request.memory > 0 && request.memory < 6 * 1024 * 1024) {
    return Error::Invalid("the minimum memory limit is 6 MiB (6291456 bytes)");
  }
  if (request.log_max_size < 0 || request.log_max_files < 1) {
    return Error::Invalid("log options: max-size must not be negative, max-file at least 1");
  }
  if (!request.workdir.empty() && request.workdir.front() != '/') {
    return Error::Invalid("the working directory \"" + request.workdir +
                          "\" is invalid: it needs to be an absolute path");
  }
  for (const auto& e : request.env) {
    if (e.empty() || e.front() == '=' || e.find('=') == std::string::npos) {
      return Error::Invalid("invalid environment variable \"" + e + "\" (K=V)");
    }
  }
  std::vector<std::string> destinations;
  for (const auto& spec : request.volumes) {
    ASSIGN_OR_RETURN(Mount m, ParseVolumeSpec(spec));
    if (m.type == Mount::Type::kBind) {
      ASSIGN_OR_RETURN(m.source, ResolveBindSource(m.source));
    }
    config.mounts.push_back(std::move(m));
  }
  for (const auto& spec : request.tmpfs) {
    ASSIGN_OR_RETURN(Mount m, ParseTmpfsSpec(spec));
    config.mounts.push_back(std::move(m));
  }
  for (const auto& m : config.mounts) {
    if (std::find(destinations.begin(), destinations.end(), m.destination) != destinations.end()) {
      return Error::Invalid("duplicate mount point: " + m.destination);
    }
    destinations.push_back(m.destination);
  }
  if (!request.hostname.empty() && request.hostname.size() > 64) {
    return Error::Invalid("hostname \"" + request.hostname + "\" is longer than 64 characters");
  }

  // The image: its chain and execution defaults.
  ASSIGN_OR_RETURN(storage::Digest image_id, store_.ResolveImage(request.image));
  ASSIGN_OR_RETURN(auto image_record, store_.index().GetImage(image_id));
  if (!image_record) return Error::NotFound("no such image: " + request.image);
  ASSIGN_OR_RETURN(std::string config_text, store_.ImageConfig(image_id.str()));
  ASSIGN_OR_RETURN(storage::oci::ImageConfig image,
                   storage::oci::ParseImageConfig(config_text, "config of " + image_id.str()));
  config.image = image_id.str();
  config.image_ref = request.image;
  config.chain = image_record->chain.str();
  config.entrypoint = image.config.entrypoint;
  config.cmd = request.cmd.empty() ? image.config.cmd : request.cmd;
  if (config.Args().empty()) {
    return Error::Invalid("no command specified: image " + request.image + " has no Cmd");
  }
  config.env = image.config.env;
  for (const auto& e : request.env) MergeEnv(config.env, e);
  config.workdir = !request.workdir.empty()            ? request.workdir
                   : !image.config.working_dir.empty() ? image.config.working_dir
                                                       : "/";
  config.user = request.user.empty() ? image.config.user : request.user;
  config.labels = image.config.labels;
  for (const auto& [k, v] : request.labels) config.labels[k] = v;
  config.memory = request.memory;
  config.pids_limit = request.pids_limit;
  config.cpus = request.cpus;
  config.log_max_size = request.log_max_size;
  config.log_max_files = request.log_max_files;
  config.tty = request.tty;
  config.interactive = request.interactive;
  config.auto_remove = request.auto_remove;
  config.stop_signal = image.config.stop_signal;
  RETURN_IF_ERROR(ApplySecurityOptions(request.privileged, request.security_opt, config));
  config.created = NowRfc3339Nano();

  std::lock_guard lock(mu_);
  if (!request.name.empty()) {
    ASSIGN_OR_RETURN(config.name, ValidateContainerName(request.name));
    if (auto it = names_.find(config.name); it != names_.end()) {
      return Error::Exists("the container name \"" + config.name + "\" is already in use by " +
                           it->second.substr(0, 12) + ": remove it or pick another name");
    }
  } else {
    for (int attempt = 0;; ++attempt) {
      config.name = GenerateName(RandomU64());
      if (attempt > 8) config.name += "_" + std::to_string(RandomU64() % 1000);
      if (!names_.count(config.name)) break;
    }
  }
  do {
    config.id = NewContainerId();
  } while (containers_.count(config.id));
  config.hostname = request.hostname.empty() ? config.id.substr(0, 12) : request.hostname;

  // Named volumes are made now, as Docker does.
  for (const auto& m : config.mounts) {
    if (m.type != Mount::Type::kVolume) continue;
    bool created = false;
    ASSIGN_OR_RETURN(VolumeInfo v, volumes_.Create(m.source, {}, &created));
    if (created) LogInfo("created volume " + v.name);
  }

  std::string cdir = ContainerDir(config.id);
  RETURN_IF_ERROR(MakeDirs(cdir, 0700));
  auto c = std::make_shared<Container>(config, ContainerState{}, cdir);
  Status saved = SaveConfig(cdir, config, !config.auto_remove);
  if (saved.ok()) saved = runtime::SaveState(cdir, c->state, !config.auto_remove);
  if (saved.ok()) saved = EnsureRoot(*c);
  if (!saved.ok()) {
    (void)fuse_.RemoveRoot(fuse::FuseServer::kContainers, config.id);
    (void)RemoveTree(cdir);
    return std::move(saved).error();
  }
  names_[config.name] = config.id;
  containers_[config.id] = c;
  fuse_.StatusChanged();  // mnt/status lists it
  {
    std::lock_guard warmup(c->warmup_mu);
    c->warmup = WarmUpRoot(reaper_, fuse_.PathOf(fuse::FuseServer::kContainers, config.id),
                           config, fuse_.max_read());
  }
  LogInfo("created container " + config.name + " (" + config.id.substr(0, 12) + ") of " +
          request.image);
  return ContainerRecord{c->config, c->state};
}

Result<std::vector<ContainerRecord>> ContainerManager::List(bool all) {
  std::vector<ContainerRecord> out;
  std::lock_guard lock(mu_);
  for (auto& [id, c] : containers_) {
    std::lock_guard clock(c->mu);
    if (!all && c->state.status != ContainerStatus::kRunning &&
        c->state.status != ContainerStatus::kPaused &&
        c->state.status != ContainerStatus::kRestarting) {
      continue;
    }
    out.push_back({c->config, c->state});
  }
  std::sort(out.begin(), out.end(), [](const ContainerRecord& a, const ContainerRecord& b) {
    return a.config.created > b.config.created;
  });
  return out;
}

Result<ContainerRecord> ContainerManager::Inspect(const std::string& ref) {
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  std::lock_guard lock(c->mu);
  return ContainerRecord{c->config, c->state};
}

Result<std::string> ContainerManager::Remove(const std::string& ref, bool force) {
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  std::lock_guard op(c->op_mu);
  {
    std::lock_guard lock(c->mu);
    if (c->removed) return Error::NotFound("no such container: " + ref);
    if (c->active() && !force) {
      return Error(EBUSY, "container " + c->name() + " is " +
                              std::string(StatusName(c->state.status)) +
                              ": stop it first or use -f");
    }
  }
  if (force) RETURN_IF_ERROR(StopLocked(c, 0, true));
  RETURN_IF_ERROR(RemoveLocked(c));
  return c->config.id;
}

Status ContainerManager::RemoveLocked(const ContainerPtr& c) {
  {
    std::unique_lock lock(c->mu);
    if (c->removed) return Ok();
    if (c->active()) return Error(EBUSY, "container " + c->name() + " is still running");
    c->removed = true;
    c->cv.notify_all();
    // A monitor still recording the last exit writes into the directory.
    c->cv.wait(lock, [&] { return !c->monitoring; });
    // An attached run (`run --rm`) reads its output from the log once the
    // exit is counted, and `logs` reads it too; the log goes with the
    // directory below, so they get to the end first (bounded: a client that
    // stopped reading does not hold up the removal).
    c->cv.wait_for(lock, kLogReaderGrace, [&] { return c->log_readers == 0; });
  }
  c->JoinWarmUp();
  const std::string& id = c->config.id;
  // Out of the lists first: from here the name is free and ps does not show
  // it, and a `run --rm` waiting for this (unlisted) may answer while the
  // runtime's state, the root and the directory go.
  {
    std::lock_guard lock(mu_);
    containers_.erase(id);
    if (auto it = names_.find(c->config.name); it != names_.end() && it->second == id) {
      names_.erase(it);
    }
    fuse_.StatusChanged();  // mnt/status no longer lists it
    if (c->config.auto_remove) {
      std::lock_guard clock(c->mu);
      removed_exit_codes_[id] = c->state.exit_code;
      if (removed_exit_codes_.size() > 256) removed_exit_codes_.erase(removed_exit_codes_.begin());
    }
  }
  {
    std::lock_guard lock(c->mu);
    c->unlisted = true;
    c->cv.notify_all();
  }
  c->log->Notify();
  if (runtime_.Exists(id)) (void)runtime_.Delete(id, true);
  c->log->StopPump();
  (void)fuse_.RemoveRoot(fuse::FuseServer::kContainers, id);
  // The record goes first (renamed away), so a crash midway leaves no
  // half-removed container behind, only a directory to sweep.
  std::string doomed = store_.root() + "/containers/.rm-" + id;
  if (::rename(c->dir.c_str(), doomed.c_str()) != 0) doomed = c->dir;
  RETURN_IF_ERROR(RemoveTree(doomed));
  LogInfo("removed container " + c->name() + " (" + id.substr(0, 12) + ")");
  return Ok();
}

void ContainerManager::WaitUnlistedIfAutoRemoved(const ContainerPtr& c) {
  std::unique_lock lock(c->mu);
  if (!c->config.auto_remove) return;
  // Bounded: a removal that fails still unlists first, but a shutdown
  // skips it.
  c->cv.wait_for(lock, std::chrono::seconds(30), [&] { return c->unlisted || shutting_down_; });
}

std::vector<std::string> ContainerManager::VolumeUsers(const std::string& name) {
  std::vector<std::string> users;
  for (auto& [id, c] : containers_) {
    for (const auto& m : c->config.mounts) {
      if (m.type == Mount::Type::kVolume && m.source == name) {
        users.push_back(c->config.name);
        break;
      }
    }
  }
  return users;
}

Result<VolumeUsage> ContainerManager::CreateVolume(
    const std::string& name, const std::map<std::string, std::string>& labels) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(VolumeInfo info, volumes_.Create(name, labels));
  return VolumeUsage{std::move(info), VolumeUsers(name)};
}

Result<std::vector<VolumeUsage>> ContainerManager::ListVolumes() {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(std::vector<VolumeInfo> all, volumes_.List());
  std::vector<VolumeUsage> out;
  for (auto& v : all) {
    std::vector<std::string> users = VolumeUsers(v.name);
    out.push_back({std::move(v), std::move(users)});
  }
  return out;
}

Result<VolumeUsage> ContainerManager::InspectVolume(const std::string& name) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(VolumeInfo info, volumes_.Inspect(name));
  return VolumeUsage{std::move(info), VolumeUsers(name)};
}

Status ContainerManager::RemoveVolume(const std::string& name) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(VolumeInfo info, volumes_.Inspect(name));
  std::vector<std::string> users = VolumeUsers(name);
  if (!users.empty()) {
    std::string list;
    for (const auto& u : users) list += (list.empty() ? "" : ", ") + u;
    return Error(EBUSY, "volume " + name + " is in use by container(s) " + list);
  }
  RETURN_IF_ERROR(volumes_.Remove(name));
  LogInfo("removed volume " + name);
  return Ok();
}

}  // namespace strata::runtime
