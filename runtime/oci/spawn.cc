#include "runtime/oci/spawn.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "common/fs.h"
#include "runtime/oci/process.h"

namespace strata::runtime::oci {
namespace {

// Forks stage 1, straight into the container's cgroup2 directory when it
// has one, so that no process has to be migrated there (see
// Cgroup::JoinSelf); *in_cgroup2 says whether that happened. Kernels
// without clone3 or CLONE_INTO_CGROUP (before 5.7), or a directory that
// cannot take the process, get a plain fork, and JoinSelf writes (and
// reports any error with its path).
//
// clone3 has no glibc wrapper here, so the child's thread descriptor keeps
// the parent's thread id; stage 1 only writes cgroup files, switches
// namespaces and forks (glibc's fork sets the target's right again), and
// never uses what depends on it (pthread_kill, raise).
pid_t ForkStageOne(const std::string& cgroup2_dir, bool* in_cgroup2) {
  *in_cgroup2 = false;
  if (!cgroup2_dir.empty()) {
    UniqueFd dir(::open(cgroup2_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) {
      clone_args args {};
      args.flags = CLONE_INTO_CGROUP;
      args.exit_signal = SIGCHLD;
      args.cgroup = static_cast<uint64_t>(dir.get());
      long pid = ::syscall(SYS_clone3, &args, sizeof args);
      if (pid >= 0) {
        *in_cgroup2 = true;
        return static_cast<pid_t>(pid);
      }
    }
  }
  return ::fork();
}

[[noreturn]] void RunStageOne(SpawnOptions& options, bool in_cgroup2, const SyncSocket& sync,
                              const std::function<void(const SyncSocket&)>& body) {
  auto fail = [&](Error err) { sync.ReportAndExit(err); };
  // Until it execs, the target is a copy of the runtime inside the
  // container: non-dumpable, its /proc/PID/exe (the host's strata-runtime
  // binary) and memory are out of reach of the container's processes, which
  // lack CAP_SYS_PTRACE (CVE-2019-5736). execve makes the process dumpable
  // again.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) fail(Error::FromErrno("prctl(PR_SET_DUMPABLE)"));
  if (options.cgroup != nullptr) {
    Status st = options.cgroup->JoinSelf(in_cgroup2);
    if (!st.ok()) fail(std::move(st).error().Context("join the container's cgroup"));
  }
  if (options.oom_score_adj) {
    auto fd = OpenFile("/proc/self/oom_score_adj", O_WRONLY);
    Status st = fd.ok() ? WriteAll(fd->get(), std::to_string(*options.oom_score_adj))
                        : Status(std::move(fd).error());
    if (!st.ok()) fail(std::move(st).error().Context("set oom_score_adj"));
  }
  Status st = JoinNamespaces(options.join);
  if (st.ok()) st = UnshareNamespaces(options.create);
  if (!st.ok()) fail(std::move(st).error());

  int go[2];
  if (::pipe2(go, O_CLOEXEC) != 0) fail(Error::FromErrno("pipe"));
  pid_t pid = ::fork();
  if (pid < 0) {
    // A pid namespace whose init has exited refuses new members with ENOMEM.
    bool joined_pid = false;
    for (const auto& ns : options.join) joined_pid |= ns.kind == NamespaceKind::kPid;
    if (errno == ENOMEM && joined_pid) {
      fail(Error(ESRCH, "fork into the container: its init has exited"));
    }
    fail(Error::FromErrno("fork the container process"));
  }
  if (pid == 0) {
    ::close(go[1]);
    char byte;
    ssize_t n;
    do {
      n = ::read(go[0], &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) ::_exit(1);  // stage 1 failed; it reported why
    ::close(go[0]);
    body(sync);
    ::_exit(0);
  }
  ::close(go[0]);
  st = sync.Send({SyncKind::kPid, pid, ""});
  if (!st.ok()) ::_exit(1);
  (void)!::write(go[1], "g", 1);
  ::_exit(0);
}

}  // namespace

Result<pid_t> Spawn(SpawnOptions options, std::pair<SyncSocket, SyncSocket>& sync,
                    const std::function<void(const SyncSocket&)>& body) {
  bool in_cgroup2 = false;
  pid_t stage1 =
      ForkStageOne(options.cgroup != nullptr ? options.cgroup->Cgroup2Dir() : "", &in_cgroup2);
  if (stage1 < 0) return Error::FromErrno("fork");
  if (stage1 == 0) {
    ResetSignals();
    sync.first.Close();
    RunStageOne(options, in_cgroup2, sync.second, body);
  }
  sync.second.Close();
  auto message = sync.first.Receive();
  (void)WaitForPid(stage1);
  if (!message.ok()) return std::move(message).error();
  if (!message->has_value()) return Error(ECHILD, "the runtime's first child died");
  if ((*message)->kind == SyncKind::kError) return ErrorFromMessage(**message);
  if ((*message)->kind != SyncKind::kPid) return Error(EPROTO, "unexpected message from stage 1");
  return static_cast<pid_t>((*message)->value);
}

Result<int> WaitForPid(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, 0);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return Error::FromErrno("waitpid " + std::to_string(pid));
  }
}

int ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

}  // namespace strata::runtime::oci
