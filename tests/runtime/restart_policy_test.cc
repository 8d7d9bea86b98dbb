// Restart policies and their backoff.
#define BOOST_TEST_MODULE runtime_restart_policy
#include <boost/test/unit_test.hpp>

#include "runtime/restart_policy.h"

using namespace strata::runtime;
using Kind = RestartPolicy::Kind;
using ms = std::chrono::milliseconds;

BOOST_AUTO_TEST_CASE(parse_and_print) {
  BOOST_TEST((RestartPolicy::Parse("").value().kind == Kind::kNo));
  BOOST_TEST((RestartPolicy::Parse("no").value().kind == Kind::kNo));
  BOOST_TEST((RestartPolicy::Parse("always").value().kind == Kind::kAlways));
  BOOST_TEST((RestartPolicy::Parse("unless-stopped").value().kind == Kind::kUnlessStopped));
  auto of = RestartPolicy::Parse("on-failure");
  BOOST_TEST((of.value().kind == Kind::kOnFailure));
  BOOST_TEST(of.value().max_retries == 0);
  auto of3 = RestartPolicy::Parse("on-failure:3");
  BOOST_TEST(of3.value().max_retries == 3);
  for (const char* text : {"no", "always", "unless-stopped", "on-failure", "on-failure:3"}) {
    BOOST_TEST(RestartPolicy::Parse(text).value().str() == text);
  }
  for (const char* bad : {"yes", "on-failure:", "on-failure:x", "on-failure:-1", "always:2",
                          "on-failure3", "Always"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!RestartPolicy::Parse(bad).ok()); }
  }
}

BOOST_AUTO_TEST_CASE(should_restart) {
  RestartPolicy no, always, unless, on_failure, on_failure3;
  always.kind = Kind::kAlways;
  unless.kind = Kind::kUnlessStopped;
  on_failure.kind = Kind::kOnFailure;
  on_failure3.kind = Kind::kOnFailure;
  on_failure3.max_retries = 3;

  BOOST_TEST(!ShouldRestart(no, 1, false, 0));
  BOOST_TEST(ShouldRestart(always, 0, false, 100));
  BOOST_TEST(ShouldRestart(unless, 0, false, 0));
  BOOST_TEST(!ShouldRestart(on_failure, 0, false, 0));
  BOOST_TEST(ShouldRestart(on_failure, 1, false, 1000));
  // on-failure:3 restarts three times, then gives up.
  BOOST_TEST(ShouldRestart(on_failure3, 2, false, 0));
  BOOST_TEST(ShouldRestart(on_failure3, 2, false, 2));
  BOOST_TEST(!ShouldRestart(on_failure3, 2, false, 3));
  // A stop by the user suspends every policy.
  for (const auto& p : {always, unless, on_failure}) BOOST_TEST(!ShouldRestart(p, 1, true, 0));
}

BOOST_AUTO_TEST_CASE(with_the_service) {
  RestartPolicy no, always, unless, on_failure;
  always.kind = Kind::kAlways;
  unless.kind = Kind::kUnlessStopped;
  on_failure.kind = Kind::kOnFailure;
  BOOST_TEST(RestartsWithService(always, false));
  BOOST_TEST(RestartsWithService(always, true));  // always: even after a stop
  BOOST_TEST(RestartsWithService(unless, false));
  BOOST_TEST(!RestartsWithService(unless, true));
  BOOST_TEST(!RestartsWithService(no, false));
  BOOST_TEST(!RestartsWithService(on_failure, false));
}

BOOST_AUTO_TEST_CASE(backoff_doubles_caps_and_resets_after_a_healthy_run) {
  RestartBackoff b;
  BOOST_TEST(b.Next(ms(5)).count() == 100);
  BOOST_TEST(b.Next(ms(5)).count() == 200);
  BOOST_TEST(b.Next(ms(5)).count() == 400);
  BOOST_TEST(b.Next(ms(9999)).count() == 800);
  // A run of 10 s or more was healthy: back to the start.
  BOOST_TEST(b.Next(ms(10000)).count() == 100);
  for (int i = 0; i < 20; ++i) (void)b.Next(ms(1));
  BOOST_TEST(b.Next(ms(1)).count() == RestartBackoff::kMax.count());
  b.Reset();
  BOOST_TEST(b.Next(ms(1)).count() == 100);
}
