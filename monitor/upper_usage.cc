#include "monitor/upper_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <set>
#include <utility>
#include <vector>

#include "common/unique_fd.h"

namespace strata::monitor {

namespace {

// Directory levels a walk holds open at once (a descriptor and a buffer
// each). A container can nest directories far deeper than stratad may hold
// descriptors open; what lies below is left out of the figure, which then
// says it is partial.
constexpr int kMaxDepth = 64;

struct Walk {
  dev_t dev = 0;
  uint64_t max_entries = 0;
  uint64_t entries = 0;
  UpperFigure figure;
  std::set<std::pair<dev_t, ino_t>> linked;  // files with nlink > 1 already counted

  void Count(const struct stat& st) {
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !linked.emplace(st.st_dev, st.st_ino).second) {
      return;
    }
    figure.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  }

  // dirfd (at depth levels below the top) is consumed.
  void Dir(int dirfd, int depth) {
    DIR* d = ::fdopendir(dirfd);
    if (d == nullptr) {
      ::close(dirfd);
      return;
    }
    while (struct dirent* de = ::readdir(d)) {
      if (de->d_name[0] == '.' &&
          (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0'))) {
        continue;
      }
      if (++entries > max_entries) {
        figure.partial = true;
        break;
      }
      struct stat st;
      if (::fstatat(::dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (st.st_dev != dev) continue;  // another mount
      Count(st);
      if (S_ISDIR(st.st_mode)) {
        if (depth + 1 >= kMaxDepth) {
          figure.partial = true;
          continue;
        }
        int child =
            ::openat(::dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0) {
          if (errno != ENOENT) figure.partial = true;  // EMFILE, EACCES: left out
          continue;
        }
        Dir(child, depth + 1);
        if (figure.partial && entries > max_entries) break;
      }
    }
    ::closedir(d);
  }
};

}  // namespace

UpperFigure MeasureTree(const std::string& dir, uint64_t max_entries) {
  Walk w;
  w.max_entries = max_entries;
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return w.figure;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return w.figure;
  }
  w.dev = st.st_dev;
  w.Count(st);
  w.Dir(fd, 0);
  return w.figure;
}

UpperUsage::UpperUsage(std::chrono::seconds refresh, uint64_t max_entries)
    : refresh_(refresh), max_entries_(max_entries), thread_([this] { Run(); }) {}

UpperUsage::~UpperUsage() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void UpperUsage::Track(const std::map<std::string, std::string>& uppers) {
  bool fresh = false;
  {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = uppers.count(it->first) ? std::next(it) : entries_.erase(it);
    }
    for (const auto& [id, dir] : uppers) {
      auto [it, inserted] = entries_.try_emplace(id);
      if (inserted) {
        it->second.dir = dir;
        fresh = true;
      }
    }
  }
  if (fresh) cv_.notify_all();
}

std::optional<UpperFigure> UpperUsage::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.figure;
}

void UpperUsage::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    // The stalest upper due for a walk, if any; else sleep until one is.
    auto now = std::chrono::steady_clock::now();
    std::string due;
    auto next = now + refresh_;
    for (const auto& [id, e] : entries_) {
      auto when = e.figure ? e.measured + refresh_ : now;
      if (when <= now) {
        due = id;
        break;
      }
      next = std::min(next, when);
    }
    if (due.empty()) {
      cv_.wait_until(lock, next);
      continue;
    }
    std::string dir = entries_[due].dir;
    lock.unlock();
    UpperFigure figure = MeasureTree(dir, max_entries_);
    lock.lock();
    if (auto it = entries_.find(due); it != entries_.end()) {
      it->second.figure = figure;
      it->second.measured = std::chrono::steady_clock::now();
    }
  }
}

}  // namespace strata::monitor
