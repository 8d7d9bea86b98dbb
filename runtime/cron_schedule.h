// CronSchedule: when a cron job runs. A pure value: parsing and next-run
// computation, no clock and no I/O beyond the time zone database.
//
// Expressions:
//   "MIN HOUR DOM MON DOW"   the 5-field cron syntax (Vixie cron's):
//                            minute 0-59, hour 0-23, day of month 1-31,
//                            month 1-12 or jan-dec, day of week 0-7 or
//                            sun-sat (0 and 7 are Sunday); each field a
//                            comma-separated list of `*`, `N`, `N-M`, each
//                            optionally with `/STEP` (`N/STEP` is N to the
//                            field's end). Names are case-insensitive.
//   @yearly @annually @monthly @weekly @daily @midnight @hourly
//   "@every DURATION"        a fixed interval: "30s", "5m", "1h30m", "2d"
//                            (units s, m, h, d; at least one second)
//
// Day matching follows Vixie cron: when both day of month and day of week
// are restricted (neither field starts with `*`), a day matches if EITHER
// matches ("0 0 13 * 5" runs on every 13th and every Friday); otherwise
// both must match. An expression that can never match (day 30 of February,
// day 31 of only 30-day months) is refused.
//
// Times are UTC unless a time zone is given ("Europe/Paris", read from the
// system's tz database through Howard Hinnant's date/tz, which is
// thread-safe: no TZ environment variable is touched). Daylight saving:
// a local time skipped by a spring-forward gap runs at the end of the gap
// (once, however many skipped minutes match); a local time repeated by a
// fall-back runs once, at its first occurrence.
//
// Errors: Parse returns EINVAL with a message naming the field and the
// reason ("minute: 61 is out of range 0-59").
//
// Thread safety: a parsed schedule is immutable and may be used from any
// thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace date {
class time_zone;
}

namespace strata::runtime {

class CronSchedule {
 public:
  using Clock = std::chrono::system_clock;
  using TimePoint = std::chrono::time_point<Clock, std::chrono::seconds>;

  // tz: empty or "UTC" for UTC, else an IANA zone name.
  static Result<CronSchedule> Parse(std::string_view expression, std::string_view tz = "");

  // The first run time strictly after `after`; nullopt if none within the
  // next 50 years (cannot happen for an expression Parse accepted). For
  // "@every", after + interval: callers pass the previous scheduled time to
  // keep a fixed rate.
  std::optional<TimePoint> Next(TimePoint after) const;

  const std::string& expression() const { return expression_; }
  const std::string& tz() const { return tz_; }
  bool is_interval() const { return interval_.count() > 0; }
  std::chrono::seconds interval() const { return interval_; }

 private:
  CronSchedule() = default;
  bool DayMatches(unsigned day, unsigned weekday) const;

  std::string expression_;
  std::string tz_;
  const date::time_zone* zone_ = nullptr;  // nullptr: UTC
  std::chrono::seconds interval_{0};       // > 0: @every
  // Bit n set: value n matches.
  uint64_t minutes_ = 0;   // 0-59
  uint64_t hours_ = 0;     // 0-23
  uint64_t days_ = 0;      // 1-31
  uint64_t months_ = 0;    // 1-12
  uint64_t weekdays_ = 0;  // 0-6, Sunday = 0
  bool dom_star_ = false;
  bool dow_star_ = false;
};

// "1h30m" -> 5400 s; units s, m, h, d; EINVAL for anything else or zero.
Result<std::chrono::seconds> ParseCronDuration(std::string_view text);

}  // namespace strata::runtime
