// LowSpace: whether a volume is low on space (its available bytes below a
// percentage of its size), remembered per volume so that each crossing is
// reported once: when it goes low, and when it recovers.
//
// Thread safety: Update may be called from several threads (a mutex).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace strata::monitor {

// "5", "5%", "2.5" -> percent in [0, 100]; nullopt when malformed.
std::optional<double> ParsePercent(const std::string& text);

// Whether avail is below percent of size (a size of 0 is never low).
bool IsLow(uint64_t avail, uint64_t size, double percent);

class LowSpaceTracker {
 public:
  enum class Change { kNone, kWentLow, kRecovered };

  // Records the volume's state; the change since the last call for key
  // (a first call that finds it low is kWentLow).
  Change Update(const std::string& key, bool low);
  // Forgets keys not updated since the last Sweep (volumes gone).
  void Sweep();

 private:
  struct State {
    bool low = false;
    bool seen = false;
  };
  std::mutex mu_;
  std::map<std::string, State> states_;  // guarded by mu_
};

}  // namespace strata::monitor
