// Image tags: the names users give images ("busybox", "registry:5000/a/b:v1"),
// normalized to the REPOSITORY:TAG form the index keys tags by. The rules
// are the distribution reference grammar's, as Docker applies them:
//
//   [HOST[:PORT]/]COMPONENT(/COMPONENT)*[:TAG]
//   HOST       the first component when it has a '.' or ':' or is
//              "localhost": letters, digits, '.', '-', ':'
//   COMPONENT  lower-case letters, digits, '.', '_', '-'; starts and ends
//              with a letter or digit
//   TAG        1 to 128 of letters, digits, '_', '.', '-'; not starting
//              with '.' or '-' (default "latest")
//
// The repository (everything before ":TAG") is at most 255 characters.
// Digests ("@sha256:...") are not tags. NormalizeImageTag of its own
// output gives the same output.
//
// Thread safety: a plain function.
#pragma once

#include <string>

#include "common/result.h"

namespace strata::storage {

// "busybox" -> "busybox:latest"; EINVAL names the text and the rule broken.
Result<std::string> NormalizeImageTag(const std::string& name);

}  // namespace strata::storage
