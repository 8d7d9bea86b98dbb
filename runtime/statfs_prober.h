// StatfsProber: statvfs(2) of many paths with a deadline, so that a hung
// filesystem (a FUSE server that never answers, a dead NFS server) never
// blocks the caller (a metrics scrape, a read of /run/strata/volumes).
//
// Each path is probed on a worker thread; Probe() waits for all of them
// until the deadline and reports the ones still pending as timed out. A
// worker stuck in the kernel stays stuck (statvfs cannot be cancelled): the
// prober remembers its path as hung and, until that call returns, answers
// "timed out" for the path at once instead of sending another thread into
// it. So at most one thread per hung path is lost, and a hung path costs
// later probes nothing. Workers beyond the base number (and those freed by
// a hung path that came back) end after a minute idle.
//
// Lifecycle: workers are detached and share the prober's state; destroying
// the prober stops the idle ones, and a stuck one ends whenever its call
// returns.
//
// Thread safety: Probe() may be called from several threads at once.
#pragma once

#include <sys/statvfs.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace strata::runtime {

struct StatfsResult {
  enum class Outcome { kOk, kError, kTimeout };
  Outcome outcome = Outcome::kTimeout;
  int error = 0;  // kError: errno
  struct statvfs st {};

  bool ok() const { return outcome == Outcome::kOk; }
};

class StatfsProber {
 public:
  // workers: threads kept to probe in parallel (more are started for as
  // long as others are stuck).
  explicit StatfsProber(int workers = 4);
  ~StatfsProber();
  StatfsProber(const StatfsProber&) = delete;
  StatfsProber& operator=(const StatfsProber&) = delete;

  // One result per path, in order, within about timeout. A path
  // /proc/PID/root/REST is resolved inside that process's root (its
  // symlinks name paths in it), not followed out of it as the kernel would.
  std::vector<StatfsResult> Probe(const std::vector<std::string>& paths,
                                  std::chrono::milliseconds timeout);

  // Paths whose probe has not returned (for tests and logs).
  size_t hung() const;

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace strata::runtime
