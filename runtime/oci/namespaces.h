// Linux namespaces of a container: the kinds strata-runtime knows, their
// OCI names, and the two ways a process gets into one (create a new one with
// unshare, or join an existing one by path with setns).
//
// All functions act on the calling process and are meant for the forked
// children of process.h; none is thread-safe with respect to other threads
// of the caller (setns of a mount namespace requires a single-threaded
// process anyway).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::runtime::oci {

// User and time namespaces are not supported: a config that asks for them is
// refused at parse time.
enum class NamespaceKind { kMount, kPid, kUts, kIpc, kNetwork, kCgroup };

struct Namespace {
  NamespaceKind kind;
  std::string path;  // empty: create a new one; else join the one at path
};

// "mount" <-> kMount, "network" <-> kNetwork, ...
std::optional<NamespaceKind> NamespaceKindFromName(std::string_view name);
std::string_view NamespaceName(NamespaceKind kind);
// The name under /proc/PID/ns/ ("mnt", "net", ...).
std::string_view NamespaceProcName(NamespaceKind kind);
// CLONE_NEWNS, CLONE_NEWPID, ...
int NamespaceCloneFlag(NamespaceKind kind);

// The order in which namespaces are joined: the mount namespace last, so
// that nothing opened by path before it is resolved in the wrong root.
const std::vector<NamespaceKind>& NamespaceJoinOrder();

// A namespace opened for joining.
struct OpenNamespace {
  NamespaceKind kind;
  UniqueFd fd;
};

// Opens every namespace of `namespaces` that has a path.
Result<std::vector<OpenNamespace>> OpenNamespacePaths(const std::vector<Namespace>& namespaces);
// Opens /proc/PID/ns/<kind> for each kind (those of a running container that
// differ from the caller's; joining one's own namespace is harmless but
// setns of the caller's own mount namespace would reset its root).
Result<std::vector<OpenNamespace>> OpenProcessNamespaces(pid_t pid,
                                                         const std::vector<NamespaceKind>& kinds);
// setns() into each, in NamespaceJoinOrder(). A joined pid namespace takes
// effect for the caller's children only.
Status JoinNamespaces(std::vector<OpenNamespace>& namespaces);
// unshare() the namespaces of `namespaces` that have no path, except those
// in `skip`. As with setns, a new pid namespace is for children only.
Status UnshareNamespaces(const std::vector<Namespace>& namespaces,
                         const std::vector<NamespaceKind>& skip = {});

bool HasNamespace(const std::vector<Namespace>& namespaces, NamespaceKind kind);
// True when the container gets a namespace of its own (listed without path).
bool CreatesNamespace(const std::vector<Namespace>& namespaces, NamespaceKind kind);

}  // namespace strata::runtime::oci
