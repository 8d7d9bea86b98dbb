#include "runtime/child_reaper.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/fs.h"
#include "common/log.h"
#include "common/unique_fd.h"

extern char** environ;

namespace strata::runtime {

namespace {

// Interrupts the reaping thread's waitpid (installed without SA_RESTART).
constexpr int kWakeSignal = SIGUSR1;
void NoOp(int) {}

constexpr auto kKeepUnclaimed = std::chrono::minutes(5);
constexpr size_t kMaxCapture = 1 << 20;

}  // namespace

Result<std::unique_ptr<ChildReaper>> ChildReaper::Start() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return Error::FromErrno("become a child subreaper");
  }
  struct sigaction sa {};
  sa.sa_handler = NoOp;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: waitpid must return EINTR
  if (::sigaction(kWakeSignal, &sa, nullptr) != 0) return Error::FromErrno("sigaction");
  std::unique_ptr<ChildReaper> reaper(new ChildReaper());
  reaper->thread_ = std::thread([r = reaper.get()] { r->Loop(); });
  return reaper;
}

ChildReaper::~ChildReaper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  spawn_cv_.notify_all();
  // The signal may arrive before the thread enters waitpid: repeat until
  // it has seen stopping_.
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (loop_done_) break;
    }
    ::pthread_kill(thread_.native_handle(), kWakeSignal);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  thread_.join();
}

void ChildReaper::Loop() {
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, kWakeSignal);
  ::pthread_sigmask(SIG_UNBLOCK, &wake, nullptr);
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        loop_done_ = true;
        return;
      }
    }
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, __WALL);
    if (pid > 0) {
      auto now = Clock::now();
      std::lock_guard lock(mu_);
      for (auto it = exits_.begin(); it != exits_.end();) {
        it = now - it->second.at > kKeepUnclaimed ? exits_.erase(it) : std::next(it);
      }
      exits_.emplace(pid, Exit{status, now});
      exited_cv_.notify_all();
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != ECHILD) {
      LogError(std::string("reaper: waitpid: ") + std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    // No child at all: sleep until one is spawned (orphans are handed to us
    // only by children we have, so nothing is missed).
    std::unique_lock lock(mu_);
    spawn_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return spawned_ || stopping_; });
    spawned_ = false;
  }
}

Result<pid_t> ChildReaper::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return Error::Invalid("spawn: empty command");
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attr);
  struct Cleanup {
    posix_spawn_file_actions_t* a;
    posix_spawnattr_t* t;
    ~Cleanup() {
      ::posix_spawn_file_actions_destroy(a);
      ::posix_spawnattr_destroy(t);
    }
  } cleanup{&actions, &attr};

  // A given fd among 0..2 could be overwritten by an earlier dup2 onto
  // 0..2: spawn from a copy above them instead.
  int fds[3] = {options.stdin_fd, options.stdout_fd, options.stderr_fd};
  UniqueFd copies[3];
  for (int i = 0; i < 3; ++i) {
    if (fds[i] >= 0 && fds[i] <= 2) {
      copies[i].reset(::fcntl(fds[i], F_DUPFD_CLOEXEC, 3));
      if (!copies[i]) return Error::FromErrno("dup");
      fds[i] = copies[i].get();
    }
  }
  for (int i = 0; i < 3; ++i) {
    if (fds[i] >= 0) {
      ::posix_spawn_file_actions_adddup2(&actions, fds[i], i);
    } else {
      ::posix_spawn_file_actions_addopen(&actions, i, "/dev/null", O_RDWR, 0);
    }
  }
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);

  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
    sigaddset(&defaults, sig);
  }
  ::posix_spawnattr_setsigmask(&attr, &empty);
  ::posix_spawnattr_setsigdefault(&attr, &defaults);
  ::posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);

  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  int err = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  if (err != 0) return Error::FromErrno("run " + options.argv[0], err);
  {
    std::lock_guard lock(mu_);
    spawned_ = true;
  }
  spawn_cv_.notify_all();
  return pid;
}

