// ChildReaper: stratad's child processes, spawned and reaped in one place.
//
// stratad is a child subreaper (PR_SET_CHILD_SUBREAPER): a container's init,
// which `runtime create` forks and leaves behind, becomes stratad's child
// when the runtime exits, so stratad learns its exit status as a shim would.
// Every child, spawned here or inherited that way, is reaped by one thread
// (waitpid(-1)); callers collect statuses with Wait(). Nothing else in the
// process may call wait*() on a child.
//
// Exits nobody has asked for yet are kept (a container's init may exit
// before its pid is known); they are dropped after five minutes. Because a
// pid can be reused, Wait(pid, since) takes only an exit reaped at or after
// `since` (the time the caller started the process).
//
// Spawned processes get /dev/null for the standard streams not given, no
// other descriptor of stratad, default signal dispositions and an empty
// signal mask, and a session of their own (so a terminal's ^C at a
// foreground stratad reaches only stratad).
//
// Lifecycle: Start() once per process; the destructor stops the reaping
// thread (children still running are left alone; init reaps them).
// Thread safety: Spawn and Wait may be called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"

namespace strata::runtime {

class ChildReaper {
 public:
  using Clock = std::chrono::steady_clock;

  struct SpawnOptions {
    std::vector<std::string> argv;  // argv[0] without '/' is looked up in PATH
    int stdin_fd = -1;              // -1: /dev/null
    int stdout_fd = -1;
    int stderr_fd = -1;
  };

  // Makes the process a child subreaper and starts the reaping thread.
  static Result<std::unique_ptr<ChildReaper>> Start();
  ~ChildReaper();
  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;

  Result<pid_t> Spawn(const SpawnOptions& options);
  // Runs body in a forked child, which then exits (0), for work that must
  // not run in stratad's own process: a system call on stratad's own FUSE
  // mount waits uninterruptibly for the session's answer once the session
  // has read the request, so a thread caught in one when stratad is killed
  // keeps the process, and with it /dev/fuse (whose closing would abort
  // the request), alive for ever. The child closes every inherited
  // descriptor first but pass_fd, which it gets as descriptor 3, and has
  // only the forking thread: body must not take locks that other threads
  // of stratad may hold (glibc resets malloc's).
  Result<pid_t> Fork(const std::function<void()>& body, int pass_fd = -1);
  // Runs body in a child as Fork does and returns what it returned (a value
  // or an error with its errno and message), passed back through a pipe.
  // When timeout passes first, the child is killed and the result is
  // ETIMEDOUT.
  Result<std::string> Call(const std::function<Result<std::string>()>& body,
                           std::chrono::milliseconds timeout);

  // The raw wait status of pid once it has exited (reaped at or after
  // since); nullopt when timeout passes first. Each exit is returned once.
  std::optional<int> Wait(pid_t pid, std::optional<std::chrono::milliseconds> timeout = {},
                          Clock::time_point since = {});

  // Spawns and waits: the exit code (128 + signal for a signal) and what the
  // process wrote on stdout and stderr (each cut at 1 MiB).
  struct Output {
    int exit_code = 0;
    std::string out;
    std::string err;
  };
  Result<Output> Run(const std::vector<std::string>& argv, int stdin_fd = -1);

  // The exit code a shell reports for a wait status.
  static int ExitCode(int wait_status);

 private:
  ChildReaper() = default;
  void Loop();

  struct Exit {
    int status;
    Clock::time_point at;
  };
  std::mutex mu_;
  std::condition_variable exited_cv_;  // an exit was recorded
  std::condition_variable spawn_cv_;   // a child was spawned (the loop had none)
  std::multimap<pid_t, Exit> exits_;   // guarded by mu_
  bool spawned_ = false;               // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
  bool loop_done_ = false;             // guarded by mu_
  std::thread thread_;
};

}  // namespace strata::runtime
