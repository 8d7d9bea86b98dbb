// WriteGate: the store-wide gate between work that adds references to
// content (imports, commits) and garbage collection.
//
// Writers hold it shared for their whole run, from the first object they
// write or dedup against to the index batch that names it; GC holds it
// exclusively from its mark to the end of its sweep. So a GC never sees an
// import half done: every object an import has deduped against is either
// named by the index when GC marks (the import committed first) or looked up
// again after GC has swept (the import started after). docs/store.md says
// why this was chosen over generation marks.
//
// Writer-preferring: once GC waits, new writers wait behind it, so a steady
// stream of imports cannot starve it; writers already running finish first.
// Not re-entrant: a holder must not take it again (a waiting GC in between
// would deadlock both).
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <condition_variable>
#include <mutex>

namespace strata::storage {

class WriteGate {
 public:
  // Shared side (Lockable names, so std::shared_lock works).
  void lock_shared() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !exclusive_ && exclusive_waiting_ == 0; });
    ++shared_;
  }
  void unlock_shared() {
    std::lock_guard lock(mu_);
    if (--shared_ == 0) cv_.notify_all();
  }
  // Exclusive side (std::unique_lock).
  void lock() {
    std::unique_lock lock(mu_);
    ++exclusive_waiting_;
    cv_.wait(lock, [&] { return !exclusive_ && shared_ == 0; });
    --exclusive_waiting_;
    exclusive_ = true;
  }
  void unlock() {
    std::lock_guard lock(mu_);
    exclusive_ = false;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int shared_ = 0;             // guarded by mu_
  int exclusive_waiting_ = 0;  // guarded by mu_
  bool exclusive_ = false;     // guarded by mu_
};

}  // namespace strata::storage
