// The sync socket: how a forked child (stage 1, the container's init, an
// exec'd process) reports to the runtime that forked it. One datagram per
// message over a SOCK_SEQPACKET socketpair; both ends are close-on-exec, so a
// successful execve() closes the child's end and the parent reads EOF.
//
// Messages, child to parent:
//   kPid    stage 1 forked the process: value = its pid (as the runtime sees it)
//   kReady  the init finished setting up and waits for `start`
//   kError  setup failed: value = errno, text = what failed and why
// A child that fails calls ReportAndExit(), which sends kError and _exit(1)s;
// the parent turns the message back into an Error, so the user sees the
// child's reason on one line ("create c1: container init: mount proc on
// /proc: Operation not permitted").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::runtime::oci {

enum class SyncKind : uint32_t { kPid = 1, kReady = 2, kError = 3 };

struct SyncMessage {
  SyncKind kind = SyncKind::kError;
  int32_t value = 0;
  std::string text;
};

class SyncSocket {
 public:
  SyncSocket() = default;
  explicit SyncSocket(UniqueFd fd) : fd_(std::move(fd)) {}

  // A connected pair: {parent's end, child's end}.
  static Result<std::pair<SyncSocket, SyncSocket>> Pair();

  int fd() const { return fd_.get(); }
  void Close() { fd_.reset(); }

  Status Send(const SyncMessage& message) const;
  // The next message, or nullopt when the other end is closed.
  Result<std::optional<SyncMessage>> Receive() const;

  // For children: sends err as kError and _exit(1)s. Never returns.
  [[noreturn]] void ReportAndExit(const Error& err) const;

 private:
  UniqueFd fd_;
};

// The Error a kError message stands for.
Error ErrorFromMessage(const SyncMessage& message);

}  // namespace strata::runtime::oci
