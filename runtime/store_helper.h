// The CLI's way to the offline store commands: `strata gc --root` and
// `strata fsck --root` / `--repair` run the strata-store helper (next to the
// strata binary) instead of opening the store themselves, so that `strata`
// links neither the store nor its libraries and loads in a few
// milliseconds for every other command.
//
// The helper prints one JSON object on stdout: the report, or
// {"error": ...} (api_protocol's ErrorToJson) with exit status 1; its
// stderr (the store's log lines) is the CLI's.
#pragma once

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "common/result.h"

namespace strata::runtime {

// Runs `strata-store ARGS...` and returns its report, or its error.
Result<boost::json::object> RunStoreHelper(const std::vector<std::string>& args);

}  // namespace strata::runtime
