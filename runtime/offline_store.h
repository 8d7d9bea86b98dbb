// gc and fsck on a store opened directly, with stratad stopped: what the
// strata-store helper runs for `strata gc --root` and `strata fsck --root`
// (and fsck --repair). Each returns the same JSON report stratad's
// /system/gc and /system/fsck send, so the CLI prints both alike.
//
// A store that stratad holds (EBUSY) is refused in one line that says so.
#pragma once

#include <string>

#include <boost/json.hpp>

#include "common/result.h"

namespace strata::runtime {

Result<boost::json::object> OfflineGc(const std::string& root, bool dry_run);
Result<boost::json::object> OfflineFsck(const std::string& root, bool repair, unsigned threads);

}  // namespace strata::runtime
