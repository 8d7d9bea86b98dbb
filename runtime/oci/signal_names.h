// Signal names as `kill` takes them: "KILL", "SIGKILL", "kill", "9".
#pragma once

#include <string_view>

#include "common/result.h"

namespace strata::runtime::oci {

Result<int> ParseSignal(std::string_view text);

}  // namespace strata::runtime::oci
