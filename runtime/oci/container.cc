#include "runtime/oci/container.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "common/fs.h"
#include "runtime/oci/foreground.h"
#include "runtime/oci/init.h"
#include "runtime/oci/pty.h"
#include "runtime/oci/runtime_log.h"
#include "runtime/oci/seccomp_cache.h"
#include "runtime/oci/spawn.h"

namespace strata::runtime::oci {
namespace {

Result<std::string> RealPath(const std::string& path) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return Error::FromErrno(path);
  std::string out(resolved);
  ::free(resolved);
  return out;
}

std::vector<NamespaceKind> Kinds(const std::vector<Namespace>& namespaces) {
  std::vector<NamespaceKind> out;
  for (const Namespace& ns : namespaces) out.push_back(ns.kind);
  return out;
}

}  // namespace

// What a create has made so far, undone (in reverse order) when it fails.
struct PartialCreate {
  std::optional<StateDir> dir;
  std::unique_ptr<Cgroup> cgroup;
  pid_t pid = 0;

  void Undo() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      if (cgroup) {
        if (auto pids = cgroup->Pids(); pids.ok()) {
          for (pid_t p : *pids) ::kill(p, SIGKILL);
        }
      }
    }
    if (cgroup) (void)cgroup->Destroy();
    if (dir) (void)dir->Remove();
  }
};

Result<std::unique_ptr<Container>> Container::Create(const CreateOptions& options) {
  PartialCreate partial;
  auto container = CreateSteps(options, partial);
  if (!container.ok()) partial.Undo();
  return container;
}

