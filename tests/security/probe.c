/* probe: one system call a container should (or should not) be allowed,
 * called with arguments chosen so that the kernel itself would answer
 * something other than EPERM when no seccomp filter is in the way (an
 * invalid command, a NULL pointer). Prints "NAME ok" or "NAME errno N".
 * Each call runs in a child of its own, so none changes the next one's
 * conditions (a new user namespace, a personality).
 * Built static by tests/security/test_escape.py and bound into containers.
 *
 *   probe NAME [ARG]    NAME: keyctl add_key request_key bpf perf_event_open
 *                       unshare-user unshare-net clone-user kexec_load
 *                       open_by_handle_at init_module finit_module mount
 *                       umount socket-vsock personality ptrace (ARG: pid)
 *                       mknod-block (ARG: path) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static long call(const char* name, const char* arg) {
  if (!strcmp(name, "keyctl"))
    return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0);
  if (!strcmp(name, "add_key")) return syscall(SYS_add_key, "user", "strata-probe", "x", 1, -3);
  if (!strcmp(name, "request_key")) return syscall(SYS_request_key, "user", "strata-none", NULL, 0);
  if (!strcmp(name, "bpf")) return syscall(SYS_bpf, 9999, NULL, 0);
  if (!strcmp(name, "perf_event_open")) return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
  if (!strcmp(name, "unshare-user")) return unshare(CLONE_NEWUSER);
  if (!strcmp(name, "unshare-net")) return unshare(CLONE_NEWNET);
  if (!strcmp(name, "clone-user")) {
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return pid < 0 ? -1 : 0;
  }
  if (!strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, NULL, 0);
  if (!strcmp(name, "open_by_handle_at")) return syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0);
  if (!strcmp(name, "init_module")) return syscall(SYS_init_module, NULL, 0, "");
  if (!strcmp(name, "finit_module")) return syscall(SYS_finit_module, -1, "", 0);
  if (!strcmp(name, "mount")) return mount("none", "/tmp", "tmpfs", 0, NULL);
  if (!strcmp(name, "umount")) return umount2("/proc", MNT_DETACH);
  if (!strcmp(name, "socket-vsock")) return socket(40 /* AF_VSOCK */, SOCK_STREAM, 0);
  if (!strcmp(name, "personality")) return personality(0x0040000 /* ADDR_COMPAT_LAYOUT */);
  if (!strcmp(name, "ptrace"))
    return ptrace(PTRACE_ATTACH, (pid_t)atoi(arg ? arg : "1"), NULL, NULL);
  if (!strcmp(name, "mknod-block")) {
    /* A block device of the host's (ARG: path); made, then opened. */
    if (mknod(arg, S_IFBLK | 0600, makedev(7, 0)) != 0) return -1;
    return open(arg, O_RDONLY);
  }
  fprintf(stderr, "probe: unknown call %s\n", name);
  exit(2);
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    const char* name = argv[i];
    const char* arg = NULL;
    char* eq = strchr(argv[i], '=');
    if (eq) {
      *eq = '\0';
      arg = eq + 1;
    }
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
      perror("probe: fork");
      return 1;
    }
    if (child == 0) {
      errno = 0;
      long rc = call(name, arg);
      if (rc < 0)
        printf("%s errno %d\n", name, errno);
      else
        printf("%s ok\n", name);
      fflush(stdout);
      _exit(0);
    }
    waitpid(child, NULL, 0);
  }
  return 0;
}
