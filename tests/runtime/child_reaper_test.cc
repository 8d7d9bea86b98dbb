// ChildReaper::Call: work done in a forked child, its answer (a value or an
// error with errno and message) brought back, a child that takes too long
// killed.
#define BOOST_TEST_MODULE runtime_child_reaper
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <chrono>

#include "runtime/child_reaper.h"

using namespace strata;
using namespace strata::runtime;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(call_brings_back_the_childs_answer) {
  auto reaper = ChildReaper::Start().value();
  const pid_t parent = ::getpid();
  auto value = reaper->Call(
      [&]() -> Result<std::string> {
        // Runs in another process; big enough to fill the pipe a few times.
        return std::to_string(::getpid() != parent) + std::string(300000, 'x');
      },
      10s);
  BOOST_REQUIRE(value.ok());
  BOOST_TEST(value->size() == 300001u);
  BOOST_TEST(value->substr(0, 2) == "1x");

  auto error =
      reaper->Call([]() -> Result<std::string> { return Error(EXDEV, "over\nthere"); }, 10s);
  BOOST_REQUIRE(!error.ok());
  BOOST_TEST(error.error().code() == EXDEV);
  BOOST_TEST(error.error().message() == "over\nthere");

  auto empty = reaper->Call([]() -> Result<std::string> { return std::string(); }, 10s);
  BOOST_REQUIRE(empty.ok());
  BOOST_TEST(empty->empty());
}

BOOST_AUTO_TEST_CASE(a_child_that_takes_too_long_is_killed) {
  auto reaper = ChildReaper::Start().value();
  auto start = std::chrono::steady_clock::now();
  auto slow = reaper->Call(
      []() -> Result<std::string> {
        ::sleep(30);
        return std::string("late");
      },
      300ms);
  BOOST_REQUIRE(!slow.ok());
  BOOST_TEST(slow.error().code() == ETIMEDOUT);
  BOOST_TEST((std::chrono::steady_clock::now() - start < 10s));
}
