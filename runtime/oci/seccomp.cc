#include "runtime/oci/seccomp.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <memory>
#include <string_view>

#include <boost/json.hpp>

#include "common/fs.h"
#include "common/unique_fd.h"

namespace strata::runtime::oci {
namespace {

namespace json = boost::json;

constexpr std::string_view kWhere = "linux.seccomp";

// "SCMP_ARCH_X86_64" -> "x86_64", the name libseccomp resolves.
std::string LibseccompArchName(std::string_view name) {
  std::string_view prefix = "SCMP_ARCH_";
  if (name.starts_with(prefix)) name.remove_prefix(prefix.size());
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

uint32_t ArchToken(std::string_view name) {
  return seccomp_arch_resolve_name(LibseccompArchName(name).c_str());
}

const json::value* Find(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

Result<uint64_t> U64(const json::value& v, const std::string& where) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<uint64_t>(v.get_int64());
  return Error::Invalid(where + ": expected a non-negative integer");
}

Result<std::string> Str(const json::object& obj, std::string_view key, const std::string& where) {
  const json::value* v = Find(obj, key);
  if (v == nullptr) return std::string();
  if (!v->is_string())
    return Error::Invalid(where + "." + std::string(key) + ": expected a string");
  return std::string(v->get_string());
}

Result<std::vector<std::string>> Strs(const json::object& obj, std::string_view key,
                                      const std::string& where) {
  std::vector<std::string> out;
  const json::value* v = Find(obj, key);
  if (v == nullptr) return out;
  if (!v->is_array()) return Error::Invalid(where + "." + std::string(key) + ": expected an array");
  for (const json::value& s : v->get_array()) {
    if (!s.is_string())
      return Error::Invalid(where + "." + std::string(key) + ": expected strings");
    out.emplace_back(s.get_string());
  }
  return out;
}

// An action with its errno (errnoRet, or EPERM).
Result<SeccompAction> Action(const json::object& obj, std::string_view action_key,
                             std::string_view errno_key, const std::string& where) {
  ASSIGN_OR_RETURN(std::string name, Str(obj, action_key, where));
  if (name.empty()) return Error::Invalid(where + "." + std::string(action_key) + " is required");
  auto kind = SeccompActionFromName(name);
  if (!kind.ok()) return std::move(kind).error().Context(where);
  SeccompAction action{*kind, 0};
  if (*kind == SeccompActionKind::kErrno || *kind == SeccompActionKind::kTrace) {
    action.ret = EPERM;
    if (const json::value* ret = Find(obj, errno_key); ret != nullptr) {
      ASSIGN_OR_RETURN(uint64_t value, U64(*ret, where + "." + std::string(errno_key)));
      if (value > 0xffff) {
        return Error::Invalid(where + "." + std::string(errno_key) + ": out of range");
      }
      action.ret = static_cast<uint32_t>(value);
    }
  }
  return action;
}

Result<SeccompArg> ParseArg(const json::value& v, const std::string& where) {
  if (!v.is_object()) return Error::Invalid(where + ": expected objects");
  const json::object& obj = v.get_object();
  SeccompArg arg;
  const json::value* index = Find(obj, "index");
  if (index == nullptr) return Error::Invalid(where + ".index is required");
  ASSIGN_OR_RETURN(uint64_t i, U64(*index, where + ".index"));
  if (i > 5) return Error::Invalid(where + ".index: a system call has arguments 0 to 5");
  arg.index = static_cast<unsigned>(i);
  if (const json::value* value = Find(obj, "value"); value != nullptr) {
    ASSIGN_OR_RETURN(arg.value, U64(*value, where + ".value"));
  }
  if (const json::value* value = Find(obj, "valueTwo"); value != nullptr) {
    ASSIGN_OR_RETURN(arg.value_two, U64(*value, where + ".valueTwo"));
  }
  ASSIGN_OR_RETURN(std::string op, Str(obj, "op", where));
  auto parsed = SeccompOpFromName(op);
  if (!parsed.ok()) return std::move(parsed).error().Context(where);
  arg.op = *parsed;
  return arg;
}

uint32_t LibseccompAction(const SeccompAction& a) {
  switch (a.kind) {
    case SeccompActionKind::kKill:
    case SeccompActionKind::kKillThread:
      return SCMP_ACT_KILL_THREAD;
    case SeccompActionKind::kKillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case SeccompActionKind::kTrap:
      return SCMP_ACT_TRAP;
    case SeccompActionKind::kErrno:
      return SCMP_ACT_ERRNO(a.ret);
    case SeccompActionKind::kTrace:
      return SCMP_ACT_TRACE(a.ret);
    case SeccompActionKind::kAllow:
      return SCMP_ACT_ALLOW;
    case SeccompActionKind::kLog:
      return SCMP_ACT_LOG;
  }
  return SCMP_ACT_KILL_PROCESS;
}

scmp_compare LibseccompOp(SeccompOp op) {
  switch (op) {
    case SeccompOp::kNotEqual:
      return SCMP_CMP_NE;
    case SeccompOp::kLess:
      return SCMP_CMP_LT;
    case SeccompOp::kLessOrEqual:
      return SCMP_CMP_LE;
    case SeccompOp::kEqual:
      return SCMP_CMP_EQ;
    case SeccompOp::kGreaterOrEqual:
      return SCMP_CMP_GE;
    case SeccompOp::kGreater:
      return SCMP_CMP_GT;
    case SeccompOp::kMaskedEqual:
      return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

struct ContextDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using FilterContext = std::unique_ptr<void, ContextDeleter>;

Status AddRule(scmp_filter_ctx ctx, uint32_t action, int nr, const std::string& name,
               const std::vector<scmp_arg_cmp>& conds) {
  int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conds.size()),
                                  conds.empty() ? nullptr : conds.data());
  if (rc < 0) return Error::FromErrno("seccomp rule for " + name, -rc);
  return Ok();
}

}  // namespace

Result<SeccompActionKind> SeccompActionFromName(std::string_view name) {
  struct Entry {
    std::string_view name;
    SeccompActionKind kind;
  };
  static constexpr Entry kActions[] = {
      {"SCMP_ACT_KILL", SeccompActionKind::kKill},
      {"SCMP_ACT_KILL_PROCESS", SeccompActionKind::kKillProcess},
      {"SCMP_ACT_KILL_THREAD", SeccompActionKind::kKillThread},
      {"SCMP_ACT_TRAP", SeccompActionKind::kTrap},
      {"SCMP_ACT_ERRNO", SeccompActionKind::kErrno},
      {"SCMP_ACT_TRACE", SeccompActionKind::kTrace},
      {"SCMP_ACT_ALLOW", SeccompActionKind::kAllow},
      {"SCMP_ACT_LOG", SeccompActionKind::kLog},
  };
  for (const auto& e : kActions) {
    if (e.name == name) return e.kind;
  }
  if (name == "SCMP_ACT_NOTIFY") {
    return Error(ENOTSUP, "SCMP_ACT_NOTIFY (a seccomp agent) is not supported");
  }
  return Error::Invalid("unknown action \"" + std::string(name) + "\"");
}

Result<SeccompOp> SeccompOpFromName(std::string_view name) {
  struct Entry {
    std::string_view name;
    SeccompOp op;
  };
  static constexpr Entry kOps[] = {
      {"SCMP_CMP_NE", SeccompOp::kNotEqual},           {"SCMP_CMP_LT", SeccompOp::kLess},
      {"SCMP_CMP_LE", SeccompOp::kLessOrEqual},        {"SCMP_CMP_EQ", SeccompOp::kEqual},
      {"SCMP_CMP_GE", SeccompOp::kGreaterOrEqual},     {"SCMP_CMP_GT", SeccompOp::kGreater},
      {"SCMP_CMP_MASKED_EQ", SeccompOp::kMaskedEqual},
  };
  for (const auto& e : kOps) {
    if (e.name == name) return e.op;
  }
  return Error::Invalid("unknown comparison \"" + std::string(name) + "\"");
}

bool SeccompKnowsArchitecture(std::string_view name) {
  return name.starts_with("SCMP_ARCH_") && ArchToken(name) != 0;
}

std::string SeccompNativeArchitecture() {
  static constexpr std::array<std::string_view, 16> kNames = {
      "SCMP_ARCH_X86_64",   "SCMP_ARCH_AARCH64", "SCMP_ARCH_X86",     "SCMP_ARCH_X32",
      "SCMP_ARCH_ARM",      "SCMP_ARCH_PPC64LE", "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC",
      "SCMP_ARCH_S390X",    "SCMP_ARCH_S390",    "SCMP_ARCH_RISCV64", "SCMP_ARCH_MIPS64",
      "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPS",    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPS64N32",
  };
  uint32_t native = seccomp_arch_native();
  for (std::string_view name : kNames) {
    if (ArchToken(name) == native) return std::string(name);
  }
  return "SCMP_ARCH_NATIVE";
}

Result<Seccomp> ParseSeccomp(const json::object& obj) {
  const std::string where(kWhere);
  Seccomp s;
  ASSIGN_OR_RETURN(s.default_action, Action(obj, "defaultAction", "defaultErrnoRet", where));
  ASSIGN_OR_RETURN(s.architectures, Strs(obj, "architectures", where));
  for (const std::string& arch : s.architectures) {
    if (!SeccompKnowsArchitecture(arch)) {
      return Error::Invalid(where + ".architectures: unknown architecture " + arch);
    }
  }
  ASSIGN_OR_RETURN(auto flags, Strs(obj, "flags", where));
  for (const std::string& flag : flags) {
    if (flag == "SECCOMP_FILTER_FLAG_LOG") {
      s.log = true;
    } else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      s.spec_allow = true;
    } else if (flag != "SECCOMP_FILTER_FLAG_TSYNC") {
      return Error::Invalid(where + ".flags: unknown flag " + flag);
    }
  }
  if (Find(obj, "listenerPath") != nullptr) {
    return Error(ENOTSUP, where + ".listenerPath: seccomp agents are not supported");
  }
  const json::value* syscalls = Find(obj, "syscalls");
  if (syscalls != nullptr) {
    if (!syscalls->is_array()) return Error::Invalid(where + ".syscalls: expected an array");
    size_t i = 0;
    for (const json::value& v : syscalls->get_array()) {
      std::string at = where + ".syscalls[" + std::to_string(i++) + "]";
      if (!v.is_object()) return Error::Invalid(at + ": expected an object");
      const json::object& r = v.get_object();
      SeccompRule rule;
      ASSIGN_OR_RETURN(rule.names, Strs(r, "names", at));
      if (rule.names.empty()) return Error::Invalid(at + ".names: must not be empty");
      ASSIGN_OR_RETURN(rule.action, Action(r, "action", "errnoRet", at));
      if (const json::value* args = Find(r, "args"); args != nullptr) {
        if (!args->is_array()) return Error::Invalid(at + ".args: expected an array");
        for (const json::value& a : args->get_array()) {
          ASSIGN_OR_RETURN(SeccompArg arg, ParseArg(a, at + ".args"));
          rule.args.push_back(arg);
        }
      }
      s.syscalls.push_back(std::move(rule));
    }
  }
  return s;
}

Result<SeccompProgram> CompileSeccomp(const Seccomp& s) {
  FilterContext ctx(seccomp_init(LibseccompAction(s.default_action)));
  if (!ctx) return Error(EINVAL, "seccomp: cannot make a filter");
  // process.noNewPrivileges decides that, not libseccomp.
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) return Error::FromErrno("seccomp: filter attributes", -rc);
  for (const std::string& arch : s.architectures) {
    rc = seccomp_arch_add(ctx.get(), ArchToken(arch));
    if (rc < 0 && rc != -EEXIST) return Error::FromErrno("seccomp: architecture " + arch, -rc);
  }

