#include "runtime/oci/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <array>

#include "common/fs.h"

namespace strata::runtime::oci {
namespace {

struct KindInfo {
  NamespaceKind kind;
  std::string_view oci_name;
  std::string_view proc_name;
  int clone_flag;
};

constexpr std::array<KindInfo, 6> kKinds = {{
    {NamespaceKind::kMount, "mount", "mnt", CLONE_NEWNS},
    {NamespaceKind::kPid, "pid", "pid", CLONE_NEWPID},
    {NamespaceKind::kUts, "uts", "uts", CLONE_NEWUTS},
    {NamespaceKind::kIpc, "ipc", "ipc", CLONE_NEWIPC},
    {NamespaceKind::kNetwork, "network", "net", CLONE_NEWNET},
    {NamespaceKind::kCgroup, "cgroup", "cgroup", CLONE_NEWCGROUP},
}};

const KindInfo& Info(NamespaceKind kind) {
  for (const auto& info : kKinds) {
    if (info.kind == kind) return info;
  }
  return kKinds[0];  // unreachable: every enumerator is in the table
}

}  // namespace

std::optional<NamespaceKind> NamespaceKindFromName(std::string_view name) {
  for (const auto& info : kKinds) {
    if (info.oci_name == name) return info.kind;
  }
  return std::nullopt;
}

std::string_view NamespaceName(NamespaceKind kind) { return Info(kind).oci_name; }
std::string_view NamespaceProcName(NamespaceKind kind) { return Info(kind).proc_name; }
int NamespaceCloneFlag(NamespaceKind kind) { return Info(kind).clone_flag; }

const std::vector<NamespaceKind>& NamespaceJoinOrder() {
  static const std::vector<NamespaceKind> kOrder = {
      NamespaceKind::kIpc, NamespaceKind::kUts,    NamespaceKind::kNetwork,
      NamespaceKind::kPid, NamespaceKind::kCgroup, NamespaceKind::kMount,
  };
  return kOrder;
}

Result<std::vector<OpenNamespace>> OpenNamespacePaths(const std::vector<Namespace>& namespaces) {
  std::vector<OpenNamespace> out;
  for (const auto& ns : namespaces) {
    if (ns.path.empty()) continue;
    auto fd = OpenFile(ns.path, O_RDONLY);
    if (!fd.ok()) {
      return std::move(fd).error().Context(std::string(NamespaceName(ns.kind)) + " namespace");
    }
    out.push_back({ns.kind, std::move(*fd)});
  }
  return out;
}

Result<std::vector<OpenNamespace>> OpenProcessNamespaces(pid_t pid,
                                                         const std::vector<NamespaceKind>& kinds) {
  std::vector<OpenNamespace> out;
  for (NamespaceKind kind : kinds) {
    std::string mine = "/proc/self/ns/" + std::string(NamespaceProcName(kind));
    std::string theirs =
        "/proc/" + std::to_string(pid) + "/ns/" + std::string(NamespaceProcName(kind));
    struct stat a, b;
    if (::stat(theirs.c_str(), &b) != 0) return Error::FromErrno("stat " + theirs);
    if (::stat(mine.c_str(), &a) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) continue;
    ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(theirs, O_RDONLY));
    out.push_back({kind, std::move(fd)});
  }
  return out;
}

Status JoinNamespaces(std::vector<OpenNamespace>& namespaces) {
  for (NamespaceKind kind : NamespaceJoinOrder()) {
    for (auto& ns : namespaces) {
      if (ns.kind != kind) continue;
      if (::setns(ns.fd.get(), NamespaceCloneFlag(kind)) != 0) {
        return Error::FromErrno("join " + std::string(NamespaceName(kind)) + " namespace");
      }
      ns.fd.reset();
    }
  }
  return Ok();
}

Status UnshareNamespaces(const std::vector<Namespace>& namespaces,
                         const std::vector<NamespaceKind>& skip) {
  int flags = 0;
  for (const auto& ns : namespaces) {
    if (!ns.path.empty()) continue;
    bool skipped = false;
    for (NamespaceKind s : skip) skipped |= s == ns.kind;
    if (!skipped) flags |= NamespaceCloneFlag(ns.kind);
  }
  if (flags != 0 && ::unshare(flags) != 0) return Error::FromErrno("unshare namespaces");
  return Ok();
}

bool HasNamespace(const std::vector<Namespace>& namespaces, NamespaceKind kind) {
  for (const auto& ns : namespaces) {
    if (ns.kind == kind) return true;
  }
  return false;
}

bool CreatesNamespace(const std::vector<Namespace>& namespaces, NamespaceKind kind) {
  for (const auto& ns : namespaces) {
    if (ns.kind == kind && ns.path.empty()) return true;
  }
  return false;
}

}  // namespace strata::runtime::oci
