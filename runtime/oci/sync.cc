#include "runtime/oci/sync.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace strata::runtime::oci {
namespace {

struct Header {
  uint32_t kind;
  int32_t value;
};

constexpr size_t kMaxMessage = 4096;

}  // namespace

Result<std::pair<SyncSocket, SyncSocket>> SyncSocket::Pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    return Error::FromErrno("socketpair");
  }
  return std::make_pair(SyncSocket(UniqueFd(fds[0])), SyncSocket(UniqueFd(fds[1])));
}

Status SyncSocket::Send(const SyncMessage& message) const {
  char buf[kMaxMessage];
  Header header{static_cast<uint32_t>(message.kind), message.value};
  std::memcpy(buf, &header, sizeof header);
  size_t text = std::min(message.text.size(), kMaxMessage - sizeof header);
  std::memcpy(buf + sizeof header, message.text.data(), text);
  for (;;) {
    ssize_t n = ::send(fd_.get(), buf, sizeof header + text, MSG_NOSIGNAL);
    if (n >= 0) return Ok();
    if (errno != EINTR) return Error::FromErrno("send to the runtime");
  }
}

Result<std::optional<SyncMessage>> SyncSocket::Receive() const {
  char buf[kMaxMessage];
  ssize_t n;
  do {
    n = ::recv(fd_.get(), buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Error::FromErrno("read from the container process");
  if (n == 0) return std::optional<SyncMessage>();
  if (static_cast<size_t>(n) < sizeof(Header)) return Error::Corrupt("short sync message");
  Header header;
  std::memcpy(&header, buf, sizeof header);
  SyncMessage message;
  message.kind = static_cast<SyncKind>(header.kind);
  message.value = header.value;
  message.text.assign(buf + sizeof header, static_cast<size_t>(n) - sizeof header);
  return std::optional<SyncMessage>(std::move(message));
}

void SyncSocket::ReportAndExit(const Error& err) const {
  (void)Send({SyncKind::kError, err.code(), err.message()});
  ::_exit(1);
}

Error ErrorFromMessage(const SyncMessage& message) {
  return Error(message.value, message.text.empty() ? "unknown error" : message.text);
}

}  // namespace strata::runtime::oci
