#include "runtime/log_time.h"

#include <cstdio>
#include <ctime>
#include <limits>

namespace strata::runtime {

namespace {

using Clock = std::chrono::system_clock;
using std::chrono::nanoseconds;

Error Bad(std::string_view text) {
  return Error::Invalid("invalid time \"" + std::string(text) +
                        "\": expected a duration (10m, 1h30m), unix seconds or RFC 3339");
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Digits after a '.', as nanoseconds ("5" -> 500000000).
int64_t Fraction(std::string_view digits) {
  int64_t ns = 0;
  for (size_t i = 0; i < 9; ++i) ns = ns * 10 + (i < digits.size() ? digits[i] - '0' : 0);
  return ns;
}

// "1h30m", "90s", "2.5h": units h, m, s, ms.
bool ParseDuration(std::string_view s, nanoseconds* out) {
  if (s.empty()) return false;
  double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == 0 || i == s.size()) return false;
    double value = std::strtod(std::string(s.substr(0, i)).c_str(), nullptr);
    s.remove_prefix(i);
    double unit;
    if (s.rfind("ms", 0) == 0) {
      unit = 1e6;
      s.remove_prefix(2);
    } else if (s.front() == 'h' || s.front() == 'm' || s.front() == 's') {
      unit = s.front() == 'h' ? 3600e9 : s.front() == 'm' ? 60e9 : 1e9;
      s.remove_prefix(1);
    } else {
      return false;
    }
    total += value * unit;
  }
  if (total > 1e18) return false;
  *out = nanoseconds(static_cast<int64_t>(total));
  return true;
}

// YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
// Seconds since the epoch (negative before it) and nanoseconds.
bool ParseRfc3339(std::string_view s, int64_t* secs, int64_t* nanos) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return false;
  }
  auto num = [&](size_t pos, size_t len, int* v) {
    if (!AllDigits(s.substr(pos, len))) return false;
    *v = std::stoi(std::string(s.substr(pos, len)));
    return true;
  };
  struct tm tm {};
  int year, month;
  if (!num(0, 4, &year) || !num(5, 2, &month) || !num(8, 2, &tm.tm_mday) ||
      !num(11, 2, &tm.tm_hour) || !num(14, 2, &tm.tm_min) || !num(17, 2, &tm.tm_sec)) {
    return false;
  }
  if (month < 1 || month > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return false;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  std::string_view rest = s.substr(19);
  int64_t ns = 0;
  if (!rest.empty() && rest.front() == '.') {
    size_t i = 1;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
    if (i == 1) return false;
    ns = Fraction(rest.substr(1, i - 1));
    rest.remove_prefix(i);
  }
  int64_t offset = 0;
  if (rest == "Z" || rest == "z") {
    offset = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int h, m;
    if (!AllDigits(rest.substr(1, 2)) || !AllDigits(rest.substr(4, 2))) return false;
    h = std::stoi(std::string(rest.substr(1, 2)));
    m = std::stoi(std::string(rest.substr(4, 2)));
    if (h > 23 || m > 59) return false;
    offset = (rest[0] == '+' ? 1 : -1) * (h * 3600 + m * 60);
  } else {
    return false;
  }
  *secs = static_cast<int64_t>(::timegm(&tm)) - offset;
  *nanos = ns;
  return true;
}

}  // namespace

std::string FormatLogTime(Clock::time_point t) {
  auto since = t.time_since_epoch();
  auto secs = std::chrono::floor<std::chrono::seconds>(since);
  auto nanos = std::chrono::duration_cast<nanoseconds>(since - secs).count();
  std::time_t tt = static_cast<std::time_t>(secs.count());
  struct tm tm;
  ::gmtime_r(&tt, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%09lldZ", date, static_cast<long long>(nanos));
  return out;
}

Result<std::string> ParseLogTime(std::string_view text, Clock::time_point now) {
  // From the epoch (the stored form has no sign) to the last second the
  // clock's 64-bit nanoseconds hold (April 2262), checked in seconds before
  // any conversion can overflow.
  constexpr int64_t kLastSecond = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
  auto in_range = [&](int64_t secs, int64_t ns) -> Result<std::string> {
    if (secs < 0 || secs > kLastSecond) {
      return Error::Invalid("invalid time \"" + std::string(text) +
                            "\": out of range (1970 to 2262)");
    }
    return FormatLogTime(Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::seconds(secs) + nanoseconds(ns))));
  };
  nanoseconds back;
  if (ParseDuration(text, &back)) {
    const nanoseconds t = std::chrono::duration_cast<nanoseconds>(now.time_since_epoch()) - back;
    const auto secs = std::chrono::floor<std::chrono::seconds>(t);
    return in_range(secs.count(), (t - secs).count());
  }
  std::string_view whole = text.substr(0, text.find('.'));
  std::string_view frac = text.find('.') == std::string_view::npos
                              ? std::string_view()
                              : text.substr(text.find('.') + 1);
  if (AllDigits(whole) && whole.size() <= 12 &&
      (frac.empty() ? text.find('.') == std::string_view::npos : AllDigits(frac))) {
    return in_range(std::stoll(std::string(whole)), Fraction(frac));
  }
  int64_t secs, ns;
  if (ParseRfc3339(text, &secs, &ns)) return in_range(secs, ns);
  return Bad(text);
}

}  // namespace strata::runtime
