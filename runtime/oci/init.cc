#include "runtime/oci/init.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "runtime/oci/devices.h"
#include "runtime/oci/mounts.h"
#include "runtime/oci/network.h"
#include "runtime/oci/path_in_root.h"
#include "runtime/oci/process.h"
#include "runtime/oci/pty.h"
#include "runtime/oci/rootfs.h"
#include "runtime/oci/seccomp.h"
#include "runtime/oci/sysctl.h"

namespace strata::runtime::oci {
namespace {

// Up to the point of exec; returns the fifo to wait on (or none) and the
// resolved program with its environment.
struct ReadyToExec {
  UniqueFd fifo;
  std::string program;
  std::vector<std::string> env;
};

Result<ReadyToExec> SetUp(const InitOptions& o) {
  const Spec& spec = *o.spec;
  const auto& namespaces = spec.linux.namespaces;
  ReadyToExec ready;

  if (::setsid() < 0) return Error::FromErrno("setsid");
  if (CreatesNamespace(namespaces, NamespaceKind::kNetwork)) RETURN_IF_ERROR(BringUpLoopback());
  ::umask(0);

  if (!o.fifo_path.empty()) {
    // O_RDWR: opening a fifo that way never blocks, and keeps a writer so
    // the later read waits for `start` instead of seeing end of file.
    ASSIGN_OR_RETURN(ready.fifo, OpenFile(o.fifo_path, O_RDWR));
  }

  RETURN_IF_ERROR(PrepareRoot(o.rootfs, spec.linux.rootfs_propagation));
  ASSIGN_OR_RETURN(UniqueFd root_fd, OpenFile(o.rootfs, O_PATH | O_DIRECTORY));
  bool cgroupns = CreatesNamespace(namespaces, NamespaceKind::kCgroup);
  ASSIGN_OR_RETURN(MountResult mounted, MountAll(spec.mounts, root_fd.get(), o.cgroup, cgroupns));
  // Like runc, a missing cwd is made (an image's WORKDIR need not exist).
  RETURN_IF_ERROR_CTX(MakeDirsInRoot(root_fd.get(), spec.process.cwd), "cwd");
  if (!BindsDev(spec.mounts)) RETURN_IF_ERROR(CreateDevices(root_fd.get(), spec.linux.devices));
  root_fd.reset();
  RETURN_IF_ERROR(PivotRoot(o.rootfs));

  if (spec.process.terminal) {
    ASSIGN_OR_RETURN(Pty pty, OpenPty());
    RETURN_IF_ERROR(
        SetWindowSize(pty.master.get(), spec.process.console_height, spec.process.console_width));
    RETURN_IF_ERROR(SendFd(o.console_fd, pty.master.get(), pty.slave_path));
    pty.master.reset();
    RETURN_IF_ERROR(BindConsole(pty.slave_path));
    RETURN_IF_ERROR(MakeControllingTerminal(pty.slave.get()));
  }
  if (mounted.dev_readonly_later) RETURN_IF_ERROR(RemountReadonly("/dev"));
  if (spec.root_readonly) RETURN_IF_ERROR(RemountReadonly("/"));
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0) {
    return Error::FromErrno("sethostname " + spec.hostname);
  }
  if (!spec.domainname.empty() &&
      ::setdomainname(spec.domainname.data(), spec.domainname.size()) != 0) {
    return Error::FromErrno("setdomainname " + spec.domainname);
  }
  RETURN_IF_ERROR(ApplySysctls(spec.linux.sysctl));
  RETURN_IF_ERROR(MakeReadonlyPaths(spec.linux.readonly_paths));
  RETURN_IF_ERROR(MaskPaths(spec.linux.masked_paths));

  RETURN_IF_ERROR(SetExecFds(o.preserve_fds));

  ready.env = ProcessEnvironment(spec.process);
  // Without no_new_privs a filter needs CAP_SYS_ADMIN to load: now, before
  // PrepareProcess gives up capabilities (seccomp.h).
  if (o.seccomp && !spec.process.no_new_privileges) {
    RETURN_IF_ERROR(InstallSeccomp(*o.seccomp));
  }
  RETURN_IF_ERROR(PrepareProcess(spec.process));
  ASSIGN_OR_RETURN(ready.program, FindExecutable(spec.process.args[0], ready.env));
  return ready;
}

}  // namespace

void RunInit(const InitOptions& options, const SyncSocket& sync) {
  auto ready = SetUp(options);
  if (!ready.ok()) sync.ReportAndExit(ready.error());
  if (!sync.Send({SyncKind::kReady, 0, ""}).ok()) ::_exit(1);
  if (ready->fifo) {
    char byte;
    ssize_t n;
    do {
      n = ::read(ready->fifo.get(), &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) ::_exit(1);
    // The fifo stays open until execve closes it (close-on-exec): that is
    // how `start` knows the container's process is running.
  }
  // As late as possible, so the filter need allow little besides execve.
  const Spec& spec = *options.spec;
  if (options.seccomp && spec.process.no_new_privileges) {
    if (Status st = InstallSeccomp(*options.seccomp); !st.ok()) {
      sync.ReportAndExit(std::move(st).error().Context("container init"));
    }
  }
  Error err = Exec(ready->program, options.spec->process.args, ready->env);
  // Nobody may be listening any more (create returned), but a foreground
  // run still is.
  sync.ReportAndExit(err.Context("container init"));
}

}  // namespace strata::runtime::oci
