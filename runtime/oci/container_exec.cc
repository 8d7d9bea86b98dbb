// Container::Exec: a new process in a running container's namespaces and
// cgroup (runc exec).
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>

#include "common/fs.h"
#include "runtime/oci/container.h"
#include "runtime/oci/foreground.h"
#include "runtime/oci/process.h"
#include "runtime/oci/pty.h"
#include "runtime/oci/seccomp.h"
#include "runtime/oci/seccomp_cache.h"
#include "runtime/oci/spawn.h"

namespace strata::runtime::oci {
namespace {

Result<uint32_t> ParseId(std::string_view text, std::string_view what) {
  uint32_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return Error::Invalid("--user: " + std::string(what) + " \"" + std::string(text) +
                          "\" is not a number");
  }
  return value;
}

// The process to run: --process as given, or the container's own process
// with the command and the options of the exec command line.
Result<Process> BuildProcess(const ExecOptions& o, const StateDir& dir) {
  if (!o.process_file.empty()) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(o.process_file));
    auto process = ParseProcess(text);
    if (!process.ok()) return std::move(process).error().Context(o.process_file);
    return process;
  }
  if (o.args.empty()) return Error::Invalid("exec: no command given");
  ASSIGN_OR_RETURN(std::string config, ReadFile(dir.ConfigPath()));
  ASSIGN_OR_RETURN(Spec spec, ParseSpec(config));
  Process p = std::move(spec.process);
  p.args = o.args;
  p.terminal = o.tty;
  p.console_height = p.console_width = 0;
  for (const std::string& kv : o.env) {
    size_t eq = kv.find('=');
    std::string key = kv.substr(0, eq);
    std::erase_if(p.env, [&](const std::string& e) {
      return e.size() > key.size() && e.starts_with(key) && e[key.size()] == '=';
    });
    p.env.push_back(eq == std::string::npos ? kv + "=" : kv);
  }
  if (!o.cwd.empty()) {
    if (o.cwd[0] != '/') return Error::Invalid("--cwd must be absolute");
    p.cwd = o.cwd;
  }
  if (!o.user.empty()) {
    size_t colon = o.user.find(':');
    ASSIGN_OR_RETURN(p.user.uid, ParseId(o.user.substr(0, colon), "uid"));
    if (colon != std::string::npos) {
      ASSIGN_OR_RETURN(p.user.gid, ParseId(o.user.substr(colon + 1), "gid"));
    } else {
      p.user.gid = 0;
    }
    p.user.additional_gids.clear();
  }
  return p;
}

// The container's seccomp filter, which every process of it gets (as runc).
Result<std::optional<Seccomp>> ContainerSeccomp(const StateDir& dir) {
  ASSIGN_OR_RETURN(std::string config, ReadFile(dir.ConfigPath()));
  ASSIGN_OR_RETURN(Spec spec, ParseSpec(config));
  return std::move(spec.linux.seccomp);
}

[[noreturn]] void RunExecProcess(const Process& p, const std::optional<SeccompProgram>& seccomp,
                                 int console_fd, int preserve_fds, const SyncSocket& sync) {
  auto fail = [&](Error err) { sync.ReportAndExit(err); };
  if (p.terminal) {
    if (::setsid() < 0) fail(Error::FromErrno("setsid"));
    auto pty = OpenPty();
    if (!pty.ok()) fail(std::move(pty).error());
    Status st = SetWindowSize(pty->master.get(), p.console_height, p.console_width);
    if (st.ok()) st = SendFd(console_fd, pty->master.get(), pty->slave_path);
    if (st.ok()) st = MakeControllingTerminal(pty->slave.get());
    if (!st.ok()) fail(std::move(st).error());
  }
  std::vector<std::string> env = ProcessEnvironment(p);
  Status st = SetExecFds(preserve_fds);
  // Placed as in the init (init.h): before the privileges go without
  // no_new_privs, else last.
  if (st.ok() && seccomp && !p.no_new_privileges) st = InstallSeccomp(*seccomp);
  if (st.ok()) st = PrepareProcess(p);
  if (!st.ok()) fail(std::move(st).error());
  auto program = FindExecutable(p.args[0], env);
  if (!program.ok()) fail(std::move(program).error());
  if (seccomp && p.no_new_privileges) {
    if (Status loaded = InstallSeccomp(*seccomp); !loaded.ok()) fail(std::move(loaded).error());
  }
  sync.ReportAndExit(Exec(*program, p.args, env));
}

}  // namespace

Result<int> Container::Exec(const ExecOptions& options) {
  ContainerStatus status = CurrentStatus();
  if (status != ContainerStatus::kRunning && status != ContainerStatus::kCreated) {
    return Error::Invalid("container " + state_.id + " is " +
                          std::string(ContainerStatusName(status)) + "; exec needs it running");
  }
  ASSIGN_OR_RETURN(Process process, BuildProcess(options, dir_));
  ASSIGN_OR_RETURN(std::optional<Seccomp> profile, ContainerSeccomp(dir_));
  // Compiled before the fork, from the cache in the state root that the
  // container's create filled (seccomp_cache.h), as for the init.
  std::optional<SeccompProgram> seccomp;
  if (profile) {
    const std::string root = std::filesystem::path(dir_.path()).parent_path().string();
    ASSIGN_OR_RETURN(seccomp, CachedSeccompProgram(*profile, root));
  }
  bool to_caller = process.terminal && options.console_socket.empty();
  if (to_caller && options.detach) {
    return Error::Invalid("--tty with --detach needs --console-socket to receive the terminal");
  }

  UniqueFd console, receiver;
  if (process.terminal) {
    if (!to_caller) {
      ASSIGN_OR_RETURN(console, ConnectUnixSocket(options.console_socket));
    } else {
      int pair[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        return Error::FromErrno("socketpair");
      }
      receiver.reset(pair[0]);
      console.reset(pair[1]);
    }
  }

  auto cgroup = Cgroup::Open(state_.cgroup);
  SpawnOptions spawn;
  spawn.cgroup = cgroup.get();
  ASSIGN_OR_RETURN(spawn.join, OpenProcessNamespaces(state_.pid, state_.namespaces));
  spawn.oom_score_adj = process.oom_score_adj;
  if (!options.detach) RETURN_IF_ERROR(BecomeSubreaper());
  std::unique_ptr<Foreground> foreground;
  if (!options.detach) {
    ASSIGN_OR_RETURN(foreground, Foreground::Create());
  }

  ASSIGN_OR_RETURN(auto sync, SyncSocket::Pair());
  int console_fd = console.get();
  int preserve = options.preserve_fds;
  ASSIGN_OR_RETURN(pid_t pid, Spawn(std::move(spawn), sync, [&](const SyncSocket& child) {
                     RunExecProcess(process, seccomp, console_fd, preserve, child);
                   }));
  console.reset();
  // The process's end closes when execve succeeds; before that, an error.
  ASSIGN_OR_RETURN(auto message, sync.first.Receive());
  if (message && message->kind == SyncKind::kError) {
    if (foreground) (void)foreground->Wait(pid, UniqueFd());
    return ErrorFromMessage(*message);
  }
  UniqueFd master;
  if (receiver) {
    ASSIGN_OR_RETURN(master, ReceiveFd(receiver.get()));
  }
  if (!options.pid_file.empty()) {
    RETURN_IF_ERROR(ReplaceFile(options.pid_file, std::to_string(pid), 0644));
  }
  if (options.detach) return 0;
  return foreground->Wait(pid, std::move(master));
}

}  // namespace strata::runtime::oci
