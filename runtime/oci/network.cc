#include "runtime/oci/network.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "common/unique_fd.h"

namespace strata::runtime::oci {

Status BringUpLoopback() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error::FromErrno("socket for the loopback interface");
  UniqueFd sock(fd);
  struct ifreq ifr = {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) return Error::FromErrno("read the flags of lo");
  if (ifr.ifr_flags & IFF_UP) return Ok();
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) return Error::FromErrno("bring lo up");
  return Ok();
}

}  // namespace strata::runtime::oci
