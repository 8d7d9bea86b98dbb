#include "runtime/console_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "common/fs.h"

namespace strata::runtime {

namespace {
constexpr const char* kDir = "/run/strata-console";
}

Result<std::unique_ptr<ConsoleSocket>> ConsoleSocket::Create(const std::string& name) {
  if (::mkdir(kDir, 0700) != 0 && errno != EEXIST)
    return Error::FromErrno(std::string("mkdir ") + kDir);
  struct stat st;
  if (::lstat(kDir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 077) != 0) {
    return Error(EPERM, std::string(kDir) + " must be a directory of mode 0700 owned by stratad");
  }
  std::unique_ptr<ConsoleSocket> s(new ConsoleSocket());
  s->path_ = std::string(kDir) + "/" + name + ".sock";
  (void)::unlink(s->path_.c_str());
  s->listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s->listen_) return Error::FromErrno("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (s->path_.size() >= sizeof addr.sun_path)
    return Error::Invalid("console socket path too long");
  s->path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
  if (::bind(s->listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(s->listen_.get(), 1) != 0) {
    return Error::FromErrno("console socket " + s->path_);
  }
  return s;
}

ConsoleSocket::~ConsoleSocket() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

Result<UniqueFd> ConsoleSocket::Receive(std::chrono::milliseconds timeout,
                                        const std::function<bool()>& abandon) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pollfd p{listen_.get(), POLLIN, 0};
    int n = ::poll(&p, 1, 50);
    if (n < 0 && errno != EINTR) return Error::FromErrno("poll console socket");
    if (n > 0) break;
    if (abandon && abandon()) return Error(ECANCELED, "the runtime sent no terminal");
    if (std::chrono::steady_clock::now() > deadline) {
      return Error(ETIMEDOUT, "the runtime sent no terminal in time");
    }
  }
  UniqueFd conn(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return Error::FromErrno("accept on the console socket");
  char data[256];
  iovec iov{data, sizeof data};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t got;
  do {
    got = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return Error::FromErrno("receive the terminal");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      return UniqueFd(fd);
    }
  }
  return Error(EPROTO, "the runtime connected to the console socket but sent no descriptor");
}

Status SetWindowSize(int master, unsigned rows, unsigned cols) {
  struct winsize ws {};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  if (::ioctl(master, TIOCSWINSZ, &ws) != 0) return Error::FromErrno("resize the terminal");
  return Ok();
}

}  // namespace strata::runtime
