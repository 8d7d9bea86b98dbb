#include "runtime/api_access.h"

#include <grp.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "common/log.h"

extern char** environ;

namespace strata::runtime {
namespace {

Result<std::optional<gid_t>> LookUpGroup(const std::string& name) {
  struct group gr;
  struct group* found = nullptr;
  std::vector<char> buf(16384);
  int rc = ::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found);
  if (rc != 0) return Error::FromErrno("look up group " + name, rc);
  if (found == nullptr) return std::optional<gid_t>();
  return std::optional<gid_t>(gr.gr_gid);
}

// The peer's supplementary groups as they were when it connected.
std::vector<gid_t> PeerGroups(int fd) {
  std::vector<gid_t> groups(64);
  for (;;) {
    socklen_t len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
      groups.resize(len / sizeof(gid_t));
      return groups;
    }
    if (errno != ERANGE || len <= groups.size() * sizeof(gid_t)) return {};
    groups.resize(len / sizeof(gid_t));
  }
}

}  // namespace

Result<gid_t> EnsureApiGroup(const std::string& name) {
  ASSIGN_OR_RETURN(std::optional<gid_t> gid, LookUpGroup(name));
  if (gid) return *gid;
  std::vector<std::string> args = {"groupadd", "--system", name};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, "groupadd", nullptr, nullptr, argv.data(), environ);
  if (rc != 0) return Error::FromErrno("create group " + name + ": groupadd", rc);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error::FromErrno("create group " + name + ": wait");
  }
  ASSIGN_OR_RETURN(gid, LookUpGroup(name));
  if (!gid) return Error(ENOENT, "create group " + name + ": groupadd failed");
  LogInfo("created group " + name + " (gid " + std::to_string(*gid) + ") for the API socket");
  return *gid;
}

Status ApiAccess::Check(int fd) const {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Error::FromErrno("peer credentials");
  }
  // Root, and the user stratad runs as (a test's, or an unprivileged one's).
  if (cred.uid == 0 || cred.uid == ::geteuid()) return Ok();
  if (group_ != static_cast<gid_t>(-1)) {
    std::vector<gid_t> groups = PeerGroups(fd);
    if (cred.gid == group_ || std::find(groups.begin(), groups.end(), group_) != groups.end()) {
      return Ok();
    }
  }
  std::string who = "uid " + std::to_string(cred.uid) + " (pid " + std::to_string(cred.pid) + ")";
  std::string group =
      group_ == static_cast<gid_t>(-1) ? "" : " and not in group " + std::to_string(group_);
  return Error(EACCES, who + " is not root" + group);
}

}  // namespace strata::runtime
