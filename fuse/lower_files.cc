#include "fuse/lower_files.h"

#include <fcntl.h>
#include <sys/resource.h>

#include <atomic>

namespace strata::fuse {

namespace {

// Descriptors the caches of all roots may still take.
std::atomic<int64_t>& Budget() {
  static std::atomic<int64_t> budget = [] {
    struct rlimit rl {};
    int64_t limit = 1024;
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      limit = static_cast<int64_t>(rl.rlim_cur);
    }
    return limit / 2;
  }();
  return budget;
}

}  // namespace

LowerFiles::~LowerFiles() {
  std::lock_guard lock(mu_);
  Budget().fetch_add(static_cast<int64_t>(fds_.size()));
}

UniqueFd LowerFiles::Dup(uint64_t ino) {
  std::lock_guard lock(mu_);
  auto it = fds_.find(ino);
  if (it == fds_.end()) return UniqueFd();
  return UniqueFd(::fcntl(it->second.get(), F_DUPFD_CLOEXEC, 0));
}

void LowerFiles::Add(uint64_t ino, int fd) {
  std::lock_guard lock(mu_);
  if (fds_.count(ino) != 0) return;
  if (Budget().fetch_sub(1) <= 0) {
    Budget().fetch_add(1);
    return;
  }
  UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy) {
    Budget().fetch_add(1);
    return;
  }
  fds_.emplace(ino, std::move(copy));
}

void LowerFiles::Remove(uint64_t ino) {
  std::lock_guard lock(mu_);
  if (fds_.erase(ino) != 0) Budget().fetch_add(1);
}

void LowerFiles::Clear() {
  std::lock_guard lock(mu_);
  Budget().fetch_add(static_cast<int64_t>(fds_.size()));
  fds_.clear();
}

}  // namespace strata::fuse
