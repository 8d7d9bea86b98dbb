// `logs --since`: durations, unix seconds and RFC 3339, all in the stored
// form, which compares as the times do.
#define BOOST_TEST_MODULE runtime_log_time
#include <boost/test/unit_test.hpp>

#include "runtime/log_time.h"

using namespace strata;
using namespace strata::runtime;
using Clock = std::chrono::system_clock;

namespace {
// 2024-05-01T12:00:00Z
const Clock::time_point kNow{std::chrono::seconds(1714564800)};
}  // namespace

BOOST_AUTO_TEST_CASE(durations_count_back_from_now) {
  BOOST_TEST(*ParseLogTime("10m", kNow) == "2024-05-01T11:50:00.000000000Z");
  BOOST_TEST(*ParseLogTime("1h30m", kNow) == "2024-05-01T10:30:00.000000000Z");
  BOOST_TEST(*ParseLogTime("90s", kNow) == "2024-05-01T11:58:30.000000000Z");
  BOOST_TEST(*ParseLogTime("250ms", kNow) == "2024-05-01T11:59:59.750000000Z");
}

BOOST_AUTO_TEST_CASE(unix_seconds_and_rfc3339) {
  BOOST_TEST(*ParseLogTime("1714564800", kNow) == "2024-05-01T12:00:00.000000000Z");
  BOOST_TEST(*ParseLogTime("1714564800.5", kNow) == "2024-05-01T12:00:00.500000000Z");
  BOOST_TEST(*ParseLogTime("2024-05-01T12:00:00Z", kNow) == "2024-05-01T12:00:00.000000000Z");
  BOOST_TEST(*ParseLogTime("2024-05-01T14:00:00.25+02:00", kNow) ==
             "2024-05-01T12:00:00.250000000Z");
  BOOST_TEST(*ParseLogTime("2024-05-01T12:00:00.123456789Z", kNow) ==
             "2024-05-01T12:00:00.123456789Z");
  // The stored form compares as the times do.
  BOOST_TEST(*ParseLogTime("10m", kNow) < *ParseLogTime("5m", kNow));
}

BOOST_AUTO_TEST_CASE(refuses_what_is_not_a_time) {
  for (const char* bad : {"", "10x", "m", "yesterday", "2024-05-01", "2024-13-01T00:00:00Z",
                          "2024-05-01T12:00:00", "2024-05-01T12:00:00+2", "1.2.3", "-5m"}) {
    BOOST_TEST_INFO(bad);
    BOOST_TEST(!ParseLogTime(bad, kNow).ok());
  }
}

BOOST_AUTO_TEST_CASE(refuses_times_out_of_range) {
  // Before the epoch the stored form would need a sign; after April 2262
  // the clock's nanoseconds overflow.
  for (const char* bad : {"0999-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "999999999999",
                          "2263-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                          "1970-01-01T00:00:00+00:01"}) {
    BOOST_TEST_INFO(bad);
    auto t = ParseLogTime(bad, kNow);
    BOOST_REQUIRE(!t.ok());
    BOOST_TEST(t.error().message().find("out of range") != std::string::npos);
  }
  BOOST_TEST(*ParseLogTime("0", kNow) == "1970-01-01T00:00:00.000000000Z");
  BOOST_TEST(*ParseLogTime("2262-01-01T00:00:00.5Z", kNow) == "2262-01-01T00:00:00.500000000Z");
  // A duration longer than the time since the epoch.
  BOOST_TEST(!ParseLogTime("10m", Clock::time_point(std::chrono::seconds(60))).ok());
}
