// Cron schedules: parsing and the next run time.
#define BOOST_TEST_MODULE runtime_cron_schedule
#include <boost/test/unit_test.hpp>

#include <date/date.h>

#include <string>
#include <vector>

#include "runtime/cron_schedule.h"

using namespace strata::runtime;
using TimePoint = CronSchedule::TimePoint;

namespace {

// "2024-02-28 23:59:00" (UTC) -> a time point.
TimePoint At(const std::string& text) {
  int y, mo, d, h, mi, s = 0;
  BOOST_REQUIRE(std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s) >= 5);
  auto day = date::sys_days(date::year{y} / mo / d);
  return TimePoint(day.time_since_epoch()) + std::chrono::hours(h) + std::chrono::minutes(mi) +
         std::chrono::seconds(s);
}

std::string Show(TimePoint t) { return date::format("%F %H:%M:%S", t); }

// The next n run times after start.
std::vector<std::string> Runs(const std::string& expr, const std::string& start, int n,
                              const std::string& tz = "") {
  auto s = CronSchedule::Parse(expr, tz);
  BOOST_REQUIRE_MESSAGE(s.ok(), expr + ": " + (s.ok() ? "" : s.error().message()));
  std::vector<std::string> out;
  TimePoint t = At(start);
  for (int i = 0; i < n; ++i) {
    auto next = s.value().Next(t);
    BOOST_REQUIRE(next.has_value());
    out.push_back(Show(*next));
    t = *next;
  }
  return out;
}

std::string ErrorOf(const std::string& expr, const std::string& tz = "") {
  auto s = CronSchedule::Parse(expr, tz);
  return s.ok() ? "" : s.error().message();
}

}  // namespace

using V = std::vector<std::string>;

