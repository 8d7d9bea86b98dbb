// ContainerManager: logs and exec.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <optional>

#include "common/log.h"
#include "runtime/bundle.h"
#include "runtime/container_manager.h"
#include "runtime/container_manager_internal.h"
#include "runtime/process_tree.h"
#include "runtime/root_lookups.h"

namespace strata::runtime {

using namespace std::chrono_literals;

Status ContainerManager::Logs(const std::string& ref, const LogsOptions& options,
                              const std::function<bool(const LogEntry&)>& sink) {
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  // A follower of a --rm container reads to the end before the log goes.
  Container::LogReader reader(*c);
  uint64_t offset = 0;
  auto too_old = [&](const LogEntry& e) { return e.time < options.since; };
  // The log is as large as the container made it: entries go to the sink
  // as they are read, and only a --tail's worth is kept. With --since the
  // time filter comes first, then the tail, as Docker's.
  if (options.tail == 0) {
    RETURN_IF_ERROR(c->log->Tail(0, &offset));
  } else if (options.tail < 0) {
    bool stopped = false;
    RETURN_IF_ERROR(c->log->ForEach(
        [&](const LogEntry& e) {
          if (too_old(e)) return true;
          stopped = !sink(e);
          return !stopped;
        },
        &offset));
    if (stopped) return Ok();
  } else {
    std::deque<LogEntry> last;
    RETURN_IF_ERROR(c->log->ForEach(
        [&](const LogEntry& e) {
          if (too_old(e)) return true;
          last.push_back(e);
          if (last.size() > static_cast<size_t>(options.tail)) last.pop_front();
          return true;
        },
        &offset));
    for (const auto& e : last) {
      if (!sink(e)) return Ok();
    }
  }
  if (!options.follow) return Ok();
  // What was written since, a bounded piece at a time; false once the sink
  // wants no more.
  auto drain = [&]() -> Result<bool> {
    for (;;) {
      uint64_t before = offset;
      ASSIGN_OR_RETURN(std::vector<LogEntry> entries, c->log->Read(&offset));
      for (const auto& e : entries) {
        if (!too_old(e) && !sink(e)) return false;
      }
      if (offset == before) return true;
    }
  };
  for (;;) {
    uint64_t version = c->log->version();
    bool done;
    {
      std::lock_guard lock(c->mu);
      done = c->removed || shutting_down_ || (!c->active() && !c->monitoring);
    }
    done = done && !c->log->pumping();
    ASSIGN_OR_RETURN(bool more, drain());
    if (!more || done) return Ok();
    c->log->WaitForChange(version, 1s);
  }
}

Result<int> ContainerManager::StartAttached(const std::string& ref,
                                            const std::function<bool(const LogEntry&)>& sink) {
  if (shutting_down_) return Error(ESHUTDOWN, "stratad is shutting down");
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  uint64_t seen;
  uint64_t offset = 0;
  // A reader of the log until it has read the run's output to the end: an
  // auto-removal waits for that before the log file goes.
  std::optional<Container::LogReader> reader;
  {
    std::lock_guard op(c->op_mu);
    {
      std::lock_guard lock(c->mu);
      if (c->active()) return Error(EBUSY, "container " + c->name() + " is already running");
      seen = c->exits;
    }
    reader.emplace(*c);
    // Only this run's output: from the log's current end.
    (void)c->log->Tail(0, &offset);
    RETURN_IF_ERROR(StartLocked(c, true));
  }
  for (;;) {
    uint64_t version = c->log->version();
    bool exited;
    int code = 0;
    {
      std::lock_guard lock(c->mu);
      exited = c->exits != seen || c->removed || shutting_down_;
      code = c->exits != seen ? c->last_exit : c->state.exit_code;
    }
    // The monitor counts the exit only after the run's pump has finished,
    // so everything the run wrote is in the file by now. Read gives a
    // bounded piece: again until the offset stops moving.
    for (;;) {
      uint64_t before = offset;
      ASSIGN_OR_RETURN(std::vector<LogEntry> entries, c->log->Read(&offset));
      for (const auto& e : entries) {
        if (!sink(e)) return -1;
      }
      if (offset == before) break;
    }
    if (exited) {
      reader->Done();
      WaitUnlistedIfAutoRemoved(c);
      return code;
    }
    c->log->WaitForChange(version, 1s);
  }
}

Result<ExecProcess> ContainerManager::PrepareExec(const ContainerPtr& c,
                                                  const ExecRequest& request) {
  if (request.cmd.empty()) return Error::Invalid("exec: no command given");
  {
    std::lock_guard lock(c->mu);
    if (c->state.status == ContainerStatus::kPaused) {
      return Error(EBUSY, "container " + c->name() + " is paused: resume it first");
    }
    if (c->state.status != ContainerStatus::kRunning) {
      return Error(EBUSY, "container " + c->name() + " is not running");
    }
  }
  for (const auto& e : request.env) {
    if (e.empty() || e.front() == '=' || e.find('=') == std::string::npos) {
      return Error::Invalid("invalid environment variable \"" + e + "\" (K=V)");
    }
  }
  if (!request.workdir.empty() && request.workdir.front() != '/') {
    return Error::Invalid("the working directory \"" + request.workdir +
                          "\" is invalid: it needs to be an absolute path");
  }
  ExecProcess process;
  process.args = request.cmd;
  // The whole environment, not only the additions: runc merges --env into
  // the container's, crun replaces it (and then finds no PATH).
  process.env = c->config.env;
  for (const auto& e : request.env) MergeEnv(process.env, e);
  process.cwd = request.workdir.empty() ? c->config.workdir : request.workdir;
  if (request.tty) {
    bool has_term = false;
    for (const auto& e : process.env) has_term = has_term || e.rfind("TERM=", 0) == 0;
    if (!has_term) process.env.push_back("TERM=xterm");
  }
  if (!request.user.empty()) {
    std::string root = fuse_.PathOf(fuse::FuseServer::kContainers, c->config.id);
    ASSIGN_OR_RETURN(RootLookups looked, LookUpInRoot(reaper_, root, request.user, {}));
    process.user = std::to_string(looked.user.uid) + ":" + std::to_string(looked.user.gid);
  }
  return process;
}

Status ContainerManager::AppendLog(const std::string& ref, const std::vector<LogEntry>& entries) {
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  return c->log->AppendEntries(entries);
}

Result<int> ContainerManager::Exec(const std::string& ref, const ExecRequest& request,
                                   const OutputSink& sink) {
  if (request.tty || request.interactive) {
    return Error::Invalid("exec with a terminal or stdin needs an attached session");
  }
  ASSIGN_OR_RETURN(ContainerPtr c, Find(ref));
  ASSIGN_OR_RETURN(ExecProcess process, PrepareExec(c, request));

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
  auto since = ChildReaper::Clock::now();
  ASSIGN_OR_RETURN(pid_t pid,
                   runtime_.SpawnExec(c->config.id, process, {-1, out_w.get(), err_w.get()}));
  out_w.reset();
  err_w.reset();

  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  const char* names[2] = {"stdout", "stderr"};
  int open = 2;
  char buf[32768];
  auto deadline = std::chrono::steady_clock::now() + request.timeout;
  bool timed_out = false;
  while (open > 0) {
    int wait_ms = -1;
    if (request.timeout.count() > 0) {
      // Past the deadline, kill again now and then: a process forked while
      // the tree was being killed would keep the pipes open.
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                               std::chrono::steady_clock::now());
      wait_ms = timed_out ? 200 : static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    int ready = ::poll(fds, 2, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (ready == 0) {
      timed_out = true;
      KillProcessTree(pid, SIGKILL);
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sink(names[i], std::string_view(buf, static_cast<size_t>(n)));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open;
      }
    }
  }
  int status = reaper_.Wait(pid, std::nullopt, since).value_or(0);
  if (timed_out) {
    return Error(ETIMEDOUT, "timed out after " + std::to_string(request.timeout.count() / 1000) +
                                " s: killed");
  }
  return ChildReaper::ExitCode(status);
}

}  // namespace strata::runtime
