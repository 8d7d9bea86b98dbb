// DeferredSync: the durability of a root's copy-ups, taken off the request
// path.
//
// A copy-up is built in work/ and renamed into the upper complete, so no
// process crash (of stratad or of anything else) ever shows a half copy;
// what is deferred is only the flush to disk. Each copy-up calls Requested();
// a worker thread then waits a short delay (so that a burst of copy-ups
// shares one flush) and calls syncfs on the upper's filesystem, which makes
// every copy made so far, and the renames that named them, durable. Until
// then a power loss may lose a just-copied file's content (about the delay,
// plus the time syncfs takes). Flush() does the same at once and returns
// when everything requested before it is durable: FUSE fsync and fsyncdir,
// and removing the root (unmount, container stop, commit, reset), call it.
//
// Thread safety: all methods may be called concurrently. The worker starts
// at the first request and ends with the object (which flushes first).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/result.h"
#include "common/unique_fd.h"

namespace strata::fuse {

class DeferredSync {
 public:
  static constexpr std::chrono::milliseconds kDelay{100};

  // dir: an open (not O_PATH) directory of the filesystem to flush; what
  // names it in errors.
  DeferredSync(UniqueFd dir, std::string what);
  ~DeferredSync();
  DeferredSync(const DeferredSync&) = delete;
  DeferredSync& operator=(const DeferredSync&) = delete;

  // Something was written that must become durable soon.
  void Requested();
  // Everything requested so far is durable when this returns Ok; an error
  // of a background flush since the last Flush is returned here too.
  Status Flush();

 private:
  void Run();
  // syncfs, with mu_ not held; returns errno or 0.
  int SyncNow();

  UniqueFd fd_;
  std::string what_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t requested_ = 0;  // guarded by mu_
  uint64_t done_ = 0;       // guarded by mu_: requests made durable
  int error_ = 0;           // guarded by mu_: errno of a failed background flush
  bool stop_ = false;       // guarded by mu_
  std::thread worker_;      // started under mu_
};

}  // namespace strata::fuse