BOOST_AUTO_TEST_CASE(every_minute_and_strictly_after) {
  BOOST_TEST(Runs("* * * * *", "2024-01-01 10:00:00", 2) ==
                 (V{"2024-01-01 10:01:00", "2024-01-01 10:02:00"}),
             boost::test_tools::per_element());
  // Within a minute: the next whole minute.
  BOOST_TEST(Runs("* * * * *", "2024-01-01 10:00:30", 1) == V{"2024-01-01 10:01:00"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(lists_ranges_steps) {
  BOOST_TEST(Runs("5,35 * * * *", "2024-01-01 10:06:00", 3) ==
                 (V{"2024-01-01 10:35:00", "2024-01-01 11:05:00", "2024-01-01 11:35:00"}),
             boost::test_tools::per_element());
  BOOST_TEST(Runs("*/20 * * * *", "2024-01-01 10:00:00", 3) ==
                 (V{"2024-01-01 10:20:00", "2024-01-01 10:40:00", "2024-01-01 11:00:00"}),
             boost::test_tools::per_element());
  // A step on a range: 9, 12, 15 (not 18: past the range's end).
  BOOST_TEST(Runs("0 9-17/3 * * *", "2024-01-01 10:00:00", 3) ==
                 (V{"2024-01-01 12:00:00", "2024-01-01 15:00:00", "2024-01-02 09:00:00"}),
             boost::test_tools::per_element());
  // N/S: from N to the field's end.
  BOOST_TEST(Runs("50/5 * * * *", "2024-01-01 10:00:00", 3) ==
                 (V{"2024-01-01 10:50:00", "2024-01-01 10:55:00", "2024-01-01 11:50:00"}),
             boost::test_tools::per_element());
  BOOST_TEST(Runs("0 0 1-3,10 * *", "2024-01-02 12:00:00", 3) ==
                 (V{"2024-01-03 00:00:00", "2024-01-10 00:00:00", "2024-02-01 00:00:00"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(names_of_months_and_days) {
  // 2024-01-01 is a Monday.
  BOOST_TEST(Runs("0 8 * * mon-fri", "2024-01-05 09:00:00", 2) ==
                 (V{"2024-01-08 08:00:00", "2024-01-09 08:00:00"}),
             boost::test_tools::per_element());
  BOOST_TEST(Runs("0 0 1 JAN,Jul *", "2024-02-01 00:00:00", 2) ==
                 (V{"2024-07-01 00:00:00", "2025-01-01 00:00:00"}),
             boost::test_tools::per_element());
  // 7 is Sunday, as 0.
  BOOST_TEST(Runs("0 0 * * 7", "2024-01-01 00:00:00", 1) == V{"2024-01-07 00:00:00"},
             boost::test_tools::per_element());
  BOOST_TEST(Runs("0 0 * * 5-7", "2024-01-01 00:00:00", 3) ==
                 (V{"2024-01-05 00:00:00", "2024-01-06 00:00:00", "2024-01-07 00:00:00"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(macros) {
  BOOST_TEST(Runs("@hourly", "2024-01-01 10:30:00", 1) == V{"2024-01-01 11:00:00"},
             boost::test_tools::per_element());
  BOOST_TEST(Runs("@daily", "2024-01-01 10:30:00", 1) == V{"2024-01-02 00:00:00"},
             boost::test_tools::per_element());
  BOOST_TEST(Runs("@weekly", "2024-01-01 10:30:00", 1) == V{"2024-01-07 00:00:00"},
             boost::test_tools::per_element());
  BOOST_TEST(Runs("@monthly", "2024-01-31 10:30:00", 1) == V{"2024-02-01 00:00:00"},
             boost::test_tools::per_element());
  BOOST_TEST(Runs("@yearly", "2024-06-01 00:00:00", 1) == V{"2025-01-01 00:00:00"},
             boost::test_tools::per_element());
  BOOST_TEST(Runs("@every 90s", "2024-01-01 10:00:10", 2) ==
                 (V{"2024-01-01 10:01:40", "2024-01-01 10:03:10"}),
             boost::test_tools::per_element());
  BOOST_TEST(ParseCronDuration("1h30m").value().count() == 5400);
  BOOST_TEST(ParseCronDuration("2d").value().count() == 172800);
  BOOST_TEST(CronSchedule::Parse("@every 1s").value().is_interval());
}

BOOST_AUTO_TEST_CASE(month_ends_and_leap_day) {
  // The 31st: months without one are skipped.
  BOOST_TEST(Runs("0 0 31 * *", "2024-01-31 00:00:00", 3) ==
                 (V{"2024-03-31 00:00:00", "2024-05-31 00:00:00", "2024-07-31 00:00:00"}),
             boost::test_tools::per_element());
  // February 29th: leap years only (2100 is not one).
  BOOST_TEST(Runs("0 12 29 2 *", "2024-03-01 00:00:00", 2) ==
                 (V{"2028-02-29 12:00:00", "2032-02-29 12:00:00"}),
             boost::test_tools::per_element());
  BOOST_TEST(Runs("0 0 29 feb *", "2096-03-01 00:00:00", 1) == V{"2104-02-29 00:00:00"},
             boost::test_tools::per_element());
  // Across a year's end at the last minute.
  BOOST_TEST(Runs("59 23 31 12 *", "2024-12-31 23:59:00", 1) == V{"2025-12-31 23:59:00"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(day_of_month_or_day_of_week) {
  // Both restricted: either matches (Vixie). The 13th or any Friday.
  // 2024-09: Fri 6, 13 (also a Friday), 20, 27; October 4, 11, 13 (Sunday).
  BOOST_TEST(Runs("0 0 13 * 5", "2024-09-01 00:00:00", 6) ==
                 (V{"2024-09-06 00:00:00", "2024-09-13 00:00:00", "2024-09-20 00:00:00",
                    "2024-09-27 00:00:00", "2024-10-04 00:00:00", "2024-10-11 00:00:00"}),
             boost::test_tools::per_element());
  // Day of week unrestricted: day of month alone.
  BOOST_TEST(Runs("0 0 13 * *", "2024-09-01 00:00:00", 1) == V{"2024-09-13 00:00:00"},
             boost::test_tools::per_element());
  // A field starting with '*' counts as unrestricted: both must match
  // (the 1st, 3rd, ... that is a Monday). 2024-01-01 is a Monday; next:
  // 2024-01-15, 2024-01-29.
  BOOST_TEST(Runs("0 0 */2 * mon", "2024-01-01 00:00:00", 2) ==
                 (V{"2024-01-15 00:00:00", "2024-01-29 00:00:00"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(time_zones) {
  // 09:00 in Paris is 08:00 UTC in winter, 07:00 UTC in summer.
  BOOST_TEST(
      Runs("0 9 * * *", "2024-01-10 12:00:00", 1, "Europe/Paris") == V{"2024-01-11 08:00:00"},
      boost::test_tools::per_element());
  BOOST_TEST(
      Runs("0 9 * * *", "2024-07-10 12:00:00", 1, "Europe/Paris") == V{"2024-07-11 07:00:00"},
      boost::test_tools::per_element());
  // Spring forward (2024-03-31 02:00 -> 03:00 in Paris): 02:30 does not
  // exist and runs once at the end of the gap (01:00 UTC).
  BOOST_TEST(Runs("30 2 * * *", "2024-03-30 12:00:00", 2, "Europe/Paris") ==
                 (V{"2024-03-31 01:00:00", "2024-04-01 00:30:00"}),
             boost::test_tools::per_element());
  BOOST_TEST(Runs("*/20 2 * * *", "2024-03-30 12:00:00", 2, "Europe/Paris") ==
                 (V{"2024-03-31 01:00:00", "2024-04-01 00:00:00"}),
             boost::test_tools::per_element());
  // Fall back (2024-10-27 03:00 -> 02:00): 02:30 happens twice, runs once.
  BOOST_TEST(Runs("30 2 * * *", "2024-10-26 12:00:00", 2, "Europe/Paris") ==
                 (V{"2024-10-27 00:30:00", "2024-10-28 01:30:00"}),
             boost::test_tools::per_element());
  BOOST_TEST(CronSchedule::Parse("@daily", "UTC").ok());
}

BOOST_AUTO_TEST_CASE(invalid_expressions_say_why) {
  BOOST_TEST(ErrorOf("61 * * * *") == "minute: 61 is out of range 0-59");
  BOOST_TEST(ErrorOf("* 24 * * *") == "hour: 24 is out of range 0-23");
  BOOST_TEST(ErrorOf("* * 0 * *") == "day of month: 0 is out of range 1-31");
  BOOST_TEST(ErrorOf("* * * 13 *") == "month: 13 is out of range 1-12");
  BOOST_TEST(ErrorOf("* * * * 8") == "day of week: 8 is out of range 0-7");
  BOOST_TEST(ErrorOf("* * * * *") == "");
  BOOST_TEST(ErrorOf("* * * *").find("expected 5 fields") == 0);
  BOOST_TEST(ErrorOf("* * * * * *").find("expected 5 fields") == 0);
  BOOST_TEST(ErrorOf("*/0 * * * *") == "minute: step 0 in \"*/0\"");
  BOOST_TEST(ErrorOf("5-2 * * * *") == "minute: range \"5-2\" goes backwards");
  BOOST_TEST(ErrorOf("* * * foo *") == "month: \"foo\" is not a valid value");
  BOOST_TEST(ErrorOf("1,,2 * * * *").find("empty list item") != std::string::npos);
  BOOST_TEST(ErrorOf("0 0 30 2 *") == "the days of month given never occur in the months given");
  BOOST_TEST(ErrorOf("0 0 31 4,6,9,11 *") ==
             "the days of month given never occur in the months given");
  BOOST_TEST(ErrorOf("@fortnightly").find("unknown macro") == 0);
  BOOST_TEST(ErrorOf("@every").find("@every takes one duration") == 0);
  BOOST_TEST(ErrorOf("@every 0s") == "invalid duration \"0s\": must be at least 1s");
  BOOST_TEST(ErrorOf("@every 10").find("invalid duration \"10\"") == 0);
  BOOST_TEST(ErrorOf("@every 5x").find("invalid duration") == 0);
  BOOST_TEST(ErrorOf("") == "empty schedule");
  BOOST_TEST(ErrorOf("@daily", "Mars/Olympus") == "unknown time zone \"Mars/Olympus\"");
}
