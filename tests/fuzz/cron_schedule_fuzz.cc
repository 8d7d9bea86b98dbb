// Fuzzes cron expressions and time zones (runtime/cron_schedule.h), which
// `strata cron add --schedule EXPR [--tz ZONE]` and container labels hand to
// stratad. The first byte picks the zone: a few fixed ones (with odd
// offsets and daylight saving), or the input's first line as a zone name.
// A schedule Parse accepts must always have a next run, strictly later,
// and the runs must move forward.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/cron_schedule.h"

using strata::runtime::CronSchedule;

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  static constexpr std::string_view kZones[] = {
      "", "UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
  };
  std::string_view zone, expression = input;
  size_t pick = data[0] % 8;
  if (pick < std::size(kZones)) {
    zone = kZones[pick];
  } else {
    size_t nl = input.find('\n');
    zone = input.substr(0, nl);
    expression = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  }

  auto schedule = CronSchedule::Parse(expression, zone);
  if (!schedule.ok()) {
    Require(schedule.error().code() == EINVAL);
    return 0;
  }
  (void)strata::runtime::ParseCronDuration(expression);

  using std::chrono::seconds;
  // 2026-03-29 00:30 UTC (a spring-forward night in Europe), 1970, 2099.
  for (int64_t start : {int64_t{1774744200}, int64_t{0}, int64_t{4070908800}}) {
    CronSchedule::TimePoint t{seconds(start)};
    for (int i = 0; i < 4; ++i) {
      auto next = schedule->Next(t);
      Require(next.has_value() && *next > t);
      t = *next;
    }
  }
  return 0;
}
