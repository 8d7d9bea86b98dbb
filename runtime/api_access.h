// Who may use stratad's API. The socket file is root's and the API group's
// (default `strata`), mode 0660, so the kernel lets only those connect;
// each connection is checked again by the peer's credentials at connect
// time (SO_PEERCRED, SO_PEERGROUPS), so a socket made wider by mistake (a
// chmod, a bind mount into a container) still answers nobody else: uid 0,
// the uid stratad runs as and members of the group are served, others get
// 403 and stratad logs them.
//
// Thread safety: ApiAccess is immutable after construction; Check may be
// called from any thread.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"

namespace strata::runtime {

// The group's id; when the group does not exist, it is made with
// `groupadd --system NAME` (as tools/setup does).
Result<gid_t> EnsureApiGroup(const std::string& name);

class ApiAccess {
 public:
  // group: members may use the API besides root; (gid_t)-1: root only.
  explicit ApiAccess(gid_t group = static_cast<gid_t>(-1)) : group_(group) {}

  // Ok for an allowed peer of the connected Unix socket fd; EACCES with
  // who it was ("uid 1000 (pid 42) is not root and not in group 998")
  // otherwise.
  Status Check(int fd) const;

 private:
  gid_t group_;
};

}  // namespace strata::runtime
