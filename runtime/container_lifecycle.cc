// ContainerManager: start, stop, kill, pause, resume, restart, wait, and the
// monitor thread that waits for a container's exit and applies its restart
// policy.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <boost/json.hpp>

#include "common/fs.h"
#include "common/log.h"
#include "runtime/bind_source.h"
#include "runtime/bundle.h"
#include "runtime/console_socket.h"
#include "runtime/container_manager.h"
#include "runtime/container_manager_internal.h"
#include "runtime/oci/signal_names.h"
#include "runtime/root_lookups.h"

namespace strata::runtime {

namespace {

using namespace std::chrono_literals;

// Reads what is buffered in a pipe without blocking.
std::string Drain(int fd) {
  std::string out;
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0 || out.size() > 65536) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// The exit code Docker reports for a process that could not be started.
int StartFailureCode(const std::string& message) {
  if (message.find("not found") != std::string::npos ||
      message.find("no such file") != std::string::npos ||
      message.find("No such file") != std::string::npos) {
    return 127;
  }
  if (message.find("permission denied") != std::string::npos ||
      message.find("Permission denied") != std::string::npos) {
    return 126;
  }
  return 128;
}

// Whether the memory cgroup of the container (cgroupsPath /strata/<id>)
// recorded an OOM kill: cgroup v1 memory.oom_control, v2 memory.events.
bool OomKilled(const std::string& id) {
  for (const std::string& path : {"/sys/fs/cgroup/memory/strata/" + id + "/memory.oom_control",
                                  "/sys/fs/cgroup/strata/" + id + "/memory.events"}) {
    auto text = ReadFile(path);
    if (!text.ok()) continue;
    size_t at = text->find("oom_kill ");
    if (at != std::string::npos && std::strtol(text->c_str() + at + 9, nullptr, 10) > 0) {
      return true;
    }
  }
  return false;
}

Error NotRunning(const std::string& name) {
  return Error(EBUSY, "container " + name + " is not running");
}

}  // namespace

Status ContainerManager::Start(const std::string& ref) {
  if (shutting_down_) return Error(ESHUTDOWN, "stratad is shutting down");
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  std::lock_guard op(c->op_mu);
  return StartLocked(c, true);
}

Status ContainerManager::StartLocked(const ContainerPtr& c, bool by_user) {
  {
    std::unique_lock lock(c->mu);
    if (c->removed) return Error::NotFound("no such container: " + c->name());
    if (c->active()) return Ok();  // already running (or about to restart)
    // The monitor of the previous run may still be recording its exit.
    c->cv.wait(lock, [&] { return !c->monitoring; });
    if (c->active()) return Ok();
    if (by_user) {
      c->state.manually_stopped = false;
      c->state.restart_count = 0;
      c->backoff.Reset();
    }
    c->stop_requested = false;
  }
  RETURN_IF_ERROR(StartRun(c));
  {
    std::lock_guard lock(c->mu);
    c->monitoring = true;
  }
  {
    std::lock_guard lock(monitors_mu_);
    ++monitors_;
  }
  std::thread([this, c] { Monitor(c); }).detach();
  return Ok();
}

Status ContainerManager::StartRun(const ContainerPtr& c) {
  const ContainerConfig& cfg = c->config;
  const std::string& id = cfg.id;
  auto fail = [&](Error e) -> Status {
    std::lock_guard lock(c->mu);
    c->state.error = e.message();
    c->state.exit_code = StartFailureCode(e.message());
    SaveState(*c);
    return e.Context("start " + c->name());
  };

  // The bundle.
  RETURN_IF_ERROR(EnsureRoot(*c));
  std::string root = fuse_.PathOf(fuse::FuseServer::kContainers, id);
  RETURN_IF_ERROR(WriteNetworkFiles(c->dir, cfg));
  BundleInputs in;
  in.root_path = root;
  in.hostname_file = c->dir + "/hostname";
  in.hosts_file = c->dir + "/hosts";
  in.resolv_conf_file = c->dir + "/resolv.conf";
  in.status_dir = fuse_.PathOf(fuse::FuseServer::kStatus, id);
  RootLookups looked;
  if (!cfg.user.empty() || !cfg.mounts.empty()) {
    std::vector<std::string> destinations;
    for (const Mount& m : cfg.mounts) destinations.push_back(m.destination);
    auto found = LookUpInRoot(reaper_, root, cfg.user, destinations);
    if (!found.ok()) return fail(found.error());
    looked = std::move(*found);
  }
  for (size_t i = 0; i < cfg.mounts.size(); ++i) {
    const Mount& m = cfg.mounts[i];
    std::string source;
    if (m.type == Mount::Type::kBind) {
      source = m.source;
      if (Status checked = CheckBindSource(source); !checked.ok()) return fail(checked.error());
      if (!PathExists(source)) {
        // As `docker run -v`: a missing host directory is created.
        if (Status made = MakeDirs(source, 0755); !made.ok()) return fail(made.error());
      }
    } else if (m.type == Mount::Type::kVolume) {
      auto volume = volumes_.Create(m.source);
      if (!volume.ok()) return fail(volume.error());
      source = volume->mountpoint;
    }
    in.volumes.push_back(VolumeMount(m, looked.destinations[i], source));
  }
  in.user = looked.user;
  auto spec = BuildSpec(cfg, in);
  if (!spec.ok()) return fail(spec.error());
  RETURN_IF_ERROR(MakeDirs(c->bundle_dir(), 0700));
  RETURN_IF_ERROR(
      ReplaceFile(c->bundle_dir() + "/config.json", boost::json::serialize(*spec), 0600));

  // The container's output: pipes the pump copies into the log (with a
  // terminal, the runtime's own messages still come on them). Its input:
  // /dev/null, a pipe (-i) or the terminal (-t).
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
  UniqueFd in_r, in_w;
  if (cfg.interactive && !cfg.tty) {
    int in_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
    in_r.reset(in_pipe[0]);
    in_w.reset(in_pipe[1]);
  }
  std::unique_ptr<ConsoleSocket> console;
  if (cfg.tty) {
    static std::atomic<unsigned> counter{0};
    ASSIGN_OR_RETURN(console,
                     ConsoleSocket::Create(id.substr(0, 16) + "-" + std::to_string(++counter)));
  }

  if (runtime_.Exists(id)) (void)runtime_.Delete(id, true);
  auto since = ChildReaper::Clock::now();
  {
    std::lock_guard lock(c->mu);
    c->spawned = since;
  }
  // Created and started by one runtime process. What the process writes
  // before the pump below runs waits in the pipes (or the terminal).
  auto pid = runtime_.RunDetached(id, c->bundle_dir(), console ? console->path() : "",
                                  {in_r.get(), out_w.get(), err_w.get()});
  out_w.reset();
  err_w.reset();
  in_r.reset();
  if (!pid.ok()) {
    std::string text = Drain(err_r.get());
    if (text.empty()) text = Drain(out_r.get());
    std::string line = OciRuntimeCli::ErrorLine(text);
    if (runtime_.Exists(id)) (void)runtime_.Delete(id, true);
    return fail(line.empty() ? pid.error() : Error(EIO, line));
  }
  UniqueFd terminal;
  if (console) {
    // The runtime has returned: its connection and the master wait in the
    // socket's queue.
    auto master = console->Receive(std::chrono::seconds(5), nullptr);
    if (!master.ok()) {
      (void)runtime_.Delete(id, true);
      (void)reaper_.Wait(*pid, 5s, since);
      return fail(std::move(master).error());
    }
    terminal = std::move(*master);
    in_w.reset(::fcntl(terminal.get(), F_DUPFD_CLOEXEC, 3));
    // All output comes through the terminal; the pipes carry only what the
    // runtime itself may say.
    out_r.reset(::fcntl(terminal.get(), F_DUPFD_CLOEXEC, 3));
  }
  // Running before the pump below sends the first output to an attached
  // client: one that detaches as soon as it sees a prompt finds the
  // container running (it found it created under load).
  ContainerState before;
  {
    std::lock_guard lock(c->mu);
    c->input = std::move(in_w);
    c->terminal = std::move(terminal);
    before = c->state;
    c->pid = *pid;
    c->started = ChildReaper::Clock::now();
    c->state.status = ContainerStatus::kRunning;
    c->state.pid = *pid;
    c->state.started_at = NowRfc3339Nano();
    c->state.exit_code = 0;
    c->state.oom_killed = false;
    c->state.error.clear();
    SaveState(*c);
    c->cv.notify_all();
  }
  if (Status pumping = c->log->StartPump(std::move(out_r), std::move(err_r)); !pumping.ok()) {
    (void)runtime_.Delete(id, true);
    (void)reaper_.Wait(*pid, 5s, since);
    {
      std::lock_guard lock(c->mu);
      c->input.reset();
      c->terminal.reset();
      c->pid = 0;
      c->state = before;
      c->cv.notify_all();
    }
    return fail(pumping.error());
  }
  c->log->Notify();
  return Ok();
}

void ContainerManager::Monitor(ContainerPtr c) {
  const std::string& id = c->config.id;
  for (;;) {
    pid_t pid;
    ChildReaper::Clock::time_point since;
    {
      std::lock_guard lock(c->mu);
      pid = c->pid;
      since = c->spawned;
    }
    int status = reaper_.Wait(pid, std::nullopt, since).value_or(0);
    int code = ChildReaper::ExitCode(status);
    // Every process of the container is gone with its init (pid namespace),
    // so the pipes reach end of file; the timeout covers a process that
    // escaped with them (an exec'd one of a runtime without pid namespace).
    if (!c->log->WaitPumpDone(2s)) c->log->StopPump();
    bool oom = OomKilled(id);
    bool restart = false;
    ChildReaper::Clock::duration ran_for;
    {
      std::lock_guard lock(c->mu);
      ran_for = ChildReaper::Clock::now() - c->started;
      c->pid = 0;
      c->input.reset();
      c->terminal.reset();
      c->state.status = ContainerStatus::kExited;
      c->state.pid = 0;
      c->state.exit_code = code;
      c->state.oom_killed = oom;
      c->state.finished_at = NowRfc3339Nano();
      ++c->exits;
      c->last_exit = code;
      restart =
          !c->removed && !c->stop_requested && !shutting_down_ &&
          ShouldRestart(c->config.restart, code, c->state.manually_stopped, c->state.restart_count);
      if (restart) c->state.status = ContainerStatus::kRestarting;
      SaveState(*c);
      c->cv.notify_all();
    }
    c->log->Notify();
    LogInfo("container " + c->name() + " exited with code " + std::to_string(code) +
            (oom ? " (OOM killed)" : "") + (restart ? ", restarting" : ""));
    // The runtime's record goes after the exit is known, so that waiters
    // have it one runtime process sooner; a start or rm waits for this
    // thread (monitoring) before it touches the runtime's state again, and
    // a container removed now has it deleted by RemoveLocked.
    auto delete_runtime_state = [&] {
      if (!runtime_.Exists(id)) return;
      Status deleted = runtime_.Delete(id, true);
      if (!deleted.ok()) LogWarning("container " + c->name() + ": " + deleted.error().message());
    };
    bool auto_removes;
    {
      std::lock_guard lock(c->mu);
      auto_removes = !restart && c->config.auto_remove && !c->removed && !shutting_down_;
    }
    if (!auto_removes) delete_runtime_state();

    auto finish = [&](bool remove) {
      {
        std::lock_guard lock(c->mu);
        if (c->state.status == ContainerStatus::kRestarting) {
          c->state.status = ContainerStatus::kExited;
          SaveState(*c);
        }
        c->monitoring = false;
        c->cv.notify_all();
      }
      c->log->Notify();
      if (remove) {
        std::lock_guard op(c->op_mu);
        Status removed = RemoveLocked(c);
        if (!removed.ok()) LogWarning("container " + c->name() + ": " + removed.error().message());
      }
    };
    if (!restart) {
      bool remove;
      {
        std::lock_guard lock(c->mu);
        remove = c->config.auto_remove && !c->removed && !shutting_down_;
      }
      // A shutdown that began since the runtime's delete was left to the
      // removal leaves the removal to the next start (RestoreContainers):
      // the runtime's state and cgroups go now, not with it.
      if (auto_removes && !remove) delete_runtime_state();
      finish(remove);
      break;
    }

    auto delay = c->backoff.Next(std::chrono::duration_cast<RestartBackoff::Duration>(ran_for));
    auto cancelled = [&] { return c->stop_requested || c->removed || shutting_down_; };
    {
      std::unique_lock lock(c->mu);
      c->cv.wait_for(lock, delay, cancelled);
      if (cancelled()) {
        lock.unlock();
        finish(false);
        break;
      }
    }
    // The restart is a lifecycle operation like any other; a user's stop or
    // rm holding the lock meanwhile cancels it (they set stop_requested or
    // removed before waiting for this thread).
    std::unique_lock op(c->op_mu, std::defer_lock);
    bool gave_up = false;
    while (!op.try_lock_for(100ms)) {
      std::lock_guard lock(c->mu);
      if (cancelled()) {
        gave_up = true;
        break;
      }
    }
    if (!gave_up) {
      std::lock_guard lock(c->mu);
      gave_up = cancelled() || c->state.status != ContainerStatus::kRestarting;
      if (!gave_up) ++c->state.restart_count;
    }
    if (gave_up) {
      if (op.owns_lock()) op.unlock();
      finish(false);
      break;
    }
    Status started = StartRun(c);
    op.unlock();
    if (!started.ok()) {
      LogWarning("container " + c->name() + ": restart: " + started.error().message());
      finish(false);
      break;
    }
  }
  std::lock_guard lock(monitors_mu_);
  --monitors_;
  monitors_cv_.notify_all();
}

Status ContainerManager::Stop(const std::string& ref, std::optional<int> timeout) {
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  std::lock_guard op(c->op_mu);
  return StopLocked(c, timeout.value_or(c->config.stop_timeout), true);
}

Status ContainerManager::StopLocked(const ContainerPtr& c, int timeout, bool by_user) {
  const std::string& id = c->config.id;
  uint64_t seen;
  bool paused;
  {
    std::lock_guard lock(c->mu);
    if (!c->active()) return Ok();
    c->stop_requested = true;
    if (by_user) c->state.manually_stopped = true;
    if (c->state.status == ContainerStatus::kRestarting) {
      // Waiting for its restart: cancel it.
      c->state.status = ContainerStatus::kExited;
      SaveState(*c);
      c->cv.notify_all();
      c->log->Notify();
      return Ok();
    }
    SaveState(*c);
    seen = c->exits;
    paused = c->state.status == ContainerStatus::kPaused;
  }
  if (timeout > 0) {
    int sig = SIGTERM;
    if (!c->config.stop_signal.empty()) {
      if (auto parsed = oci::ParseSignal(c->config.stop_signal); parsed.ok()) sig = *parsed;
    }
    Status sent = runtime_.Kill(id, sig, false);
    if (paused) (void)runtime_.Resume(id);  // a frozen process cannot act on it
    if (!sent.ok()) LogInfo("container " + c->name() + ": " + sent.error().message());
    std::unique_lock lock(c->mu);
    if (c->cv.wait_for(lock, std::chrono::seconds(timeout), [&] { return c->exits != seen; })) {
      return Ok();
    }
  }
  return KillAndWait(c, 30s);
}

Status ContainerManager::KillAndWait(const ContainerPtr& c, std::chrono::milliseconds timeout) {
  const std::string& id = c->config.id;
  uint64_t seen;
  {
    std::lock_guard lock(c->mu);
    if (c->state.status != ContainerStatus::kRunning &&
        c->state.status != ContainerStatus::kPaused) {
      return Ok();
    }
    seen = c->exits;
  }
  Status sent = runtime_.Kill(id, SIGKILL, true);
  (void)runtime_.Resume(id);  // cgroup v1 freezer: killed tasks die once thawed
  std::unique_lock lock(c->mu);
  if (c->cv.wait_for(lock, timeout, [&] { return c->exits != seen; })) return Ok();
  if (!sent.ok()) return std::move(sent).error();
  return Error(ETIMEDOUT, "container " + c->name() + " did not exit after SIGKILL");
}

Status ContainerManager::Restart(const std::string& ref, std::optional<int> timeout) {
  if (shutting_down_) return Error(ESHUTDOWN, "stratad is shutting down");
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  std::lock_guard op(c->op_mu);
  RETURN_IF_ERROR(StopLocked(c, timeout.value_or(c->config.stop_timeout), true));
  return StartLocked(c, true);
}

Status ContainerManager::Kill(const std::string& ref, int signal) {
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  std::lock_guard op(c->op_mu);
  bool paused;
  {
    std::lock_guard lock(c->mu);
    if (c->state.status != ContainerStatus::kRunning &&
        c->state.status != ContainerStatus::kPaused) {
      return NotRunning(c->name());
    }
    paused = c->state.status == ContainerStatus::kPaused;
    int stop_signal = SIGTERM;
    if (auto parsed = oci::ParseSignal(c->config.stop_signal); parsed.ok()) stop_signal = *parsed;
    // Killing (not signalling) a container is a stop by the user: its
    // restart policy waits for the next start.
    if (signal == SIGKILL || signal == stop_signal) {
      c->state.manually_stopped = true;
      c->stop_requested = true;
      SaveState(*c);
    }
  }
  RETURN_IF_ERROR(runtime_.Kill(c->config.id, signal, false));
  if (paused && signal == SIGKILL) (void)runtime_.Resume(c->config.id);
  return Ok();
}

Status ContainerManager::Pause(const std::string& ref) {
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  std::lock_guard op(c->op_mu);
  {
    std::lock_guard lock(c->mu);
    if (c->state.status == ContainerStatus::kPaused) {
      return Error(EBUSY, "container " + c->name() + " is already paused");
    }
    if (c->state.status != ContainerStatus::kRunning) return NotRunning(c->name());
  }
  RETURN_IF_ERROR(runtime_.Pause(c->config.id));
  std::lock_guard lock(c->mu);
  if (c->state.status == ContainerStatus::kRunning) {
    c->state.status = ContainerStatus::kPaused;
    SaveState(*c);
  }
  return Ok();
}

Status ContainerManager::Resume(const std::string& ref) {
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  std::lock_guard op(c->op_mu);
  {
    std::lock_guard lock(c->mu);
    if (c->state.status != ContainerStatus::kPaused) {
      return Error(EBUSY, "container " + c->name() + " is not paused");
    }
  }
  RETURN_IF_ERROR(runtime_.Resume(c->config.id));
  std::lock_guard lock(c->mu);
  if (c->state.status == ContainerStatus::kPaused) {
    c->state.status = ContainerStatus::kRunning;
    SaveState(*c);
  }
  return Ok();
}

Result<int> ContainerManager::Wait(const std::string& ref) {
  auto found = Find(ref);
  if (!found.ok()) {
    std::lock_guard lock(mu_);
    if (auto it = removed_exit_codes_.find(ref); it != removed_exit_codes_.end()) {
      return it->second;
    }
    return std::move(found).error();
  }
  ContainerPtr c = *found;
  std::unique_lock lock(c->mu);
  if (!c->active() && c->state.status != ContainerStatus::kCreated) return c->state.exit_code;
  uint64_t seen = c->exits;
  c->cv.wait(lock, [&] { return c->exits != seen || c->removed || shutting_down_; });
  if (c->exits == seen && !c->removed) return Error(ESHUTDOWN, "stratad is shutting down");
  // Not state.exit_code: a restart by policy may have reset it meanwhile.
  return c->exits != seen ? c->last_exit : c->state.exit_code;
}

}  // namespace strata::runtime
