// Detach keys: Docker's notation, and spotting the sequence across reads
// without eating bytes that only looked like its start.
#define BOOST_TEST_MODULE runtime_detach_keys
#include <boost/test/unit_test.hpp>

#include "runtime/detach_keys.h"

using namespace strata;
using namespace strata::runtime;

BOOST_AUTO_TEST_CASE(parses_dockers_notation) {
  BOOST_TEST(*ParseDetachKeys("ctrl-p,ctrl-q") == std::string("\x10\x11"));
  BOOST_TEST(*ParseDetachKeys("ctrl-@") == std::string(1, '\0'));
  BOOST_TEST(*ParseDetachKeys("ctrl-[,x") == std::string("\x1b"
                                                         "x"));
  BOOST_TEST(*ParseDetachKeys("ctrl-_") == std::string("\x1f"));
  BOOST_TEST(*ParseDetachKeys("ctrl-A") == std::string("\x01"));
  BOOST_TEST(ParseDetachKeys("")->empty());
}

BOOST_AUTO_TEST_CASE(refuses_what_is_not_a_key) {
  for (const char* bad : {"ctrl-1", "ctrl-", "alt-x", "pq", "ctrl-p,,x"}) {
    auto r = ParseDetachKeys(bad);
    BOOST_TEST_INFO(bad);
    BOOST_TEST(!r.ok());
  }
}

BOOST_AUTO_TEST_CASE(passes_input_and_spots_the_sequence_across_reads) {
  DetachKeyFilter f("\x10\x11");
  std::string out;
  BOOST_TEST(!f.Feed("ls\n\x10", out));
  BOOST_TEST(out == "ls\n");  // ^P held back
  out.clear();
  BOOST_TEST(
      f.Feed("\x11"
             "ignored",
             out));
  BOOST_TEST(out.empty());
}

BOOST_AUTO_TEST_CASE(a_broken_sequence_is_passed_on) {
  DetachKeyFilter f("\x10\x11");
  std::string out;
  BOOST_TEST(
      !f.Feed("\x10"
              "a",
              out));
  BOOST_TEST(out ==
             "\x10"
             "a");
  out.clear();
  BOOST_TEST(!f.Feed("\x10\x10", out));  // the second ^P may begin it again
  BOOST_TEST(out == "\x10");
  out.clear();
  BOOST_TEST(f.Feed("\x11", out));
  BOOST_TEST(out.empty());
}

BOOST_AUTO_TEST_CASE(no_sequence_passes_everything) {
  DetachKeyFilter f("");
  std::string out;
  BOOST_TEST(!f.Feed("\x10\x11", out));
  BOOST_TEST(out == "\x10\x11");
}
