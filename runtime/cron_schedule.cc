#include "runtime/cron_schedule.h"

#include <date/date.h>
#include <date/tz.h>

#include <array>
#include <cctype>
#include <exception>

namespace strata::runtime {

namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

struct FieldSpec {
  const char* name;
  int min, max;
  const char* const* names;  // names[i] is value min + i; nullptr: numbers only
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",  "jul",
                                       "aug", "sep", "oct", "nov", "dec", nullptr};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", nullptr};

constexpr FieldSpec kFields[] = {
    {"minute", 0, 59, nullptr},       {"hour", 0, 23, nullptr},
    {"day of month", 1, 31, nullptr}, {"month", 1, 12, kMonthNames},
    {"day of week", 0, 7, kDayNames},
};

Error FieldError(const FieldSpec& f, const std::string& why) {
  return Error::Invalid(std::string(f.name) + ": " + why);
}

Result<int> ParseValue(const FieldSpec& f, std::string_view text) {
  if (text.empty()) return FieldError(f, "empty value");
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    int v = 0;
    for (char c : text) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || v > 1000) {
        return FieldError(f, "\"" + std::string(text) + "\" is not a number");
      }
      v = v * 10 + (c - '0');
    }
    if (v < f.min || v > f.max) {
      return FieldError(f, std::to_string(v) + " is out of range " + std::to_string(f.min) + "-" +
                               std::to_string(f.max));
    }
    return v;
  }
  if (f.names != nullptr) {
    std::string lower;
    for (char c : text)
      lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    int base = f.names == kMonthNames ? 1 : 0;
    for (int i = 0; f.names[i] != nullptr; ++i) {
      if (lower == f.names[i]) return base + i;
    }
  }
  return FieldError(f, "\"" + std::string(text) + "\" is not a valid value");
}

// One field: a comma-separated list of items. *star is whether it starts
// with '*' (Vixie's test for an unrestricted day field).
Result<uint64_t> ParseField(const FieldSpec& f, std::string_view text, bool* star) {
  *star = !text.empty() && text[0] == '*';
  uint64_t mask = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) return FieldError(f, "empty list item in \"" + std::string(text) + "\"");

    std::string_view base = item;
    int step = 0;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      std::string_view step_text = item.substr(slash + 1);
      step = 0;
      if (step_text.empty())
        return FieldError(f, "missing step after '/' in \"" + std::string(item) + "\"");
      for (char c : step_text) {
        if (!std::isdigit(static_cast<unsigned char>(c)) || step > 1000) {
          return FieldError(f, "step \"" + std::string(step_text) + "\" is not a number");
        }
        step = step * 10 + (c - '0');
      }
      if (step == 0) return FieldError(f, "step 0 in \"" + std::string(item) + "\"");
    }
    int lo, hi;
    if (base == "*") {
      lo = f.min;
      hi = f.max;
    } else if (size_t dash = base.find('-'); dash != std::string_view::npos) {
      ASSIGN_OR_RETURN(lo, ParseValue(f, base.substr(0, dash)));
      ASSIGN_OR_RETURN(hi, ParseValue(f, base.substr(dash + 1)));
      if (lo > hi) {
        return FieldError(f, "range \"" + std::string(base) + "\" goes backwards");
      }
    } else {
      ASSIGN_OR_RETURN(lo, ParseValue(f, base));
      hi = step > 0 ? f.max : lo;  // "N/S": from N to the end, as cronie
    }
    for (int v = lo; v <= hi; v += step > 0 ? step : 1) mask |= uint64_t{1} << v;
  }
  return mask;
}

std::vector<std::string_view> SplitFields(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    size_t end = pos;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    if (end > pos) out.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<seconds> ParseCronDuration(std::string_view text) {
  auto bad = [&] {
    return Error::Invalid("invalid duration \"" + std::string(text) +
                          "\" (e.g. 30s, 5m, 1h30m, 2d)");
  };
  if (text.empty()) return bad();
  int64_t total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    int64_t n = 0;
    size_t start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      n = n * 10 + (text[pos] - '0');
      if (n > 100'000'000) return bad();
      ++pos;
    }
    if (pos == start || pos == text.size()) return bad();
    int64_t unit;
    switch (text[pos]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return bad();
    }
    ++pos;
    total += n * unit;
    if (total > int64_t{100} * 365 * 86400) return bad();
  }
  if (total <= 0) {
    return Error::Invalid("invalid duration \"" + std::string(text) + "\": must be at least 1s");
  }
  return seconds(total);
}

