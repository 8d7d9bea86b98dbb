#include "monitor/low_space.h"

#include <cstdlib>

namespace strata::monitor {

std::optional<double> ParsePercent(const std::string& text) {
  std::string t = text;
  if (!t.empty() && t.back() == '%') t.pop_back();
  if (t.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end == t.c_str() || *end != '\0' || !(v >= 0 && v <= 100)) return std::nullopt;
  return v;
}

bool IsLow(uint64_t avail, uint64_t size, double percent) {
  if (size == 0) return false;
  return static_cast<double>(avail) * 100.0 < percent * static_cast<double>(size);
}

LowSpaceTracker::Change LowSpaceTracker::Update(const std::string& key, bool low) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = states_.try_emplace(key);
  State& s = it->second;
  s.seen = true;
  if (s.low == low) return Change::kNone;
  s.low = low;
  return low ? Change::kWentLow : Change::kRecovered;
}

void LowSpaceTracker::Sweep() {
  std::lock_guard lock(mu_);
  for (auto it = states_.begin(); it != states_.end();) {
    if (!it->second.seen) {
      it = states_.erase(it);
    } else {
      it->second.seen = false;
      ++it;
    }
  }
}

}  // namespace strata::monitor
