// Fuzzes the times `strata logs --since` takes (runtime/log_time.h): a
// duration back, unix seconds or an RFC 3339 time, 1970 to 2262. An
// accepted text must give a time in the stored form (RFC 3339 UTC with
// nanoseconds, which the log's string comparison depends on), and that form
// must parse to itself.
// A refusal is always EINVAL.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/log_time.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

// YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ
bool IsStoredForm(const std::string& t) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddddddddZ";
  if (t.size() != kShape.size()) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (kShape[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != kShape[i]) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // A fixed "now" (2026-11-28T12:00:00Z), so a finding replays.
  const std::chrono::system_clock::time_point now{std::chrono::seconds(1795867200)};
  auto since = strata::runtime::ParseLogTime(text, now);
  if (!since.ok()) {
    Require(since.error().code() == EINVAL);
    return 0;
  }
  Require(IsStoredForm(*since));
  auto again = strata::runtime::ParseLogTime(*since, now);
  Require(again.ok() && *again == *since);
  return 0;
}