Result<std::unique_ptr<Container>> Container::CreateSteps(const CreateOptions& options,
                                                          PartialCreate& partial) {
  RETURN_IF_ERROR(ValidateContainerId(options.id));
  ASSIGN_OR_RETURN(std::string bundle, RealPath(options.bundle));
  std::string config_path = JoinPath(bundle, "config.json");
  ASSIGN_OR_RETURN(std::string config_text, ReadFile(config_path));
  auto parsed = ParseSpec(config_text);
  if (!parsed.ok()) return std::move(parsed).error().Context(config_path);
  const Spec spec = std::move(*parsed);
  for (const std::string& warning : spec.warnings) RuntimeLog(LogLevel::kWarning, warning);

  if (spec.process.terminal && options.console_socket.empty() && !options.terminal_to_caller) {
    return Error::Invalid(
        "process.terminal is set: --console-socket is needed to receive the terminal");
  }
  std::string root_path =
      spec.root_path[0] == '/' ? spec.root_path : JoinPath(bundle, spec.root_path);
  auto rootfs = RealPath(root_path);
  if (!rootfs.ok()) return std::move(rootfs).error().Context("root.path");
  struct stat st;
  if (::stat(rootfs->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(ENOTDIR, "root.path " + *rootfs + " is not a directory");
  }

  ASSIGN_OR_RETURN(partial.dir, StateDir::Create(options.root, options.id));
  const StateDir& dir = *partial.dir;
  RETURN_IF_ERROR(ReplaceFile(dir.ConfigPath(), config_text, 0600));
  if (::mkfifo(dir.FifoPath().c_str(), 0600) != 0)
    return Error::FromErrno("mkfifo " + dir.FifoPath());

  ASSIGN_OR_RETURN(CgroupLayout layout, DetectCgroupLayout());
  ASSIGN_OR_RETURN(partial.cgroup, Cgroup::Create(layout, spec.linux.cgroups_path, options.id,
                                                  spec.linux.resources));
  Cgroup* cgroup = partial.cgroup.get();

  // Where the terminal's master goes: the caller's console socket, or back
  // to us over a socketpair.
  UniqueFd console, terminal_receiver;
  if (spec.process.terminal) {
    if (!options.console_socket.empty()) {
      ASSIGN_OR_RETURN(console, ConnectUnixSocket(options.console_socket));
    } else {
      int pair[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        return Error::FromErrno("socketpair");
      }
      terminal_receiver.reset(pair[0]);
      console.reset(pair[1]);
    }
  }

  SpawnOptions spawn;
  spawn.cgroup = cgroup;
  ASSIGN_OR_RETURN(spawn.join, OpenNamespacePaths(spec.linux.namespaces));
  spawn.create = spec.linux.namespaces;
  spawn.oom_score_adj = spec.process.oom_score_adj;

  InitOptions init;
  init.spec = &spec;
  init.rootfs = *rootfs;
  init.cgroup = cgroup;
  init.fifo_path = dir.FifoPath();
  init.console_fd = console.get();
  init.preserve_fds = options.preserve_fds;
  if (spec.linux.seccomp) {
    ASSIGN_OR_RETURN(init.seccomp, CachedSeccompProgram(*spec.linux.seccomp, options.root));
  }

  ASSIGN_OR_RETURN(auto sync, SyncSocket::Pair());
  ASSIGN_OR_RETURN(pid_t pid, Spawn(std::move(spawn), sync,
                                    [&](const SyncSocket& child) { RunInit(init, child); }));
  partial.pid = pid;
  console.reset();

  ASSIGN_OR_RETURN(auto message, sync.first.Receive());
  if (!message) return Error(ECHILD, "the container's init exited during setup");
  if (message->kind == SyncKind::kError) return ErrorFromMessage(*message);
  if (message->kind != SyncKind::kReady) return Error(EPROTO, "unexpected message from the init");

  UniqueFd terminal;
  if (terminal_receiver) {
    // Sent before kReady, so this does not block.
    ASSIGN_OR_RETURN(terminal, ReceiveFd(terminal_receiver.get()));
  }

  ContainerState state;
  state.id = options.id;
  state.pid = pid;
  ASSIGN_OR_RETURN(ProcStat stat, ReadProcStat(pid));
  state.start_time = stat.start_time;
  state.bundle = bundle;
  state.rootfs = *rootfs;
  state.created = NowRfc3339();
  state.annotations = spec.annotations;
  state.cgroup = cgroup->paths();
  state.namespaces = Kinds(spec.linux.namespaces);
  state.own_pid_namespace = CreatesNamespace(spec.linux.namespaces, NamespaceKind::kPid);
  RETURN_IF_ERROR(dir.Save(state));
  if (!options.pid_file.empty()) {
    RETURN_IF_ERROR(ReplaceFile(options.pid_file, std::to_string(pid), 0644));
  }

  std::unique_ptr<Container> container(new Container(std::move(*partial.dir), std::move(state)));
  container->terminal_ = std::move(terminal);
  partial = PartialCreate();  // created: nothing to undo
  return container;
}

Result<std::unique_ptr<Container>> Container::Load(const std::string& root, const std::string& id) {
  ASSIGN_OR_RETURN(StateDir dir, StateDir::Open(root, id));
  ASSIGN_OR_RETURN(ContainerState state, dir.Load());
  return std::unique_ptr<Container>(new Container(std::move(dir), std::move(state)));
}

ContainerStatus Container::CurrentStatus() const { return DeriveStatus(state_, dir_); }

std::string Container::StateJson() const {
  std::optional<uint64_t> oom;
  auto cgroup = Cgroup::Open(state_.cgroup);
  if (cgroup->Exists()) {
    if (auto kills = cgroup->OomKills(); kills.ok()) oom = *kills;
  }
  return oci::StateJson(state_, CurrentStatus(), oom);
}

Status Container::Start() {
  ContainerStatus status = CurrentStatus();
  if (status == ContainerStatus::kStopped) {
    return Error::Invalid("container " + state_.id + " has stopped and cannot be started");
  }
  if (status != ContainerStatus::kCreated) {
    return Error::Invalid("container " + state_.id + " is " +
                          std::string(ContainerStatusName(status)) + ", not created");
  }
  // The init holds the fifo open for reading; O_NONBLOCK turns "nobody is
  // reading" into ENXIO instead of a hang.
  std::string fifo = dir_.FifoPath();
  int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENXIO) return Error(ESRCH, "the init of container " + state_.id + " is gone");
    return Error::FromErrno("open " + fifo);
  }
  UniqueFd owned(fd);
  if (::write(fd, "0", 1) != 1) return Error::FromErrno("write " + fifo);
  // Return once the init has exec'd process.args: its end of the fifo
  // closes on execve, and poll(2) reports POLLERR on a fifo's write end
  // the moment no reader is left (no polling interval to wait out). So
  // whatever runs after `start` sees the container's process, not the
  // runtime's copy. A slow exec is waited for a while, not treated as an
  // error.
  struct pollfd pfd = {fd, 0, 0};
  for (int left_ms = 5000; left_ms > 0;) {
    auto before = std::chrono::steady_clock::now();
    int n = ::poll(&pfd, 1, left_ms);
    if (n >= 0 || errno != EINTR) break;
    left_ms -= static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - before)
                                    .count());
  }
  if (::unlink(fifo.c_str()) != 0 && errno != ENOENT) return Error::FromErrno("remove " + fifo);
  return Ok();
}

