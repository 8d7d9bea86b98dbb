#include "monitor/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>

#include "common/fs.h"
#include "common/log.h"
#include "monitor/text_format.h"

namespace strata::monitor {

namespace {

constexpr size_t kMaxRequest = 16 * 1024;

void SetTimeouts(int fd) {
  struct timeval tv {
    10, 0
  };
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string Response(int code, const char* reason, const char* type, const std::string& body) {
  std::string head =
      "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + type +
      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  return head + body;
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return Error::Invalid("metrics address \"" + address + "\" is not HOST:PORT");
  }
  std::string host = address.substr(0, colon);
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(address.substr(colon + 1), &used);
    if (used != address.size() - colon - 1 || port < 0 || port > 65535) throw 0;
  } catch (...) {
    return Error::Invalid("metrics address \"" + address + "\": bad port");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  if (host.empty()) {
    v6->sin6_family = AF_INET6;  // every address, v4 ones mapped
    v6->sin6_addr = in6addr_any;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
  } else if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
  } else {
    return Error::Invalid("metrics address \"" + address + "\": HOST must be an IP address");
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::FromErrno("metrics socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return Error::FromErrno("serve metrics on " + address);
  }
  if (::listen(fd.get(), 16) != 0) return Error::FromErrno("listen on " + address);
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->port_ =
      ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  server->listen_fd_ = std::move(fd);
  MetricsServer* raw = server.get();
  server->thread_ = std::thread([raw] { raw->Serve(); });
  return server;
}

MetricsServer::~MetricsServer() {
  stop_ = true;
  // Wakes the accept: a listening socket shut down returns EINVAL.
  ::shutdown(listen_fd_.get(), SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  collectables_.clear();
}

void MetricsServer::Register(std::shared_ptr<prometheus::Collectable> collectable) {
  std::lock_guard lock(mu_);
  collectables_.push_back(std::move(collectable));
}

std::string MetricsServer::Scrape() {
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  {
    std::lock_guard lock(mu_);
    collectables = collectables_;
  }
  std::string body;
  body.reserve(1 << 16);
  for (const auto& c : collectables) AppendTextFormat(c->Collect(), body);
  return body;
}

void MetricsServer::Serve() {
  while (!stop_) {
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stop_) break;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        ::poll(nullptr, 0, 100);  // let descriptors free up
        continue;
      }
      LogError(std::string("metrics: accept: ") + std::strerror(errno));
      break;
    }
    UniqueFd conn(fd);
    SetTimeouts(fd);
    Answer(fd);
  }
}

void MetricsServer::Answer(int fd) {
  // The request line and headers; the body (there is none for GET) is not read.
  std::string req;
  char buf[4096];
  while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;  // closed, or timed out
    req.append(buf, static_cast<size_t>(n));
    if (req.size() > kMaxRequest) {
      (void)WriteAll(fd, Response(431, "Request Header Fields Too Large", "text/plain", ""));
      return;
    }
  }
  std::string line = req.substr(0, req.find_first_of("\r\n"));
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  std::string method = line.substr(0, sp1);
  std::string target = sp1 == std::string::npos
                           ? ""
                           : line.substr(sp1 + 1, sp2 == std::string::npos ? sp2 : sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  std::string response;
  if (method != "GET" && method != "HEAD") {
    response = Response(405, "Method Not Allowed", "text/plain", "only GET\n");
  } else if (target != "/metrics") {
    response = Response(404, "Not Found", "text/plain", "metrics are at /metrics\n");
  } else {
    std::string body = Scrape();
    response = Response(200, "OK", "text/plain; version=0.0.4; charset=utf-8",
                        method == "HEAD" ? "" : body);
    if (method == "HEAD") {
      // Content-Length of the body a GET would get.
      size_t at = response.find("Content-Length: 0");
      if (at != std::string::npos) response.replace(at + 16, 1, std::to_string(body.size()));
    }
  }
  (void)WriteAll(fd, response);
}

}  // namespace strata::monitor
