#include "runtime/cli_format.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include <boost/json.hpp>

namespace strata::runtime {
namespace json = boost::json;

namespace {

// Code points in a UTF-8 string (continuation bytes are not counted).
size_t DisplayWidth(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool ReadDigits(std::string_view& s, size_t count, int* out) {
  if (s.size() < count) return false;
  int v = 0;
  for (size_t i = 0; i < count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  s.remove_prefix(count);
  return true;
}

bool Expect(std::string_view& s, std::string_view any_of) {
  if (s.empty() || any_of.find(s.front()) == std::string_view::npos) return false;
  s.remove_prefix(1);
  return true;
}

void Pretty(const json::value& v, int depth, std::string& out) {
  auto indent = [&out](int d) { out.append(static_cast<size_t>(d) * 4, ' '); };
  switch (v.kind()) {
    case json::kind::object: {
      const json::object& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (const auto& member : o) {
        if (!first) out += ",\n";
        first = false;
        indent(depth + 1);
        out += json::serialize(json::string(member.key()));
        out += ": ";
        Pretty(member.value(), depth + 1, out);
      }
      out += "\n";
      indent(depth);
      out += "}";
      return;
    }
    case json::kind::array: {
      const json::array& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (size_t i = 0; i < a.size(); ++i) {
        if (i > 0) out += ",\n";
        indent(depth + 1);
        Pretty(a[i], depth + 1, out);
      }
      out += "\n";
      indent(depth);
      out += "]";
      return;
    }
    default:
      out += json::serialize(v);
  }
}

}  // namespace

std::string HumanSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  constexpr size_t kLast = sizeof kUnits / sizeof kUnits[0] - 1;
  double size = static_cast<double>(bytes);
  size_t unit = 0;
  // 999.6kB would print as "1e+03kB" with three digits: move up a unit.
  while ((size >= 1000 || (unit > 0 && size >= 999.5)) && unit < kLast) {
    size /= 1000;
    ++unit;
  }
  if (unit == 0) return std::to_string(bytes) + "B";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g%s", size, kUnits[unit]);
  return buf;
}

std::string HumanDuration(int64_t seconds) {
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return std::to_string(seconds) + " seconds";
  int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return std::to_string(minutes) + " minutes";
  int64_t hours = (seconds + 1800) / 3600;  // rounded, as Docker does
  if (hours == 1) return "About an hour";
  if (hours < 48) return std::to_string(hours) + " hours";
  if (hours < 24 * 7 * 2) return std::to_string(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return std::to_string(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24 / 30) + " months";
  return std::to_string(seconds / 3600 / 24 / 365) + " years";
}

std::optional<int64_t> ParseRfc3339(std::string_view s) {
  struct tm tm {};
  int year, mon, day, hour, min, sec;
  if (!ReadDigits(s, 4, &year) || !Expect(s, "-") || !ReadDigits(s, 2, &mon) || !Expect(s, "-") ||
      !ReadDigits(s, 2, &day) || !Expect(s, "Tt ") || !ReadDigits(s, 2, &hour) || !Expect(s, ":") ||
      !ReadDigits(s, 2, &min) || !Expect(s, ":") || !ReadDigits(s, 2, &sec)) {
    return std::nullopt;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
    return std::nullopt;
  }
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    size_t digits = 0;
    while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
      s.remove_prefix(1);
      ++digits;
    }
    if (digits == 0) return std::nullopt;
  }
  int64_t offset = 0;
  if (Expect(s, "Zz")) {
    // UTC
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    int sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh, om;
    if (!ReadDigits(s, 2, &oh) || !Expect(s, ":") || !ReadDigits(s, 2, &om)) return std::nullopt;
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (!s.empty()) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

std::string TimeAgo(std::string_view created, int64_t now) {
  std::optional<int64_t> t = ParseRfc3339(created);
  if (!t) return "N/A";
  return HumanDuration(now - *t) + " ago";
}

std::string ShortId(std::string_view id) {
  if (id.substr(0, 7) == "sha256:") id.remove_prefix(7);
  return std::string(id.substr(0, 12));
}

std::pair<std::string, std::string> SplitTag(std::string_view tag) {
  size_t slash = tag.rfind('/');
  size_t colon = tag.rfind(':');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash)) {
    return {std::string(tag), "<none>"};
  }
  return {std::string(tag.substr(0, colon)), std::string(tag.substr(colon + 1))};
}

std::string Truncate(std::string_view text, size_t width) {
  if (DisplayWidth(text) <= width) return std::string(text);
  if (width == 0) return "";
  std::string out;
  size_t points = 0;
  for (char c : text) {
    bool starts_point = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (starts_point && ++points > width - 1) break;
    out.push_back(c);
  }
  return out + "…";
}

std::string PrettyJson(const json::value& value) {
  std::string out;
  Pretty(value, 0, out);
  out.push_back('\n');
  return out;
}

Table::Table(std::vector<std::string> headers) { rows_.push_back(std::move(headers)); }

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(std::max(cells.size(), rows_[0].size()));
  rows_.push_back(std::move(cells));
}

std::string Table::Render() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - DisplayWidth(row[i]) + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out.push_back('\n');
  }
  return out;
}

}  // namespace strata::runtime
