// strata's default seccomp profile (seccomp_profile.h), built as a value of
// Docker's format so that it goes through the same translation as a user's
// profile. The lists are by what a container may need: everything a
// program does on its own files, memory, processes, signals, sockets, IPC
// and clocks; nothing that reaches the kernel's global state (modules,
// kexec, keyrings, BPF, perf, the clock, swap, reboot, quotas) unless the
// container holds the capability that the kernel would check anyway.
#include <initializer_list>

#include <boost/json.hpp>

#include "runtime/seccomp_profile.h"

namespace strata::runtime {
namespace json = boost::json;

namespace {

// Flags of clone/unshare that make new namespaces (CLONE_NEWNS, NEWCGROUP,
// NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET; CLONE_NEWTIME is 0x80, which
// clone's flags share with the exit signal, so only unshare checks it).
constexpr uint64_t kNamespaceFlags = 0x7E020000;
constexpr uint64_t kUnshareNamespaceFlags = kNamespaceFlags | 0x80;
constexpr uint64_t kAfVsock = 40;
constexpr int kEnosys = 38;

// Always allowed.
constexpr std::initializer_list<const char*> kAllowed = {
    // files and directories
    "access",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "close",
    "close_range",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futimesat",
    "getcwd",
    "getdents",
    "getdents64",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "ioctl",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "name_to_handle_at",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pipe",
    "pipe2",
    "pread64",
    "preadv",
    "preadv2",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "rmdir",
    "sendfile",
    "sendfile64",
    "setxattr",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "tee",
    "truncate",
    "truncate64",
    "umask",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vmsplice",
    "write",
    "writev",
    "fanotify_mark",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    // asynchronous I/O and waiting
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "io_setup",
    "io_submit",
    "poll",
    "ppoll",
    "ppoll_time64",
    "pselect6",
    "pselect6_time64",
    "select",
    "_newselect",
    "signalfd",
    "signalfd4",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    // memory
    "brk",
    "madvise",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mremap",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "remap_file_pages",
    "map_shadow_stack",
    // processes, threads, identity, limits
    "capget",
    "capset",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "fork",
    "vfork",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "getcpu",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "get_thread_area",
    "gettid",
    "getuid",
    "getuid32",
    "ioprio_get",
    "ioprio_set",
    "pidfd_open",
    "pidfd_send_signal",
    "prctl",
    "prlimit64",
    "process_mrelease",
    "restart_syscall",
    "rseq",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "ugetrlimit",
    "uname",
    "wait4",
    "waitid",
    "waitpid",
    "sysinfo",
    "times",
    // signals
    "alarm",
    "getitimer",
    "kill",
    "pause",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "setitimer",
    "sigaltstack",
    "sigprocmask",
    "sigreturn",
    "sigsuspend",
    "tgkill",
    "tkill",
    // clocks and timers (reading them; setting needs CAP_SYS_TIME below)
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "gettimeofday",
    "nanosleep",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    // sockets (socket itself is conditional, below)
    "accept",
    "accept4",
    "bind",
    "connect",
    "getpeername",
    "getsockname",
    "getsockopt",
    "listen",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "send",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setsockopt",
    "shutdown",
    "socketcall",
    "socketpair",
    // System V and POSIX IPC (the container's own ipc namespace)
    "ipc",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
};

// Allowed to a container whose bounding set holds the capability: the
// kernel checks it too, the filter only keeps the attack surface of these
// calls away from containers that could not use them anyway.
struct CapabilityGroup {
  const char* capability;
  std::initializer_list<const char*> syscalls;
};
const CapabilityGroup kCapabilityGroups[] = {
    {"CAP_SYS_ADMIN",
     {"bpf",           "clone",       "clone3",        "fanotify_init",   "fsconfig",
      "fsmount",       "fsopen",      "fspick",        "lookup_dcookie",  "mount",
      "mount_setattr", "move_mount",  "open_tree",     "perf_event_open", "pivot_root",
      "quotactl",      "quotactl_fd", "setdomainname", "sethostname",     "setns",
      "swapoff",       "swapon",      "syslog",        "umount",          "umount2",
      "unshare",       "personality"}},
    {"CAP_SYS_BOOT", {"reboot"}},
    {"CAP_SYS_CHROOT", {"chroot"}},
    {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"}},
    {"CAP_SYS_PACCT", {"acct"}},
    {"CAP_SYS_PTRACE",
     {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}},
    {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
    {"CAP_SYS_TIME",
     {"settimeofday", "stime", "clock_settime", "clock_settime64", "adjtimex", "clock_adjtime",
      "clock_adjtime64"}},
    {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
    {"CAP_SYS_NICE",
     {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node", "migrate_pages",
      "move_pages"}},
    {"CAP_SYSLOG", {"syslog"}},
    {"CAP_BPF", {"bpf"}},
    {"CAP_PERFMON", {"perf_event_open"}},
    {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
};

json::array Names(std::initializer_list<const char*> names) {
  json::array out;
  for (const char* n : names) out.emplace_back(n);
  return out;
}

json::object Arg(unsigned index, uint64_t value, uint64_t value_two, const char* op) {
  return json::object{{"index", index}, {"value", value}, {"valueTwo", value_two}, {"op", op}};
}

json::object Rule(std::initializer_list<const char*> names, json::array args = {}) {
  json::object r{{"names", Names(names)}, {"action", "SCMP_ACT_ALLOW"}};
  if (!args.empty()) r["args"] = std::move(args);
  return r;
}

json::object Caps(std::initializer_list<const char*> caps) {
  return json::object{{"caps", Names(caps)}};
}

json::object Arches(std::initializer_list<const char*> arches) {
  return json::object{{"arches", Names(arches)}};
}

json::object Build() {
  json::array rules;
  rules.push_back(Rule(kAllowed));

  // socket: any family but AF_VSOCK (the host's hypervisor sockets).
  rules.push_back(Rule({"socket"}, {Arg(0, kAfVsock, 0, "SCMP_CMP_NE")}));
  // personality: only the harmless personas (Linux, with or without
  // address-space randomization off, the 32-bit one) and the query.
  for (uint64_t persona : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL}) {
    rules.push_back(Rule({"personality"}, {Arg(0, persona, 0, "SCMP_CMP_EQ")}));
  }
  // Thread-local storage and LDT setup on x86.
  {
    json::object r = Rule({"arch_prctl", "modify_ldt"});
    r["includes"] = Arches({"amd64", "x32", "386"});
    rules.push_back(std::move(r));
  }
  // ptrace within the container: safe since Linux 4.8 (seccomp is then
  // checked after the tracer changes a system call); the pid namespace and
  // the missing CAP_SYS_PTRACE keep it from the host's processes.
  {
    json::object r = Rule({"ptrace"});
    r["includes"] = json::object{{"minKernel", "4.8"}};
    rules.push_back(std::move(r));
  }
  // clone and unshare without namespace flags for containers without
  // CAP_SYS_ADMIN (the flags are argument 1 on s390, 0 elsewhere).
  {
    json::object r = Rule({"clone"}, {Arg(0, kNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ")});
    r["excludes"] =
        json::object{{"caps", Names({"CAP_SYS_ADMIN"})}, {"arches", Names({"s390", "s390x"})}};
    rules.push_back(std::move(r));
    json::object s = Rule({"clone"}, {Arg(1, kNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ")});
    s["includes"] = Arches({"s390", "s390x"});
    s["excludes"] = Caps({"CAP_SYS_ADMIN"});
    rules.push_back(std::move(s));
    json::object u = Rule({"unshare"}, {Arg(0, kUnshareNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ")});
    u["excludes"] = Caps({"CAP_SYS_ADMIN"});
    rules.push_back(std::move(u));
  }
  // clone3 keeps its flags in memory a filter cannot read: ENOSYS makes
  // the C library fall back to clone.
  {
    json::object r{
        {"names", Names({"clone3"})}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kEnosys}};
    r["excludes"] = Caps({"CAP_SYS_ADMIN"});
    rules.push_back(std::move(r));
  }
  for (const CapabilityGroup& g : kCapabilityGroups) {
    json::object r = Rule(g.syscalls);
    r["includes"] = json::object{{"caps", Names({g.capability})}};
    rules.push_back(std::move(r));
  }

  json::array arch_map{
      json::object{{"architecture", "SCMP_ARCH_X86_64"},
                   {"subArchitectures", Names({"SCMP_ARCH_X86", "SCMP_ARCH_X32"})}},
      json::object{{"architecture", "SCMP_ARCH_AARCH64"},
                   {"subArchitectures", Names({"SCMP_ARCH_ARM"})}},
      json::object{{"architecture", "SCMP_ARCH_PPC64LE"}, {"subArchitectures", json::array()}},
      json::object{{"architecture", "SCMP_ARCH_S390X"},
                   {"subArchitectures", Names({"SCMP_ARCH_S390"})}},
      json::object{{"architecture", "SCMP_ARCH_RISCV64"}, {"subArchitectures", json::array()}},
  };
  return json::object{{"defaultAction", "SCMP_ACT_ERRNO"},
                      {"defaultErrnoRet", EPERM},
                      {"archMap", std::move(arch_map)},
                      {"syscalls", std::move(rules)}};
}

}  // namespace

const json::object& DefaultSeccompProfile() {
  static const json::object kProfile = Build();
  return kProfile;
}

}  // namespace strata::runtime
