// Compiled seccomp programs (seccomp.h) kept in the runtime's state root,
// <root>/@seccomp/<hash>, by profile: a host's containers mostly share one
// profile (Docker's default, the one stratad writes), so every create after
// the first reads a few kilobytes instead of compiling, which is most of a
// container start's CPU on a busy machine.
//
// The key is the whole profile plus libseccomp's version and the kernel API
// level it detected (both shape the program); the file holds the key and a
// hash collision or a torn file only means compiling again. Files are
// written atomically and synced, so no crash leaves a half program that
// parses. Nothing removes them: there is one per distinct profile.
#pragma once

#include <string>

#include "common/result.h"
#include "runtime/oci/seccomp.h"

namespace strata::runtime::oci {

// The program of seccomp: from the cache under root, else compiled and
// stored there (a cache that cannot be written is not an error).
Result<SeccompProgram> CachedSeccompProgram(const Seccomp& seccomp, const std::string& root);

// The cache key of a profile (pure; exposed for tests).
std::string SeccompCacheKey(const Seccomp& seccomp);

}  // namespace strata::runtime::oci
