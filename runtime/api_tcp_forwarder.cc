#include "runtime/api_tcp_forwarder.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/fs.h"
#include "common/log.h"

namespace strata::runtime {

namespace {

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  bool loopback = false;
};

Result<Address> ParseAddress(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return Error::Invalid("--api-addr \"" + text + "\": " + why);
  };
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return bad("expected HOST:PORT");
  std::string host = text.substr(0, colon), port_text = text.substr(colon + 1);
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) return bad("bad port");
  Address a;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &in6->sin6_addr) != 1) {
      return bad("not an IPv6 address");
    }
    a.length = sizeof *in6;
    a.loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    return a;
  }
  auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &in->sin_addr) != 1) {
    return bad("not an IPv4 address (or [IPv6])");
  }
  a.length = sizeof *in;
  a.loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  return a;
}

// Copies what is readable on from to to; false at end of file or an error.
bool Pump(int from, int to) {
  char buf[65536];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
  return WriteAll(to, std::string_view(buf, static_cast<size_t>(n))).ok();
}

}  // namespace

namespace {

Result<Address> CheckedAddress(const ApiTcpOptions& options) {
  ASSIGN_OR_RETURN(Address address, ParseAddress(options.address));
  if (!address.loopback && !options.allow_remote) {
    return Error::Invalid("--api-addr " + options.address +
                          " is not a loopback address: anyone who reaches it gets root on this "
                          "host (add --api-addr-allow-remote to mean it)");
  }
  return address;
}

}  // namespace

Status ApiTcpForwarder::Check(const ApiTcpOptions& options) {
  RETURN_IF_ERROR(CheckedAddress(options));
  return {};
}

Result<std::unique_ptr<ApiTcpForwarder>> ApiTcpForwarder::Start(const ApiTcpOptions& options) {
  ASSIGN_OR_RETURN(Address address, CheckedAddress(options));
  std::unique_ptr<ApiTcpForwarder> f(new ApiTcpForwarder());
  f->socket_path_ = options.socket_path;
  f->listener_.reset(
      ::socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!f->listener_) return Error::FromErrno("api tcp socket");
  int one = 1;
  ::setsockopt(f->listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(f->listener_.get(), reinterpret_cast<sockaddr*>(&address.storage), address.length) !=
          0 ||
      ::listen(f->listener_.get(), 64) != 0) {
    return Error::FromErrno("api: listen on " + options.address);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(f->listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  f->port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
  f->wake_read_.reset(wake[0]);
  f->wake_write_.reset(wake[1]);
  f->accept_thread_ = std::thread([p = f.get()] { p->Accept(); });
  return f;
}

ApiTcpForwarder::~ApiTcpForwarder() {
  wake_write_.reset();  // every poll below sees the hangup
  if (accept_thread_.joinable()) accept_thread_.join();
  std::unique_lock lock(mu_);
  relays_done_.wait(lock, [&] { return relays_ == 0; });
}

void ApiTcpForwarder::Accept() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    {
      std::lock_guard lock(mu_);
      ++relays_;
    }
    std::thread([this, c = std::move(client)]() mutable {
      Relay(std::move(c));
      std::lock_guard lock(mu_);
      if (--relays_ == 0) relays_done_.notify_all();
    }).detach();
  }
}

void ApiTcpForwarder::Relay(UniqueFd client) {
  UniqueFd api(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof addr.sun_path - 1);
  if (!api || ::connect(api.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    LogWarning(std::string("api tcp: cannot reach ") + socket_path_ + ": " + std::strerror(errno));
    return;
  }
  for (;;) {
    pollfd fds[3] = {
        {client.get(), POLLIN, 0}, {api.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0 && errno != EINTR) return;
    if (fds[2].revents != 0) return;
    if (fds[0].revents != 0 && !Pump(client.get(), api.get())) {
      ::shutdown(api.get(), SHUT_WR);  // the request is complete; wait for the answer
      if (!Pump(api.get(), client.get())) return;
      // Drain the rest of the answer.
      while (Pump(api.get(), client.get())) {
      }
      return;
    }
    if (fds[1].revents != 0 && !Pump(api.get(), client.get())) return;
  }
}

}  // namespace strata::runtime
