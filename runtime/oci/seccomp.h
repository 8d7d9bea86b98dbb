// Seccomp: the OCI config's linux.seccomp, parsed and validated with the rest
// of the spec (spec.h), and loaded into the container's process with
// libseccomp just before it execs.
//
// Format (runtime-spec config-linux.md): defaultAction, defaultErrnoRet,
// architectures (SCMP_ARCH_*), flags (SECCOMP_FILTER_FLAG_LOG, _SPEC_ALLOW;
// _TSYNC accepted: the init is single-threaded), syscalls[] of {names,
// action, errnoRet, args[] of {index, value, valueTwo, op}}. Actions
// SCMP_ACT_KILL, _KILL_PROCESS, _KILL_THREAD, _TRAP, _ERRNO, _TRACE, _ALLOW,
// _LOG; SCMP_ACT_NOTIFY (a seccomp agent) is refused. ERRNO and TRACE return
// errnoRet, EPERM when it is unset (as runc).
//
// Semantics follow runc: syscall names libseccomp does not know are skipped
// (a profile written for a newer kernel still loads); a rule whose action is
// the default action is skipped (libseccomp refuses it); conditions on
// different arguments of one rule must all hold; several conditions on the
// same argument become one rule each (any may hold).
//
// Where it is loaded (init.cc, container_exec.cc): with noNewPrivileges, as
// the very last step before execve, so the filter needs to allow only
// execve and what follows it, and loading needs no CAP_SYS_ADMIN; without
// noNewPrivileges, before the user and capabilities change (loading then
// needs CAP_SYS_ADMIN, which the process still has) and the filter must
// allow what the runtime does until execve (as with runc).
// libseccomp's own default of setting no_new_privs on load is turned off:
// process.noNewPrivileges alone decides that.
//
// Thread safety: plain values and functions. LoadSeccomp allocates and is
// meant for the forked, single-threaded child.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/result.h"

namespace strata::runtime::oci {

enum class SeccompActionKind {
  kKill,
  kKillProcess,
  kKillThread,
  kTrap,
  kErrno,
  kTrace,
  kAllow,
  kLog
};

struct SeccompAction {
  SeccompActionKind kind = SeccompActionKind::kAllow;
  uint32_t ret = 0;  // errno for kErrno, message for kTrace

  friend bool operator==(const SeccompAction&, const SeccompAction&) = default;
};

enum class SeccompOp {
  kNotEqual,
  kLess,
  kLessOrEqual,
  kEqual,
  kGreaterOrEqual,
  kGreater,
  kMaskedEqual
};

struct SeccompArg {
  unsigned index = 0;      // 0..5
  uint64_t value = 0;      // kMaskedEqual: the mask
  uint64_t value_two = 0;  // kMaskedEqual: what the masked argument must equal
  SeccompOp op = SeccompOp::kEqual;
};

struct SeccompRule {
  std::vector<std::string> names;
  SeccompAction action;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  SeccompAction default_action;
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64", ...
  bool log = false;                        // SECCOMP_FILTER_FLAG_LOG
  bool spec_allow = false;                 // SECCOMP_FILTER_FLAG_SPEC_ALLOW
  std::vector<SeccompRule> syscalls;
};

// Parses linux.seccomp; errors name the field ("linux.seccomp.syscalls[3]:
// unknown action SCMP_ACT_FOO").
Result<Seccomp> ParseSeccomp(const boost::json::object& obj);

// "SCMP_ACT_ERRNO" -> kErrno; used by the Docker profile translator too.
Result<SeccompActionKind> SeccompActionFromName(std::string_view name);
Result<SeccompOp> SeccompOpFromName(std::string_view name);
// Whether libseccomp knows the architecture ("SCMP_ARCH_X86_64").
bool SeccompKnowsArchitecture(std::string_view name);
// The architecture this binary runs as ("SCMP_ARCH_X86_64").
std::string SeccompNativeArchitecture();

// A filter compiled to BPF. Compiling (libseccomp's rule database and its
// BPF generation) takes milliseconds of CPU for Docker's profile; installing
// a compiled program is one seccomp(2) call. So the runtime compiles (or
// finds in its cache, seccomp_cache.h) before the container's init is
// forked, and the init only installs.
struct SeccompProgram {
  std::vector<struct sock_filter> code;
  unsigned flags = 0;  // SECCOMP_FILTER_FLAG_LOG, _SPEC_ALLOW

  // code from raw instructions; EUCLEAN unless a whole, non-empty program.
  Status SetCode(std::string_view bytes);
};

Result<SeccompProgram> CompileSeccomp(const Seccomp& seccomp);
// Loads a compiled filter into the calling thread (seccomp(2), as
// libseccomp's load does: no_new_privs or CAP_SYS_ADMIN is needed).
Status InstallSeccomp(const SeccompProgram& program);
// Both: compiles the filter and loads it into the calling process.
Status LoadSeccomp(const Seccomp& seccomp);

}  // namespace strata::runtime::oci
