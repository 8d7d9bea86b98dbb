// Container logs: pipes pumped into JSON lines, tail, follow offsets.
#define BOOST_TEST_MODULE runtime_container_log
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
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

namespace {

std::vector<std::string> Texts(const std::vector<LogEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.log);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(rotation_keeps_max_files_and_followers_lose_nothing) {
  TempDir dir = testing::MakeTempDir();
  // Each entry's line is about 70 bytes: a 200-byte file holds three.
  ContainerLog log(dir.path() + "/log", LogLimits{200, 3});
  auto append = [&](int from, int to) {
    std::vector<LogEntry> entries;
    for (int i = from; i < to; ++i) {
      entries.push_back({"2024-01-01T00:00:00.000000000Z", "stdout", std::to_string(i) + "\n"});
    }
    for (const auto& e : entries) BOOST_REQUIRE(log.AppendEntries({e}).ok());
  };
  uint64_t offset = 0;
  append(0, 2);
  auto first = log.Read(&offset);
  BOOST_REQUIRE(first.ok());
  BOOST_TEST(Texts(*first) == (std::vector<std::string>{"0\n", "1\n"}));

  // The follower is in the file that rotates: it finishes it, then goes on.
  append(2, 5);
  BOOST_TEST(::access((dir.path() + "/log.1").c_str(), F_OK) == 0);
  auto next = log.Read(&offset);
  BOOST_REQUIRE(next.ok());
  BOOST_TEST(Texts(*next) == (std::vector<std::string>{"2\n", "3\n", "4\n"}));

  // Many rotations later, at most three files, and the tail is the newest.
  append(5, 40);
  BOOST_TEST(::access((dir.path() + "/log.2").c_str(), F_OK) == 0);
  BOOST_TEST(::access((dir.path() + "/log.3").c_str(), F_OK) != 0);
  uint64_t end = 0;
  auto tail = log.Tail(-1, &end);
  BOOST_REQUIRE(tail.ok());
  BOOST_REQUIRE(!tail->empty());
  BOOST_TEST(tail->back().log == "39\n");
  BOOST_TEST(tail->size() <= 9u);
  // Consecutive: rotation drops the oldest whole files only.
  int first_kept = std::stoi(tail->front().log);
  for (size_t i = 0; i < tail->size(); ++i) {
    BOOST_TEST((*tail)[i].log == std::to_string(first_kept + static_cast<int>(i)) + "\n");
  }
  // Reading on from the tail's end sees only what comes after.
  append(40, 41);
  auto after = log.Read(&end);
  BOOST_REQUIRE(after.ok());
  BOOST_TEST(Texts(*after) == (std::vector<std::string>{"40\n"}));
}

BOOST_AUTO_TEST_CASE(one_file_rotation_starts_the_file_over) {
  TempDir dir = testing::MakeTempDir();
  ContainerLog log(dir.path() + "/log", LogLimits{150, 1});
  for (int i = 0; i < 10; ++i) {
    BOOST_REQUIRE(log.AppendEntries({{"2024-01-01T00:00:00.000000000Z", "stdout", "x\n"}}).ok());
  }
  auto size = ReadFile(dir.path() + "/log");
  BOOST_TEST((!size.ok() || size->size() < 150u));
  BOOST_TEST(::access((dir.path() + "/log.1").c_str(), F_OK) != 0);
}

namespace {

// kB of a /proc/self/status field.
long StatusKb(const std::string& field) {
  auto text = ReadFile("/proc/self/status");
  BOOST_REQUIRE(text.ok());
  size_t at = text->find(field + ":");
  BOOST_REQUIRE(at != std::string::npos);
  return std::strtol(text->c_str() + at + field.size() + 1, nullptr, 10);
}

// AddressSanitizer keeps freed memory in quarantine (256 MiB by default),
// so a peak says nothing about what was in use at once there.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kMaxGrowthMib = 1024;
#else
constexpr long kMaxGrowthMib = 32;
#endif

// How far above its resident size before fn the process's peak went, in
// MiB (clear_refs 5 resets the peak).
long PeakGrowthMib(const std::function<void()>& fn) {
  {
    UniqueFd fd(::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC));
    BOOST_REQUIRE(fd);
    BOOST_REQUIRE(WriteAll(fd.get(), "5").ok());
  }
  long before = StatusKb("VmRSS");
  fn();
  return (StatusKb("VmHWM") - before) / 1024;
}

}  // namespace

