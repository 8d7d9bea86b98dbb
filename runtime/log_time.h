// Times of log entries: RFC 3339 in UTC with nanoseconds
// ("2024-05-01T12:00:00.123456789Z"), the form entries are stored in, so
// that comparing two of them as strings compares the times.
//
// ParseLogTime reads what `strata logs --since` takes, as Docker does: a
// duration back from now ("90s", "10m", "1h30m"), unix seconds
// ("1700000000", "1700000000.5"), or an RFC 3339 time ("2024-05-01T12:00:00Z",
// with a fraction and/or an offset such as "+02:00").
//
// Thread safety: plain functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace strata::runtime {

std::string FormatLogTime(std::chrono::system_clock::time_point t);

// EINVAL names the text and the forms understood.
Result<std::string> ParseLogTime(std::string_view text, std::chrono::system_clock::time_point now);

}  // namespace strata::runtime
