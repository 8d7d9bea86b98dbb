// How `strata` presents what stratad returns: sizes, ages, IDs, tables and
// JSON, in the style a Docker user expects. Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace strata::runtime {

// SI units with three significant digits, as `docker image ls` shows them:
// 0 -> "0B", 999 -> "999B", 1500 -> "1.5kB", 4261888 -> "4.26MB".
std::string HumanSize(uint64_t bytes);

// A duration in words, as Docker's CREATED column: "Less than a second",
// "5 seconds", "About a minute", "3 minutes", "About an hour", "47 hours",
// "13 days", "8 weeks", "23 months", "2 years".
std::string HumanDuration(int64_t seconds);

// Parses an RFC 3339 timestamp ("2023-05-19T20:19:28.123456789Z",
// "2023-05-19T22:19:28+02:00") to unix seconds.
std::optional<int64_t> ParseRfc3339(std::string_view text);

// "3 weeks ago" for a timestamp relative to now (unix seconds); "N/A" when
// created is empty or not RFC 3339.
std::string TimeAgo(std::string_view created, int64_t now);

// The 12-hex-digit short form of an image ID ("sha256:" stripped).
std::string ShortId(std::string_view id);

// "localhost:5000/app:v2" -> {"localhost:5000/app", "v2"}; a name without a
// tag gets "<none>".
std::pair<std::string, std::string> SplitTag(std::string_view tag);

// Shortens text to at most width characters (UTF-8 aware), ending in "…".
std::string Truncate(std::string_view text, size_t width);

// JSON indented by four spaces per level, with a final newline, as
// `docker inspect` prints it.
std::string PrettyJson(const boost::json::value& value);

// Columns separated by at least three spaces, left-aligned, headers first.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  // Rows shorter than the header are padded with empty cells.
  void AddRow(std::vector<std::string> cells);
  // Every line ends with '\n'; trailing spaces are trimmed.
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;  // rows_[0] is the header
};

}  // namespace strata::runtime
