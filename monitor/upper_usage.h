// UpperUsage: the disk usage of containers' writable layers (like du: the
// blocks of every file under the upper, hard links once), measured on a
// thread of its own so that a scrape never walks a tree.
//
// The collector tells it which uppers exist (Track) at each scrape and
// reads the last figures (Get). The thread measures new uppers promptly and
// every upper again once its figure is older than `refresh`; one walk stops
// after `max_entries` entries (the figure is then a lower bound, and says
// so). A walk does not cross into other mounts.
//
// Lifecycle: the thread starts in the constructor and is joined by the
// destructor. Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "runtime/tree_usage.h"

namespace strata::monitor {

// Walked by runtime::MeasureTree (its bounds, and what partial means).
using UpperFigure = runtime::TreeUsage;

class UpperUsage {
 public:
  UpperUsage(std::chrono::seconds refresh, uint64_t max_entries);
  ~UpperUsage();
  UpperUsage(const UpperUsage&) = delete;
  UpperUsage& operator=(const UpperUsage&) = delete;

  // The uppers to measure, by container ID -> directory; others are dropped.
  void Track(const std::map<std::string, std::string>& uppers);
  std::optional<UpperFigure> Get(const std::string& id) const;

 private:
  struct Entry {
    std::string dir;
    std::optional<UpperFigure> figure;
    std::chrono::steady_clock::time_point measured{};
  };
  void Run();

  const std::chrono::seconds refresh_;
  const uint64_t max_entries_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;  // guarded by mu_
  bool stop_ = false;                     // guarded by mu_
  std::thread thread_;
};

}  // namespace strata::monitor