Result<CronSchedule> CronSchedule::Parse(std::string_view expression, std::string_view tz) {
  CronSchedule s;
  std::string_view expr = Trim(expression);
  s.expression_ = std::string(expr);
  if (!tz.empty() && tz != "UTC" && tz != "Etc/UTC") {
    try {
      s.zone_ = date::locate_zone(tz);
    } catch (const std::exception&) {
      return Error::Invalid("unknown time zone \"" + std::string(tz) + "\"");
    }
    s.tz_ = std::string(tz);
  }
  if (expr.empty()) return Error::Invalid("empty schedule");

  std::string fields_text;
  if (expr[0] == '@') {
    std::vector<std::string_view> words = SplitFields(expr);
    std::string word;
    for (char c : words[0])
      word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (word == "@every") {
      if (words.size() != 2)
        return Error::Invalid("@every takes one duration (e.g. \"@every 30s\")");
      ASSIGN_OR_RETURN(s.interval_, ParseCronDuration(words[1]));
      return s;
    }
    if (words.size() != 1) return Error::Invalid(std::string(words[0]) + " takes no argument");
    static const std::array<std::pair<const char*, const char*>, 7> kMacros = {{
        {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
        {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},
        {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    }};
    for (const auto& [name, text] : kMacros) {
      if (word == name) fields_text = text;
    }
    if (fields_text.empty()) {
      return Error::Invalid("unknown macro \"" + std::string(words[0]) +
                            "\" (@yearly, @monthly, @weekly, @daily, @hourly, @every DURATION)");
    }
    expr = fields_text;
  }

  std::vector<std::string_view> fields = SplitFields(expr);
  if (fields.size() != 5) {
    return Error::Invalid("expected 5 fields (minute hour day-of-month month day-of-week), got " +
                          std::to_string(fields.size()));
  }
  bool star;
  ASSIGN_OR_RETURN(s.minutes_, ParseField(kFields[0], fields[0], &star));
  ASSIGN_OR_RETURN(s.hours_, ParseField(kFields[1], fields[1], &star));
  ASSIGN_OR_RETURN(s.days_, ParseField(kFields[2], fields[2], &s.dom_star_));
  ASSIGN_OR_RETURN(s.months_, ParseField(kFields[3], fields[3], &star));
  ASSIGN_OR_RETURN(uint64_t dow, ParseField(kFields[4], fields[4], &s.dow_star_));
  if (dow & (uint64_t{1} << 7)) dow = (dow | 1) & ~(uint64_t{1} << 7);  // 7 is Sunday too
  s.weekdays_ = dow;

  // From a leap year's start, 50 years cover every month/day combination.
  if (!s.Next(TimePoint(date::sys_days(date::year{2000} / 1 / 1).time_since_epoch()))) {
    return Error::Invalid("the days of month given never occur in the months given");
  }
  return s;
}

bool CronSchedule::DayMatches(unsigned day, unsigned weekday) const {
  bool dom = (days_ >> day) & 1;
  bool dow = (weekdays_ >> weekday) & 1;
  if (dom_star_ || dow_star_) return dom && dow;
  return dom || dow;
}

std::optional<CronSchedule::TimePoint> CronSchedule::Next(TimePoint after) const {
  if (is_interval()) return after + interval_;

  using LocalMinutes = date::local_time<minutes>;
  date::local_seconds local_after =
      zone_ != nullptr ? zone_->to_local(after) : date::local_seconds(after.time_since_epoch());
  LocalMinutes t = date::floor<minutes>(local_after) + minutes(1);
  const LocalMinutes limit = t + days(366 * 50);

  while (t < limit) {
    date::local_days day = date::floor<days>(t);
    date::year_month_day ymd(day);
    auto month = static_cast<unsigned>(ymd.month());
    if (!((months_ >> month) & 1)) {
      date::year_month next = date::year_month(ymd.year(), ymd.month()) + date::months(1);
      t = LocalMinutes(date::local_days(next / 1));
      continue;
    }
    if (!DayMatches(static_cast<unsigned>(ymd.day()), date::weekday(day).c_encoding())) {
      t = LocalMinutes(day + days(1));
      continue;
    }
    auto since_midnight = t - LocalMinutes(day);
    auto hour = static_cast<int>(date::floor<hours>(since_midnight).count());
    auto minute = static_cast<int>((since_midnight - hours(hour)).count());
    if (!((hours_ >> hour) & 1)) {
      t = LocalMinutes(day) + hours(hour + 1);
      continue;
    }
    if (!((minutes_ >> minute) & 1)) {
      t += minutes(1);
      continue;
    }
    TimePoint candidate;
    if (zone_ != nullptr) {
      // A skipped local time maps to the end of the gap, a repeated one to
      // its first occurrence; either may not be after `after`, then go on.
      candidate = date::floor<seconds>(
          zone_->to_sys(date::local_seconds(t.time_since_epoch()), date::choose::earliest));
    } else {
      candidate = TimePoint(t.time_since_epoch());
    }
    if (candidate > after) return candidate;
    t += minutes(1);
  }
  return std::nullopt;
}

}  // namespace strata::runtime