  for (const SeccompRule& rule : s.syscalls) {
    if (rule.action == s.default_action) continue;
    uint32_t action = LibseccompAction(rule.action);
    std::vector<scmp_arg_cmp> conds;
    bool same_arg_twice = false;
    for (const SeccompArg& a : rule.args) {
      same_arg_twice |= std::any_of(conds.begin(), conds.end(),
                                    [&](const scmp_arg_cmp& c) { return c.arg == a.index; });
      conds.push_back({a.index, LibseccompOp(a.op), a.value, a.value_two});
    }
    for (const std::string& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp: as runc
      if (!same_arg_twice) {
        RETURN_IF_ERROR(AddRule(ctx.get(), action, nr, name, conds));
        continue;
      }
      for (const scmp_arg_cmp& c : conds)
        RETURN_IF_ERROR(AddRule(ctx.get(), action, nr, name, {c}));
    }
  }
  // libseccomp writes the program to a file descriptor; a memfd keeps it
  // off any file system.
  int fd = ::memfd_create("seccomp-bpf", MFD_CLOEXEC);
  if (fd < 0) return Error::FromErrno("seccomp: memfd_create");
  UniqueFd owned(fd);
  rc = seccomp_export_bpf(ctx.get(), fd);
  if (rc < 0) return Error::FromErrno("seccomp: generate the filter", -rc);
  if (::lseek(fd, 0, SEEK_SET) < 0) return Error::FromErrno("seccomp: lseek");
  ASSIGN_OR_RETURN(std::string bytes, ReadAll(fd));
  SeccompProgram program;
  RETURN_IF_ERROR(program.SetCode(bytes));
  if (s.log) program.flags |= SECCOMP_FILTER_FLAG_LOG;
  if (s.spec_allow) program.flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  return program;
}

Status SeccompProgram::SetCode(std::string_view bytes) {
  if (bytes.empty() || bytes.size() % sizeof(struct sock_filter) != 0 ||
      bytes.size() / sizeof(struct sock_filter) > BPF_MAXINSNS) {
    return Error::Corrupt("seccomp: a filter program of " + std::to_string(bytes.size()) +
                          " bytes");
  }
  code.resize(bytes.size() / sizeof(struct sock_filter));
  std::memcpy(code.data(), bytes.data(), bytes.size());
  return Ok();
}

Status InstallSeccomp(const SeccompProgram& program) {
  struct sock_fprog prog;
  prog.len = static_cast<unsigned short>(program.code.size());
  prog.filter = const_cast<struct sock_filter*>(program.code.data());
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog) != 0) {
    return Error::FromErrno("seccomp: load the filter");
  }
  return Ok();
}

Status LoadSeccomp(const Seccomp& s) {
  ASSIGN_OR_RETURN(SeccompProgram program, CompileSeccomp(s));
  return InstallSeccomp(program);
}

}  // namespace strata::runtime::oci
