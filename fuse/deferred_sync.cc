#include "fuse/deferred_sync.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/log.h"

namespace strata::fuse {

DeferredSync::DeferredSync(UniqueFd dir, std::string what)
    : fd_(std::move(dir)), what_(std::move(what)) {}

DeferredSync::~DeferredSync() {
  Status flushed = Flush();
  if (!flushed.ok()) LogWarning(flushed.error().message());
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

int DeferredSync::SyncNow() {
  if (!fd_) return EBADF;
  return ::syncfs(fd_.get()) == 0 ? 0 : errno;
}

void DeferredSync::Requested() {
  std::lock_guard lock(mu_);
  ++requested_;
  if (!worker_.joinable()) worker_ = std::thread([this] { Run(); });
  cv_.notify_all();
}

void DeferredSync::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || done_ < requested_; });
    if (stop_) return;
    // Let a burst of copy-ups gather into one flush.
    cv_.wait_for(lock, kDelay, [&] { return stop_; });
    if (stop_) return;  // the destructor has flushed
    uint64_t target = requested_;
    lock.unlock();
    int err = SyncNow();
    lock.lock();
    if (err != 0) {
      error_ = err;
      LogWarning("flushing copy-ups of " + what_ + ": " + std::strerror(err));
    }
    done_ = std::max(done_, target);
  }
}

Status DeferredSync::Flush() {
  uint64_t target;
  {
    std::lock_guard lock(mu_);
    if (done_ >= requested_ && error_ == 0) return Ok();
    target = requested_;
  }
  int err = SyncNow();
  std::lock_guard lock(mu_);
  if (err == 0) {
    done_ = std::max(done_, target);
    err = std::exchange(error_, 0);
  }
  if (err != 0) return Error(err, "flush copy-ups of " + what_);
  return Ok();
}

}  // namespace strata::fuse
