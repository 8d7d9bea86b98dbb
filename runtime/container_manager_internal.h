// The per-container object of ContainerManager, shared by its .cc files
// (container_manager.cc, container_lifecycle.cc, container_io.cc,
// container_commit.cc). Not for use outside them.
//
// Locks, in order: op_mu (one lifecycle operation at a time: start, stop,
// kill, pause, resume, rm, reset, commit) before mu (the state, for short
// sections; never held across a runtime call or a wait). The manager's
// mu_ may be taken while holding op_mu, never the other way round.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <string>

#include "common/unique_fd.h"
#include "runtime/child_reaper.h"
#include "runtime/container_log.h"
#include "runtime/container_manager.h"
#include "runtime/container_record.h"
#include "runtime/restart_policy.h"

namespace strata::runtime {

// env entries K=V; a later one replaces an earlier one with the same K.
void MergeEnv(std::vector<std::string>& env, const std::string& entry);

struct ContainerManager::Container {
  Container(ContainerConfig c, ContainerState s, std::string d)
      : config(std::move(c)),
        dir(std::move(d)),
        state(std::move(s)),
        log(std::make_unique<ContainerLog>(
            dir + "/log", LogLimits{static_cast<uint64_t>(config.log_max_size),
                                    static_cast<int>(config.log_max_files)})) {}

  const ContainerConfig config;  // fixed at create
  const std::string dir;         // <root>/containers/<id>

  std::timed_mutex op_mu;  // timed: the monitor's restart gives way to a stop

  std::mutex mu;
  std::condition_variable cv;                // state changes (exits, removal, restarts)
  ContainerState state;                      // guarded by mu
  uint64_t exits = 0;                        // guarded by mu: exits seen, for Wait and Stop
  int last_exit = 0;                         // guarded by mu: the exit code of exit number `exits`
  bool stop_requested = false;               // guarded by mu: no restart, end the backoff
  bool removed = false;                      // guarded by mu
  bool unlisted = false;                     // guarded by mu: removed from the lists (rm)
  bool monitoring = false;                   // guarded by mu: a monitor thread owns the run
  int log_readers = 0;  // guarded by mu: LogReaders (runs and followers reading the log)
  pid_t pid = 0;                             // guarded by mu: the init while it runs
  ChildReaper::Clock::time_point spawned{};  // guarded by mu: before create
  ChildReaper::Clock::time_point started{};  // guarded by mu: after start
  RestartBackoff backoff;                    // monitor thread only
  UniqueFd input;                            // guarded by mu: the run's stdin (-i) or terminal (-t)
  UniqueFd terminal;  // guarded by mu: the run's terminal master (-t), to resize

  const std::unique_ptr<ContainerLog> log;
  // Counts a reader of the log (an attached run, `logs`) until it has read
  // what it needs, or goes: a removal waits for the readers (bounded)
  // before the log file goes with the directory.
  class LogReader {
   public:
    explicit LogReader(Container& c) : c_(&c) {
      std::lock_guard lock(c.mu);
      ++c.log_readers;
    }
    ~LogReader() { Done(); }
    LogReader(const LogReader&) = delete;
    LogReader& operator=(const LogReader&) = delete;
    void Done() {
      if (c_ == nullptr) return;
      std::lock_guard lock(c_->mu);
      --c_->log_readers;
      c_->cv.notify_all();
      c_ = nullptr;
    }

   private:
    Container* c_;
  };

  // The root's warm-up after create (root_warmup.h): joined before the
  // upper is removed or replaced, and at the latest here.
  std::mutex warmup_mu;
  std::thread warmup;  // guarded by warmup_mu
  void JoinWarmUp() {
    std::lock_guard lock(warmup_mu);
    if (warmup.joinable()) warmup.join();
  }
  ~Container() { JoinWarmUp(); }

  std::string name() const { return config.name; }
  std::string upper_dir() const { return dir + "/upper"; }
  std::string work_dir() const { return dir + "/work"; }
  std::string bundle_dir() const { return dir + "/bundle"; }
  bool active() const {  // requires mu
    return state.status == ContainerStatus::kRunning || state.status == ContainerStatus::kPaused ||
           state.status == ContainerStatus::kRestarting;
  }
};

}  // namespace strata::runtime
