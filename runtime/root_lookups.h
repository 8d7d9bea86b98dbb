// What stratad looks up inside a container's root before it starts a
// process there: the user (from the root's /etc/passwd and /etc/group) and
// the volumes' destinations (symlinks resolved inside the root).
//
// The root is stratad's own FUSE mount, so the lookups run in a child
// process (ChildReaper::Call; Fork says why). A child that has not answered
// within kRootLookupTimeout (a FUSE request that never ends) is killed and
// the lookup fails.
//
// Thread safety: a plain function; the reaper must outlive the call.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/bundle.h"
#include "runtime/child_reaper.h"

namespace strata::runtime {

constexpr std::chrono::seconds kRootLookupTimeout{30};

struct RootLookups {
  ProcessUser user;
  std::vector<std::string> destinations;  // in the order asked, each inside the root
};

// ResolveUser(root, user) and ResolveInContainer(root, d) for each of
// destinations, in a child. The first failure is returned as the child
// found it (a destination's with "volume D" as context).
Result<RootLookups> LookUpInRoot(ChildReaper& reaper, const std::string& root,
                                 const std::string& user,
                                 const std::vector<std::string>& destinations);

}  // namespace strata::runtime