Status Container::Kill(int signal, bool all) {
  ContainerStatus status = CurrentStatus();
  auto cgroup = Cgroup::Open(state_.cgroup);
  if (all) {
    // Frozen, no process can fork a child we would miss; a frozen process
    // still receives the signal and acts on it once thawed.
    bool froze = status != ContainerStatus::kPaused && cgroup->Freeze().ok();
    auto pids = cgroup->Pids();
    Status st;
    if (pids.ok()) {
      for (pid_t pid : *pids) ::kill(pid, signal);
    } else if (status != ContainerStatus::kStopped) {
      st = std::move(pids).error();
    }
    if (froze) (void)cgroup->Thaw();
    if (!st.ok()) return st;
    if (status == ContainerStatus::kStopped && pids.ok() && pids->empty()) {
      return Error(ESRCH, "container " + state_.id + " is not running");
    }
    return Ok();
  }
  if (status == ContainerStatus::kStopped) {
    return Error(ESRCH, "container " + state_.id + " is not running");
  }
  if (::kill(state_.pid, signal) != 0)
    return Error::FromErrno("kill " + std::to_string(state_.pid));
  return Ok();
}

Status Container::Pause() {
  ContainerStatus status = CurrentStatus();
  if (status != ContainerStatus::kRunning && status != ContainerStatus::kCreated) {
    return Error::Invalid("container " + state_.id + " is " +
                          std::string(ContainerStatusName(status)) + " and cannot be paused");
  }
  return Cgroup::Open(state_.cgroup)->Freeze();
}

Status Container::Resume() {
  ContainerStatus status = CurrentStatus();
  if (status != ContainerStatus::kPaused) {
    return Error::Invalid("container " + state_.id + " is " +
                          std::string(ContainerStatusName(status)) + ", not paused");
  }
  return Cgroup::Open(state_.cgroup)->Thaw();
}

Status Container::KillAndWait() {
  auto cgroup = Cgroup::Open(state_.cgroup);
  if (cgroup->Exists()) {
    auto pids = cgroup->Pids();
    if (pids.ok() && !pids->empty()) {
      // Frozen, none of them can fork a process we would miss.
      bool froze = cgroup->Freeze().ok();
      if (froze) pids = cgroup->Pids();
      if (pids.ok()) {
        for (pid_t pid : *pids) ::kill(pid, SIGKILL);
      }
      // A v1-frozen task dies only once thawed.
      auto frozen = cgroup->IsFrozen();
      if (froze || (frozen.ok() && *frozen)) (void)cgroup->Thaw();
    }
  }
  if (ProcessAlive(state_.pid, state_.start_time)) ::kill(state_.pid, SIGKILL);
  bool gone = cgroup_internal::WaitFor(
      [&] {
        if (ProcessAlive(state_.pid, state_.start_time)) return false;
        if (!cgroup->Exists()) return true;
        auto pids = cgroup->Pids();
        return !pids.ok() || pids->empty();
      },
      10000);
  if (!gone) return Error(ETIMEDOUT, "the processes of container " + state_.id + " did not exit");
  return Ok();
}

Status Container::Delete(bool force) {
  ContainerStatus status = CurrentStatus();
  if ((status == ContainerStatus::kRunning || status == ContainerStatus::kPaused) && !force) {
    return Error(EBUSY, "container " + state_.id + " is " +
                            std::string(ContainerStatusName(status)) +
                            ": stop it first or use --force");
  }
  // Also for a stopped container: without a pid namespace of its own, its
  // other processes outlive the init.
  RETURN_IF_ERROR(KillAndWait());
  RETURN_IF_ERROR(Cgroup::Open(state_.cgroup)->Destroy());
  return dir_.Remove();
}

Result<int> RunContainer(const CreateOptions& options, bool detach) {
  CreateOptions create = options;
  if (!detach) {
    RETURN_IF_ERROR(BecomeSubreaper());
    create.terminal_to_caller = options.console_socket.empty();
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Container> container, Container::Create(create));
  if (detach) {
    Status st = container->Start();
    if (!st.ok()) (void)container->Delete(true);
    if (!st.ok()) return std::move(st).error();
    return 0;
  }
  auto foreground = Foreground::Create();
  Status st = foreground.ok() ? container->Start() : Status(foreground.error());
  if (!st.ok()) {
    (void)container->Delete(true);
    return std::move(st).error();
  }
  auto code = (*foreground)->Wait(container->state().pid, container->TakeTerminal());
  foreground->reset();
  Status deleted = container->Delete(true);
  if (!code.ok()) return code;
  if (!deleted.ok())
    RuntimeLog(LogLevel::kWarning, "delete after run: " + deleted.error().message());
  return code;
}

Status DeleteContainer(const std::string& root, const std::string& id, bool force) {
  auto container = Container::Load(root, id);
  if (container.ok()) return (*container)->Delete(force);
  if (!force) return std::move(container).error();
  RETURN_IF_ERROR(ValidateContainerId(id));
  // With force, a directory without a usable state (create was killed
  // half-way) is removed, and a missing container is not an error.
  return RemoveTree(JoinPath(root, id));
}

}  // namespace strata::runtime::oci
