#include "runtime/statfs_prober.h"

#include <fcntl.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>

#include "common/unique_fd.h"
#include "runtime/oci/path_in_root.h"

namespace strata::runtime {

namespace {

struct Job {
  std::string path;
  bool started = false;  // guarded by Shared::mu
  bool done = false;     // guarded by Shared::mu
  StatfsResult result;   // guarded by Shared::mu once done
};

constexpr auto kIdleExit = std::chrono::seconds(60);

// statvfs(2) of path, where /proc/PID/root/REST is resolved inside that
// process's root: through the magic link, the kernel resolves an absolute
// symlink on the way against stratad's own root, so a container could
// have any host path measured (a tmpfs volume's site is such a path).
int Statvfs(const std::string& path, struct statvfs* st) {
  constexpr std::string_view kProc = "/proc/", kRoot = "/root";
  const size_t digits = path.find_first_not_of("0123456789", kProc.size());
  const size_t rest = digits + kRoot.size();
  if (!path.starts_with(kProc) || digits == kProc.size() || digits == std::string::npos ||
      path.compare(digits, kRoot.size(), kRoot) != 0 || (rest < path.size() && path[rest] != '/')) {
    return ::statvfs(path.c_str(), st);
  }
  UniqueFd root(::open(path.substr(0, rest).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return -1;
  auto fd = oci::OpenInRoot(root.get(), std::string_view(path).substr(rest));
  if (!fd.ok()) {
    errno = fd.error().code();
    return -1;
  }
  return ::fstatvfs(fd->get(), st);
}

}  // namespace

struct StatfsProber::Shared {
  std::mutex mu;
  std::condition_variable work_cv;  // a job was queued, or stop
  std::condition_variable done_cv;  // a job finished
  std::deque<std::shared_ptr<Job>> queue;
  std::map<std::string, std::shared_ptr<Job>> hung;  // path -> its pending probe
  int base_workers = 4;
  int threads = 0;
  int idle = 0;
  bool stop = false;

  static void Work(std::shared_ptr<Shared> self) {
    std::unique_lock lock(self->mu);
    for (;;) {
      while (self->queue.empty() && !self->stop) {
        ++self->idle;
        bool woke = self->work_cv.wait_for(lock, kIdleExit) == std::cv_status::no_timeout;
        --self->idle;
        if (!woke && self->queue.empty() && self->threads > self->base_workers) break;
      }
      if (self->stop || self->queue.empty()) break;
      std::shared_ptr<Job> job = std::move(self->queue.front());
      self->queue.pop_front();
      job->started = true;
      lock.unlock();
      StatfsResult r;
      if (Statvfs(job->path, &r.st) == 0) {
        r.outcome = StatfsResult::Outcome::kOk;
      } else {
        r.outcome = StatfsResult::Outcome::kError;
        r.error = errno;
      }
      lock.lock();
      job->result = r;
      job->done = true;
      self->done_cv.notify_all();
    }
    --self->threads;
  }

  // Starts workers while queued jobs outnumber idle ones, up to the base
  // number plus one per hung path (those threads are stuck). Requires mu.
  void Grow(const std::shared_ptr<Shared>& self) {
    int limit = base_workers + static_cast<int>(hung.size());
    while (static_cast<int>(queue.size()) > idle && threads < limit) {
      ++threads;
      ++idle;  // counted idle until it takes a job, so one job starts one thread
      std::thread([self] {
        {
          std::lock_guard lock(self->mu);
          --self->idle;
        }
        Work(self);
      }).detach();
    }
  }
};

StatfsProber::StatfsProber(int workers) : shared_(std::make_shared<Shared>()) {
  shared_->base_workers = workers < 1 ? 1 : workers;
}

StatfsProber::~StatfsProber() {
  std::lock_guard lock(shared_->mu);
  shared_->stop = true;
  shared_->queue.clear();
  shared_->work_cv.notify_all();
}

size_t StatfsProber::hung() const {
  std::lock_guard lock(shared_->mu);
  size_t n = 0;
  for (const auto& [path, job] : shared_->hung) n += job->done ? 0 : 1;
  return n;
}

std::vector<StatfsResult> StatfsProber::Probe(const std::vector<std::string>& paths,
                                              std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<StatfsResult> results(paths.size());
  std::vector<std::shared_ptr<Job>> jobs(paths.size());
  Shared& s = *shared_;
  std::unique_lock lock(s.mu);
  for (size_t i = 0; i < paths.size(); ++i) {
    if (auto it = s.hung.find(paths[i]); it != s.hung.end()) {
      if (!it->second->done) continue;  // still stuck: timed out, at once
      s.hung.erase(it);                 // it came back: probe it again
    }
    jobs[i] = std::make_shared<Job>();
    jobs[i]->path = paths[i];
    s.queue.push_back(jobs[i]);
  }
  s.Grow(shared_);
  s.work_cv.notify_all();
  auto all_done = [&] {
    for (const auto& j : jobs) {
      if (j && !j->done) return false;
    }
    return true;
  };
  s.done_cv.wait_until(lock, deadline, all_done);
  for (size_t i = 0; i < paths.size(); ++i) {
    const auto& j = jobs[i];
    if (!j) continue;
    if (j->done) {
      results[i] = j->result;
    } else if (j->started) {
      s.hung[j->path] = j;  // its thread is stuck in the kernel
    } else {
      // Never started (the workers were busy): not hung, just late.
      std::erase(s.queue, j);
    }
  }
  return results;
}

}  // namespace strata::runtime
