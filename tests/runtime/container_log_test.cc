// Container logs: pipes pumped into JSON lines, tail, follow offsets.
#define BOOST_TEST_MODULE runtime_container_log
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <thread>

#include <boost/json.hpp>

#include "common/fs.h"
#include "runtime/container_log.h"
#include "tests/support/temp_store.h"

using namespace strata;
using namespace strata::runtime;
using namespace std::chrono_literals;

namespace {

std::pair<UniqueFd, UniqueFd> Pipe() {
  int p[2];
  BOOST_REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  return {UniqueFd(p[0]), UniqueFd(p[1])};
}

void Write(const UniqueFd& fd, std::string_view s) { BOOST_REQUIRE(WriteAll(fd.get(), s).ok()); }

}  // namespace

BOOST_AUTO_TEST_CASE(lines_from_both_streams_with_time_and_stream) {
  TempDir dir = testing::MakeTempDir();
  ContainerLog log(dir.path() + "/log");
  auto [out_r, out_w] = Pipe();
  auto [err_r, err_w] = Pipe();
  BOOST_REQUIRE(log.StartPump(std::move(out_r), std::move(err_r)).ok());
  Write(out_w, "one\ntw");
  // Wait until "one" is in, so the order across streams is known.
  auto size = [&] {
    auto text = ReadFile(log.path());
    return text.ok() ? text->size() : 0;
  };
  for (int i = 0; i < 200 && size() == 0; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  Write(err_w, "oops\n");
  std::this_thread::sleep_for(50ms);
  Write(out_w, "o\nno newline");
  out_w.reset();
  err_w.reset();
  BOOST_REQUIRE(log.WaitPumpDone(5s));

  uint64_t end = 0;
  auto all = log.Tail(-1, &end);
  BOOST_REQUIRE(all.ok());
  BOOST_REQUIRE(all->size() == 4u);
  BOOST_TEST((*all)[0].log == "one\n");
  BOOST_TEST((*all)[0].stream == "stdout");
  BOOST_TEST((*all)[1].log == "oops\n");
  BOOST_TEST((*all)[1].stream == "stderr");
  BOOST_TEST((*all)[2].log == "two\n");
  BOOST_TEST((*all)[3].log == "no newline");
  BOOST_TEST((*all)[0].time.size() == 30u);

  auto last = log.Tail(2, &end);
  BOOST_REQUIRE(last->size() == 2u);
  BOOST_TEST((*last)[0].log == "two\n");

  // Follow: nothing new past the end; a new pump appends.
  uint64_t offset = end;
  BOOST_TEST(log.Read(&offset)->empty());
  auto [r2, w2] = Pipe();
  BOOST_REQUIRE(log.StartPump(std::move(r2), UniqueFd()).ok());
  uint64_t seen = log.version();
  Write(w2, "again\n");
  log.WaitForChange(seen, 5s);
  w2.reset();
  BOOST_REQUIRE(log.WaitPumpDone(5s));
  auto more = log.Read(&offset);
  BOOST_REQUIRE(more->size() == 1u);
  BOOST_TEST((*more)[0].log == "again\n");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_and_long_lines) {
  BOOST_TEST(SanitizeUtf8("ok \xC3\xA9") == "ok \xC3\xA9");
  BOOST_TEST(SanitizeUtf8("bad \xFF!") == "bad \xEF\xBF\xBD!");
  BOOST_TEST(SanitizeUtf8("\xC3") == "\xEF\xBF\xBD");
  std::string line = LogLine({"t", "stdout", "a\"b\n"});
  auto v = boost::json::parse(line);
  BOOST_TEST(v.at("log").as_string() == "a\"b\n");
  BOOST_TEST(line.back() == '\n');

  TempDir dir = testing::MakeTempDir();
  ContainerLog log(dir.path() + "/log");
  auto [r, w] = Pipe();
  BOOST_REQUIRE(log.StartPump(std::move(r), UniqueFd()).ok());
  Write(w, std::string(40000, 'x') + "\n");
  w.reset();
  BOOST_REQUIRE(log.WaitPumpDone(5s));
  uint64_t end = 0;
  auto all = log.Tail(-1, &end);
  BOOST_REQUIRE(all->size() == 3u);  // cut at 16 KiB
  BOOST_TEST((*all)[0].log.size() == 16384u);
  BOOST_TEST((*all)[2].log.back() == '\n');
}
