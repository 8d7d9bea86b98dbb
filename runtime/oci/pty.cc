#include "runtime/oci/pty.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

namespace strata::runtime::oci {

Result<Pty> OpenPty() {
  int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return Error::FromErrno("open /dev/ptmx");
  Pty pty;
  pty.master.reset(master);
  if (::unlockpt(master) != 0) return Error::FromErrno("unlockpt");
  char name[128];
  if (::ptsname_r(master, name, sizeof name) != 0) return Error::FromErrno("ptsname");
  pty.slave_path = name;
  // TIOCGPTPEER opens the slave through the master, so it cannot be swapped
  // for another file by path.
  int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return Error::FromErrno("open " + pty.slave_path);
  pty.slave.reset(slave);
  return pty;
}

Status MakeControllingTerminal(int slave) {
  if (::ioctl(slave, TIOCSCTTY, 0) != 0) return Error::FromErrno("make the terminal controlling");
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(slave, fd) < 0) return Error::FromErrno("dup2 the terminal");
  }
  return Ok();
}

Status SetWindowSize(int fd, unsigned short rows, unsigned short cols) {
  if (rows == 0 || cols == 0) return Ok();
  struct winsize ws = {};
  ws.ws_row = rows;
  ws.ws_col = cols;
  if (::ioctl(fd, TIOCSWINSZ, &ws) != 0) return Error::FromErrno("set the terminal size");
  return Ok();
}

Result<UniqueFd> ConnectUnixSocket(const std::string& path) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return Error::Invalid("console socket path " + path + " is too long");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error::FromErrno("socket");
  UniqueFd sock(fd);
  if (::connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    return Error::FromErrno("connect to console socket " + path);
  }
  return sock;
}

Status SendFd(int socket, int fd, std::string_view name) {
  char control[CMSG_SPACE(sizeof(int))] = {};
  std::string payload(name.empty() ? std::string_view("pty") : name);
  struct iovec iov = {payload.data(), payload.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  while (::sendmsg(socket, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return Error::FromErrno("send the terminal");
  }
  return Ok();
}

Result<UniqueFd> ReceiveFd(int socket) {
  char control[CMSG_SPACE(sizeof(int))] = {};
  char data[512];
  struct iovec iov = {data, sizeof data};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Error::FromErrno("receive the terminal");
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (n == 0 || cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS) {
    return Error(EPROTO, "the container process sent no terminal");
  }
  int fd;
  std::memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
  return UniqueFd(fd);
}

}  // namespace strata::runtime::oci