Result<pid_t> ChildReaper::Fork(const std::function<void()>& body, int pass_fd) {
  pid_t pid = ::fork();
  if (pid < 0) return Error::FromErrno("fork");
  if (pid == 0) {
    if (pass_fd >= 0) {
      if (pass_fd != 3 && ::dup2(pass_fd, 3) != 3) ::_exit(127);
      ::close_range(4, ~0U, 0);
    } else {
      ::close_range(3, ~0U, 0);
    }
    body();
    ::_exit(0);
  }
  {
    std::lock_guard lock(mu_);
    spawned_ = true;
  }
  spawn_cv_.notify_all();
  return pid;
}

namespace {

// Everything fd gives until EOF, or ETIMEDOUT at deadline.
Result<std::string> ReadUntilEof(int fd, ChildReaper::Clock::time_point deadline) {
  std::string text;
  char buf[16384];
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ChildReaper::Clock::now());
    if (left.count() <= 0) return Error(ETIMEDOUT, "no answer from the child");
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return Error::FromErrno("poll");
    if (ready <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("read");
    }
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

Result<std::string> ChildReaper::Call(const std::function<Result<std::string>()>& body,
                                      std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  const auto since = Clock::now();
  // The answer: 'V' and the value, or 'E', the errno, '\n' and the message.
  auto pid = Fork(
      [&] {
        Result<std::string> r = body();
        std::string answer =
            r.ok() ? "V" + *r : "E" + std::to_string(r.error().code()) + "\n" + r.error().message();
        if (!WriteAll(3, answer).ok()) ::_exit(1);
      },
      write_end.get());
  if (!pid.ok()) return pid.error();
  write_end.reset();
  auto answer = ReadUntilEof(read_end.get(), since + timeout);
  if (!answer.ok()) ::kill(*pid, SIGKILL);
  auto status = Wait(*pid, timeout, since);
  if (!answer.ok()) return answer.error();
  if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0 || answer->empty()) {
    return Error(EIO, "the child process failed (" +
                          (status ? "exit " + std::to_string(ExitCode(*status))
                                  : std::string("did not exit")) +
                          ")");
  }
  if ((*answer)[0] == 'V') return answer->substr(1);
  size_t nl = answer->find('\n');
  int err =
      std::atoi(answer->substr(1, nl == std::string::npos ? std::string::npos : nl - 1).c_str());
  return Error(err, nl == std::string::npos ? std::string() : answer->substr(nl + 1));
}

std::optional<int> ChildReaper::Wait(pid_t pid, std::optional<std::chrono::milliseconds> timeout,
                                     Clock::time_point since) {
  std::unique_lock lock(mu_);
  std::optional<int> status;
  auto take = [&] {
    auto range = exits_.equal_range(pid);
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second.at >= since) {
        status = it->second.status;
        exits_.erase(it);
        return true;
      }
    }
    return false;
  };
  if (timeout) {
    exited_cv_.wait_for(lock, *timeout, take);
  } else {
    exited_cv_.wait(lock, take);
  }
  return status;
}

int ChildReaper::ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

Result<ChildReaper::Output> ChildReaper::Run(const std::vector<std::string>& argv, int stdin_fd) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
  auto since = Clock::now();
  ASSIGN_OR_RETURN(pid_t pid, Spawn({argv, stdin_fd, out_w.get(), err_w.get()}));
  out_w.reset();
  err_w.reset();

  Output output;
  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  std::string* sinks[2] = {&output.out, &output.err};
  int open = 2;
  char buf[16384];
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        if (sinks[i]->size() < kMaxCapture) sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open;
      }
    }
  }
  std::optional<int> status = Wait(pid, std::nullopt, since);
  output.exit_code = ExitCode(status.value_or(0));
  return output;
}

}  // namespace strata::runtime
