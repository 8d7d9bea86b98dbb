// statvfs with a deadline: results in order, errors by errno.
#define BOOST_TEST_MODULE runtime_statfs_prober
#include <boost/test/unit_test.hpp>

#include <sys/statvfs.h>

#include "runtime/statfs_prober.h"

using namespace strata::runtime;
using Outcome = StatfsResult::Outcome;
using ms = std::chrono::milliseconds;

BOOST_AUTO_TEST_CASE(results_in_order) {
  StatfsProber prober(2);
  std::vector<std::string> paths = {"/", "/nonexistent/strata", "/proc", "/", "/tmp"};
  auto r = prober.Probe(paths, ms(5000));
  BOOST_TEST_REQUIRE(r.size() == paths.size());
  struct statvfs root;
  BOOST_TEST_REQUIRE(::statvfs("/", &root) == 0);
  BOOST_TEST((r[0].outcome == Outcome::kOk));
  BOOST_TEST(r[0].st.f_blocks == root.f_blocks);
  BOOST_TEST((r[1].outcome == Outcome::kError));
  BOOST_TEST(r[1].error == ENOENT);
  BOOST_TEST((r[2].outcome == Outcome::kOk));
  BOOST_TEST((r[3].outcome == Outcome::kOk));
  BOOST_TEST((r[4].outcome == Outcome::kOk));
  BOOST_TEST(prober.hung() == 0u);
}

BOOST_AUTO_TEST_CASE(many_paths_few_workers) {
  StatfsProber prober(3);
  std::vector<std::string> paths(500, "/");
  for (int round = 0; round < 3; ++round) {
    auto r = prober.Probe(paths, ms(10000));
    size_t ok = 0;
    for (const auto& x : r) ok += x.ok() ? 1 : 0;
    BOOST_TEST(ok == paths.size());
  }
  BOOST_TEST(prober.Probe({}, ms(10)).empty());
}
