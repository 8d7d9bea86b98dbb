// How strata presents results: sizes, ages, IDs, tags, tables, JSON.
#define BOOST_TEST_MODULE runtime_cli_format
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "runtime/cli_format.h"

using namespace strata::runtime;

BOOST_AUTO_TEST_CASE(human_size_is_si_with_three_digits) {
  BOOST_TEST(HumanSize(0) == "0B");
  BOOST_TEST(HumanSize(999) == "999B");
  BOOST_TEST(HumanSize(1000) == "1kB");
  BOOST_TEST(HumanSize(1500) == "1.5kB");
  BOOST_TEST(HumanSize(4261888) == "4.26MB");
  BOOST_TEST(HumanSize(123456789) == "123MB");
  BOOST_TEST(HumanSize(999600) == "1MB");  // never "1e+03kB"
  BOOST_TEST(HumanSize(999499) == "999kB");
  BOOST_TEST(HumanSize(uint64_t{5} * 1000 * 1000 * 1000 * 1000) == "5TB");
}

BOOST_AUTO_TEST_CASE(human_duration_follows_docker) {
  BOOST_TEST(HumanDuration(-5) == "Less than a second");
  BOOST_TEST(HumanDuration(0) == "Less than a second");
  BOOST_TEST(HumanDuration(1) == "1 second");
  BOOST_TEST(HumanDuration(59) == "59 seconds");
  BOOST_TEST(HumanDuration(60) == "About a minute");
  BOOST_TEST(HumanDuration(119) == "About a minute");
  BOOST_TEST(HumanDuration(120) == "2 minutes");
  BOOST_TEST(HumanDuration(3599) == "59 minutes");
  BOOST_TEST(HumanDuration(3600) == "About an hour");
  BOOST_TEST(HumanDuration(47 * 3600) == "47 hours");
  BOOST_TEST(HumanDuration(13 * 86400) == "13 days");
  BOOST_TEST(HumanDuration(20 * 86400) == "2 weeks");
  BOOST_TEST(HumanDuration(90 * 86400) == "3 months");
  BOOST_TEST(HumanDuration(3 * 365 * 86400) == "3 years");
}

BOOST_AUTO_TEST_CASE(rfc3339_parses_fractions_and_offsets) {
  BOOST_TEST(ParseRfc3339("1970-01-01T00:00:00Z").value() == 0);
  BOOST_TEST(ParseRfc3339("2023-05-19T20:19:28.123456789Z").value() == 1684527568);
  BOOST_TEST(ParseRfc3339("2023-05-19T22:19:28+02:00").value() == 1684527568);
  BOOST_TEST(ParseRfc3339("2023-05-19T18:19:28-02:00").value() == 1684527568);
  for (const char* bad : {"", "2023-05-19", "2023-05-19T20:19:28", "2023-13-01T00:00:00Z",
                          "2023-05-19T20:19:28.Z", "2023-05-19T20:19:28Zjunk", "yesterday"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!ParseRfc3339(bad).has_value()); }
  }
}

BOOST_AUTO_TEST_CASE(time_ago) {
  BOOST_TEST(TimeAgo("1970-01-01T00:00:00Z", 3 * 86400) == "3 days ago");
  BOOST_TEST(TimeAgo("", 100) == "N/A");
  BOOST_TEST(TimeAgo("garbage", 100) == "N/A");
}

BOOST_AUTO_TEST_CASE(short_ids_and_tags) {
  BOOST_TEST(ShortId("sha256:0123456789abcdef0123") == "0123456789ab");
  BOOST_TEST(ShortId("0123456789abcdef") == "0123456789ab");
  using P = std::pair<std::string, std::string>;
  BOOST_TEST((SplitTag("busybox:latest") == P{"busybox", "latest"}));
  BOOST_TEST((SplitTag("localhost:5000/app:v2") == P{"localhost:5000/app", "v2"}));
  BOOST_TEST((SplitTag("localhost:5000/app") == P{"localhost:5000/app", "<none>"}));
  BOOST_TEST((SplitTag("<none>:<none>") == P{"<none>", "<none>"}));
}

BOOST_AUTO_TEST_CASE(truncate_counts_code_points) {
  BOOST_TEST(Truncate("short", 10) == "short");
  BOOST_TEST(Truncate("abcdefghij", 5) == "abcd…");
  BOOST_TEST(Truncate("ééééé", 5) == "ééééé");
  BOOST_TEST(Truncate("éééééé", 5) == "éééé…");
}

BOOST_AUTO_TEST_CASE(table_aligns_columns_and_trims) {
  Table t({"REPOSITORY", "TAG", "SIZE"});
  t.AddRow({"busybox", "latest", "4.26MB"});
  t.AddRow({"localhost:5000/app", "v2"});
  BOOST_TEST(t.Render() ==
             "REPOSITORY           TAG      SIZE\n"
             "busybox              latest   4.26MB\n"
             "localhost:5000/app   v2\n");
}

BOOST_AUTO_TEST_CASE(pretty_json_indents_by_four) {
  auto v = boost::json::parse(R"([{"id":"x","tags":[],"n":{"a":[1,2]}}])");
  BOOST_TEST(PrettyJson(v) ==
             "[\n"
             "    {\n"
             "        \"id\": \"x\",\n"
             "        \"tags\": [],\n"
             "        \"n\": {\n"
             "            \"a\": [\n"
             "                1,\n"
             "                2\n"
             "            ]\n"
             "        }\n"
             "    }\n"
             "]\n");
  BOOST_TEST(boost::json::parse(PrettyJson(v)) == v);
}