// What a container writes decides the log's size: stratad reads it a
// bounded piece at a time, whatever that size.
BOOST_AUTO_TEST_CASE(a_huge_log_is_read_a_piece_at_a_time) {
  TempDir dir = testing::MakeTempDir();
  ContainerLog log(dir.path() + "/log");
  const std::string line =
      LogLine({"2024-05-01T12:00:00.000000000Z", "stdout", std::string(1000, 'x') + "\n"});
  const size_t lines = (128u << 20) / line.size();
  {
    UniqueFd fd(::open(log.path().c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640));
    BOOST_REQUIRE(fd);
    std::string block;
    for (int i = 0; i < 1024; ++i) block += line;
    for (size_t i = 0; i < lines / 1024; ++i) BOOST_REQUIRE(WriteAll(fd.get(), block).ok());
  }
  const uint64_t size = static_cast<uint64_t>(lines / 1024 * 1024) * line.size();

  uint64_t end = 0;
  size_t got = 0;
  long growth = PeakGrowthMib([&] {
    auto last = log.Tail(3, &end);
    BOOST_REQUIRE(last.ok());
    got = last->size();
  });
  BOOST_TEST(got == 3u);
  BOOST_TEST(end == size);
  BOOST_TEST(growth < kMaxGrowthMib,
             "Tail(3) of a 128 MiB log grew the peak by " << growth << " MiB");

  growth = PeakGrowthMib([&] { BOOST_REQUIRE(log.Tail(0, &end).ok()); });
  BOOST_TEST(end == size);
  BOOST_TEST(growth < kMaxGrowthMib, "Tail(0) grew the peak by " << growth << " MiB");

  // A follower from the start: each Read gives a piece; together, all.
  uint64_t offset = 0;
  size_t count = 0;
  growth = PeakGrowthMib([&] {
    for (;;) {
      uint64_t before = offset;
      auto piece = log.Read(&offset);
      BOOST_REQUIRE(piece.ok());
      count += piece->size();
      if (offset == before) break;
    }
  });
  BOOST_TEST(count == lines / 1024 * 1024);
  BOOST_TEST(offset == size);
  BOOST_TEST(growth < kMaxGrowthMib, "reading a 128 MiB log grew the peak by " << growth << " MiB");
}

// A follower still in log.1 when the file rotates reads all of it, piece
// by piece, before it goes on to the new file.
BOOST_AUTO_TEST_CASE(a_follower_reads_a_long_rotated_file_to_its_end) {
  TempDir dir = testing::MakeTempDir();
  ContainerLog log(dir.path() + "/log", LogLimits{4 << 20, 2});
  int next = 0;
  auto append = [&](size_t bytes) {
    for (size_t written = 0; written < bytes; ++next) {
      LogEntry e{"2024-01-01T00:00:00.000000000Z", "stdout",
                 std::to_string(next) + std::string(1000, 'x') + "\n"};
      written += LogLine(e).size();
      BOOST_REQUIRE(log.AppendEntries({e}).ok());
    }
  };
  uint64_t offset = 0;
  append(3 << 20);
  BOOST_REQUIRE(log.Read(&offset).ok());  // the follower is in the file, a piece in
  append(2 << 20);                        // which then rotates
  BOOST_REQUIRE(::access((dir.path() + "/log.1").c_str(), F_OK) == 0);
  for (;;) {
    uint64_t before = offset;
    BOOST_REQUIRE(log.Read(&offset).ok());
    if (offset == before) break;
  }
  // Read again from the start, counting: every entry, in order.
  offset = 0;
  int seen = 0;
  bool in_order = true;
  for (;;) {
    uint64_t before = offset;
    auto piece = log.Read(&offset);
    BOOST_REQUIRE(piece.ok());
    for (const auto& e : *piece) in_order = in_order && std::stoi(e.log) == seen++;
    if (offset == before) break;
  }
  BOOST_TEST(in_order);
  BOOST_TEST(seen == next);
}
