// The network of a container with a network namespace of its own (created,
// not joined): only the loopback interface, brought up. Anything beyond
// that (veth pairs, bridges) is the caller's business, as with runc.
#pragma once

#include "common/result.h"

namespace strata::runtime::oci {

// Sets IFF_UP on "lo" in the caller's network namespace (SIOCSIFFLAGS; no
// netlink needed).
Status BringUpLoopback();

}  // namespace strata::runtime::oci
