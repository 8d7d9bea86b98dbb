#include "monitor/upper_usage.h"

#include <utility>

namespace strata::monitor {

UpperUsage::UpperUsage(std::chrono::seconds refresh, uint64_t max_entries)
    : refresh_(refresh), max_entries_(max_entries), thread_([this] { Run(); }) {}

UpperUsage::~UpperUsage() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void UpperUsage::Track(const std::map<std::string, std::string>& uppers) {
  bool fresh = false;
  {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = uppers.count(it->first) ? std::next(it) : entries_.erase(it);
    }
    for (const auto& [id, dir] : uppers) {
      auto [it, inserted] = entries_.try_emplace(id);
      if (inserted) {
        it->second.dir = dir;
        fresh = true;
      }
    }
  }
  if (fresh) cv_.notify_all();
}

std::optional<UpperFigure> UpperUsage::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.figure;
}

void UpperUsage::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    // The stalest upper due for a walk, if any; else sleep until one is.
    auto now = std::chrono::steady_clock::now();
    std::string due;
    auto next = now + refresh_;
    for (const auto& [id, e] : entries_) {
      auto when = e.figure ? e.measured + refresh_ : now;
      if (when <= now) {
        due = id;
        break;
      }
      next = std::min(next, when);
    }
    if (due.empty()) {
      cv_.wait_until(lock, next);
      continue;
    }
    std::string dir = entries_[due].dir;
    lock.unlock();
    UpperFigure figure = runtime::MeasureTree(dir, max_entries_);
    lock.lock();
    if (auto it = entries_.find(due); it != entries_.end()) {
      it->second.figure = figure;
      it->second.measured = std::chrono::steady_clock::now();
    }
  }
}

}  // namespace strata::monitor
