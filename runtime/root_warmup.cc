#include "runtime/root_warmup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "common/fs.h"
#include "runtime/bundle.h"
#include "runtime/container_record.h"
#include "runtime/oci/path_in_root.h"

namespace strata::runtime {

Result<UniqueFd> OpenEntrypoint(int root_fd, const std::vector<std::string>& args,
                                const std::vector<std::string>& env, const std::string& workdir) {
  if (args.empty() || args[0].empty()) return Error::Invalid("no command");
  const std::string& name = args[0];
  if (name.find('/') != std::string::npos) {
    return OpenRegularInRoot(root_fd, name.front() == '/' ? name : JoinPath(workdir, name));
  }
  std::string path;
  for (const auto& e : env) {
    if (e.starts_with("PATH=")) path = e.substr(5);
  }
  // As execvp: each PATH entry in turn; an empty entry is the working
  // directory.
  size_t start = 0;
  for (;;) {
    size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? end : end - start);
    auto fd = OpenRegularInRoot(root_fd, JoinPath(dir.empty() ? workdir : dir, name));
    if (fd.ok()) return fd;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return Error::NotFound(name + " is not in the container's PATH");
}

std::vector<MountPoint> MountPoints(const ContainerConfig& config) {
  std::vector<MountPoint> points = {{"/proc", true}, {"/dev", true}, {"/sys", true}};
  for (const char* file : {kResolvConfMount, kHostnameMount, kHostsMount}) {
    bool shadowed = false;
    for (const Mount& m : config.mounts) shadowed |= m.destination == file;
    if (!shadowed) points.push_back({file, false});
  }
  points.push_back({kStatusMount, true});
  for (const Mount& m : config.mounts) {
    bool directory = true;
    if (m.type == Mount::Type::kBind) {
      struct stat st;
      if (::stat(m.source.c_str(), &st) != 0) continue;
      directory = S_ISDIR(st.st_mode);
    }
    points.push_back({m.destination, directory});
  }
  points.push_back({config.workdir.empty() ? "/" : config.workdir, true});
  return points;
}

std::thread WarmUpRoot(ChildReaper& reaper, const std::string& root_dir,
                       const ContainerConfig& config, size_t readahead_window) {
  return std::thread([&reaper, root_dir, args = config.Args(), env = ProcessEnv(config),
                      workdir = config.workdir.empty() ? std::string("/") : config.workdir,
                      points = MountPoints(config),
                      chunk = static_cast<off_t>(readahead_window)] {
    auto work = [&] {
      UniqueFd root(::open(root_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!root) return;
      // First the reads, which the kernel then serves while the rest goes on.
      struct stat st;
      if (auto fd = OpenEntrypoint(root.get(), args, env, workdir);
          fd.ok() && ::fstat(fd->get(), &st) == 0) {
        // Window by window: one readahead(2) reads at most one.
        const off_t end = std::min<off_t>(st.st_size, kMaxPrefetchBytes);
        for (off_t off = 0; chunk > 0 && off < end; off += chunk) {
          if (::readahead(fd->get(), off, chunk) != 0) break;
        }
      }
      for (const MountPoint& p : points) {
        if (p.directory) {
          (void)oci::MakeDirsInRoot(root.get(), p.path);
        } else {
          (void)oci::MakeFileInRoot(root.get(), p.path);
        }
      }
    };
    // In a child process: the root is stratad's own FUSE mount
    // (ChildReaper::Fork says why).
    const auto since = ChildReaper::Clock::now();
    auto pid = reaper.Fork(work);
    if (!pid.ok()) return;
    if (!reaper.Wait(*pid, kWarmUpTimeout, since)) {
      ::kill(*pid, SIGKILL);
      (void)reaper.Wait(*pid, kWarmUpTimeout, since);
    }
  });
}

}  // namespace strata::runtime
