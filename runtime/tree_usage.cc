#include "runtime/tree_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <utility>

namespace strata::runtime {

namespace {

struct Walk {
  dev_t dev = 0;
  uint64_t max_entries = 0;
  uint64_t entries = 0;
  TreeUsage figure;
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
        if (depth + 1 >= kMaxTreeDepth) {
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

TreeUsage MeasureTree(const std::string& dir, uint64_t max_entries) {
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

}  // namespace strata::runtime
