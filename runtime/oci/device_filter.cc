#include "runtime/oci/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "common/fs.h"
#include "runtime/oci/cgroup.h"

namespace strata::runtime::oci {
namespace {

// Registers: r1 context, r2 device type, r3 access, r4 major, r5 minor.
struct bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  struct bpf_insn insn = {};
  insn.code = code;
  insn.dst_reg = dst & 0xf;
  insn.src_reg = src & 0xf;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

struct bpf_insn LoadWord(uint8_t dst, int16_t off) {
  return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, 1, off, 0);
}
struct bpf_insn MoveImm(uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
struct bpf_insn MoveReg(uint8_t dst, uint8_t src) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
struct bpf_insn AndImm(uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm);
}
struct bpf_insn ShiftRight(uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm);
}
// 32-bit compares: the context's fields are u32.
struct bpf_insn JumpIfNot(uint8_t reg, int32_t imm, int16_t skip) {
  return Insn(BPF_JMP32 | BPF_JNE | BPF_K, reg, 0, skip, imm);
}
struct bpf_insn JumpIf(uint8_t reg, int32_t imm, int16_t skip) {
  return Insn(BPF_JMP32 | BPF_JEQ | BPF_K, reg, 0, skip, imm);
}
struct bpf_insn Exit() {
  return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

int32_t AccessBits(const std::string& access) {
  int32_t bits = 0;
  for (char c : access) {
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
  }
  return bits;
}

// One rule: checks that jump past the block when the request does not
// match, then "return allow".
std::vector<struct bpf_insn> RuleBlock(const DeviceRule& rule) {
  std::vector<struct bpf_insn> checks;
  if (rule.type != 'a') {
    checks.push_back(JumpIfNot(2, rule.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0));
  }
  int32_t access = AccessBits(rule.access);
  bool all_access = access == (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE);
  if (!all_access) {
    checks.push_back(MoveReg(1, 3));
    if (rule.allow) {
      checks.push_back(AndImm(1, ~access));  // asks for more than allowed
      checks.push_back(JumpIfNot(1, 0, 0));
    } else {
      checks.push_back(AndImm(1, access));  // asks for nothing denied
      checks.push_back(JumpIf(1, 0, 0));
    }
  }
  if (rule.type != 'a' && rule.major >= 0)
    checks.push_back(JumpIfNot(4, static_cast<int32_t>(rule.major), 0));
  if (rule.type != 'a' && rule.minor >= 0)
    checks.push_back(JumpIfNot(5, static_cast<int32_t>(rule.minor), 0));
  // Every jump skips to just past the block's two final instructions.
  int total = static_cast<int>(checks.size()) + 2;
  for (int i = 0; i < static_cast<int>(checks.size()); ++i) {
    uint8_t cls = checks[i].code & 0x07;
    if (cls == BPF_JMP32) checks[i].off = static_cast<int16_t>(total - i - 1);
  }
  checks.push_back(MoveImm(0, rule.allow ? 1 : 0));
  checks.push_back(Exit());
  return checks;
}

long Bpf(int cmd, union bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof *attr); }

}  // namespace

std::vector<struct bpf_insn> DeviceFilterProgram(const std::vector<DeviceRule>& rules) {
  std::vector<struct bpf_insn> prog = {
      LoadWord(2, offsetof(struct bpf_cgroup_dev_ctx, access_type)),
      MoveReg(3, 2),
      AndImm(2, 0xffff),
      ShiftRight(3, 16),
      LoadWord(4, offsetof(struct bpf_cgroup_dev_ctx, major)),
      LoadWord(5, offsetof(struct bpf_cgroup_dev_ctx, minor)),
  };
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    auto block = RuleBlock(*it);
    prog.insert(prog.end(), block.begin(), block.end());
    // A rule that matches everything ("a *:* rwm") decides every request:
    // what would follow is unreachable, which the verifier refuses.
    if (block.size() == 2) return prog;
  }
  prog.push_back(MoveImm(0, 1));  // no rule matched: allowed
  prog.push_back(Exit());
  return prog;
}

Status AttachDeviceFilter(const std::string& cgroup_dir, const std::vector<DeviceRule>& rules) {
  std::vector<struct bpf_insn> prog = DeviceFilterProgram(rules);
  static const char kLicense[] = "Apache-2.0";
  // Loaded without the verifier's log first (a log that does not fit fails
  // the load with ENOSPC); only a refused program is loaded again for it.
  std::vector<char> log;
  long prog_fd = -1;
  for (int attempt = 0; attempt < 2 && prog_fd < 0; ++attempt) {
    union bpf_attr load;
    std::memset(&load, 0, sizeof load);
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = reinterpret_cast<uint64_t>(prog.data());
    load.insn_cnt = static_cast<uint32_t>(prog.size());
    load.license = reinterpret_cast<uint64_t>(kLicense);
    if (attempt == 1) {
      log.assign(1 << 20, '\0');
      load.log_buf = reinterpret_cast<uint64_t>(log.data());
      load.log_size = static_cast<uint32_t>(log.size());
      load.log_level = 1;
    }
    prog_fd = Bpf(BPF_PROG_LOAD, &load);
  }
  if (prog_fd < 0) {
    std::string why = std::strerror(errno);
    std::string text = log.empty() ? "" : std::string(log.data());
    while (!text.empty() && text.back() == '\n') text.pop_back();
    size_t last = text.rfind('\n');
    if (last != std::string::npos) text = text.substr(last + 1);
    return Error(errno, "load the device filter: " + why + (text.empty() ? "" : " (" + text + ")"));
  }
  UniqueFd program(static_cast<int>(prog_fd));
  ASSIGN_OR_RETURN(UniqueFd dir, OpenFile(cgroup_dir, O_RDONLY | O_DIRECTORY));
  union bpf_attr attach;
  std::memset(&attach, 0, sizeof attach);
  attach.target_fd = static_cast<uint32_t>(dir.get());
  attach.attach_bpf_fd = static_cast<uint32_t>(program.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, &attach) != 0) {
    return Error::FromErrno("attach the device filter to " + cgroup_dir);
  }
  return Ok();
}

}  // namespace strata::runtime::oci
