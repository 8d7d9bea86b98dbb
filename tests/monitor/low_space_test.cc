// Low-space thresholds and their crossings.
#define BOOST_TEST_MODULE monitor_low_space
#include <boost/test/unit_test.hpp>

#include "monitor/low_space.h"

using namespace strata::monitor;
using Change = LowSpaceTracker::Change;

BOOST_AUTO_TEST_CASE(parse_percent) {
  BOOST_TEST(ParsePercent("5").value() == 5.0);
  BOOST_TEST(ParsePercent("5%").value() == 5.0);
  BOOST_TEST(ParsePercent("2.5").value() == 2.5);
  BOOST_TEST(ParsePercent("0").value() == 0.0);
  BOOST_TEST(ParsePercent("100").value() == 100.0);
  for (const char* bad : {"", "%", "x", "5x", "-1", "101", "nan"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!ParsePercent(bad).has_value()); }
  }
}

BOOST_AUTO_TEST_CASE(is_low) {
  BOOST_TEST(IsLow(9, 100, 10));
  BOOST_TEST(!IsLow(10, 100, 10));  // at the threshold: not low
  BOOST_TEST(!IsLow(50, 100, 10));
  BOOST_TEST(!IsLow(0, 0, 10));                                // no size: never low
  BOOST_TEST(!IsLow(0, 100, 0));                               // threshold 0: never low
  BOOST_TEST(IsLow(uint64_t{1} << 40, uint64_t{1} << 50, 1));  // no overflow
}

BOOST_AUTO_TEST_CASE(crossings_once_each_way) {
  LowSpaceTracker t;
  BOOST_TEST((t.Update("a", false) == Change::kNone));
  BOOST_TEST((t.Update("a", true) == Change::kWentLow));
  BOOST_TEST((t.Update("a", true) == Change::kNone));
  BOOST_TEST((t.Update("a", false) == Change::kRecovered));
  BOOST_TEST((t.Update("a", false) == Change::kNone));
  // A volume first seen low reports it.
  BOOST_TEST((t.Update("b", true) == Change::kWentLow));
}

BOOST_AUTO_TEST_CASE(sweep_forgets_gone_volumes) {
  LowSpaceTracker t;
  BOOST_TEST((t.Update("a", true) == Change::kWentLow));
  t.Sweep();  // a was updated since the last sweep: kept
  BOOST_TEST((t.Update("a", true) == Change::kNone));
  t.Sweep();
  t.Sweep();  // not updated in between: forgotten
  BOOST_TEST((t.Update("a", true) == Change::kWentLow));
}
