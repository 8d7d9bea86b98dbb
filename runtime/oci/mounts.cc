#include "runtime/oci/mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/fs.h"
#include "runtime/oci/path_in_root.h"

namespace strata::runtime::oci {
namespace {

constexpr unsigned long kAtimeFlags = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

Error MountError(const std::string& what, const std::string& dest) {
  return Error::FromErrno("mount " + what + " on " + dest);
}

Status ApplyPropagation(int root_fd, const Mount& m) {
  if (m.parsed.propagation.empty()) return Ok();
  ASSIGN_OR_RETURN(UniqueFd top, OpenInRoot(root_fd, m.destination));
  for (unsigned long flags : m.parsed.propagation) {
    if (::mount(nullptr, ProcFdPath(top.get()).c_str(), nullptr, flags, nullptr) != 0) {
      return Error::FromErrno("set propagation of " + m.destination);
    }
  }
  return Ok();
}

// Binds source on dest (made as a file or directory, like the source) and
// applies flags by a remount when there are any. The source is opened once
// and mounted through its fd, so what is mounted is what was looked at,
// even if a symlink on the way is swapped meanwhile.
Status BindMount(int root_fd, const std::string& source, const std::string& dest,
                 unsigned long flags, unsigned long clear, bool recursive) {
  UniqueFd src(::open(source.c_str(), O_PATH | O_CLOEXEC));
  struct stat st;
  if (!src || ::fstat(src.get(), &st) != 0) {
    return Error::FromErrno("bind mount source " + source);
  }
  auto target = S_ISDIR(st.st_mode) ? MakeDirsInRoot(root_fd, dest) : MakeFileInRoot(root_fd, dest);
  if (!target.ok()) return std::move(target).error();
  unsigned long bind = MS_BIND | (recursive ? MS_REC : 0);
  if (::mount(ProcFdPath(src.get()).c_str(), ProcFdPath(target->get()).c_str(), nullptr, bind,
              nullptr) != 0) {
    return MountError(source, dest);
  }
  if ((flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) == 0 && clear == 0) return Ok();
  // The remount must reach the new mount, not the directory under it.
  ASSIGN_OR_RETURN(UniqueFd top, OpenInRoot(root_fd, dest));
  return Remount(top.get(), dest, flags, clear, true);
}

Status MountFilesystem(int root_fd, const std::string& type, const std::string& source,
                       const std::string& dest, unsigned long flags, const std::string& data) {
  ASSIGN_OR_RETURN(UniqueFd target, MakeDirsInRoot(root_fd, dest));
  const char* src = source.empty() ? type.c_str() : source.c_str();
  if (::mount(src, ProcFdPath(target.get()).c_str(), type.c_str(), flags & ~MS_REMOUNT,
              data.empty() ? nullptr : data.c_str()) != 0) {
    return MountError(type, dest);
  }
  return Ok();
}

Status MountCgroup(int root_fd, const Mount& m, const Cgroup* cgroup, bool cgroup_namespace) {
  if (cgroup == nullptr) return Error::Invalid("cgroup mount without a container cgroup");
  auto sources = cgroup->MountSources(cgroup_namespace);
  unsigned long flags = m.parsed.flags & ~MS_REMOUNT;
  if (sources.size() == 1 && sources[0].fstype == "cgroup2") {
    if (cgroup_namespace)
      return MountFilesystem(root_fd, "cgroup2", "cgroup", m.destination, flags, "");
    return BindMount(root_fd, sources[0].host_dir, m.destination, flags, m.parsed.clear, false);
  }
  // v1: a tmpfs holding one directory per hierarchy.
  RETURN_IF_ERROR(
      MountFilesystem(root_fd, "tmpfs", "tmpfs", m.destination, flags & ~MS_RDONLY, "mode=755"));
  for (const CgroupMountSource& s : sources) {
    std::string dest = JoinPath(m.destination, s.name);
    if (cgroup_namespace) {
      RETURN_IF_ERROR(MountFilesystem(root_fd, "cgroup", "cgroup", dest, flags, s.data));
    } else {
      RETURN_IF_ERROR(BindMount(root_fd, s.host_dir, dest, flags | MS_BIND, m.parsed.clear, false));
    }
    // Co-mounted controllers ("cpu,cpuacct") are also reachable by each name.
    if (s.name.find(',') != std::string::npos) {
      ASSIGN_OR_RETURN(UniqueFd dir, OpenInRoot(root_fd, m.destination, O_DIRECTORY));
      size_t pos = 0;
      while (pos <= s.name.size()) {
        size_t end = s.name.find(',', pos);
        if (end == std::string::npos) end = s.name.size();
        std::string link = s.name.substr(pos, end - pos);
        if (::symlinkat(s.name.c_str(), dir.get(), link.c_str()) != 0 && errno != EEXIST) {
          return Error::FromErrno("symlink " + JoinPath(m.destination, link));
        }
        pos = end + 1;
      }
    }
  }
  if (flags & MS_RDONLY) {
    ASSIGN_OR_RETURN(UniqueFd top, OpenInRoot(root_fd, m.destination));
    RETURN_IF_ERROR(Remount(top.get(), m.destination, flags, m.parsed.clear, false));
  }
  return Ok();
}

}  // namespace

Status Remount(int fd, const std::string& what, unsigned long flags, unsigned long clear,
               bool bind) {
  struct statvfs sv;
  if (::fstatvfs(fd, &sv) != 0) return Error::FromErrno("statvfs " + what);
  unsigned long have = 0;
  if (sv.f_flag & ST_RDONLY) have |= MS_RDONLY;
  if (sv.f_flag & ST_NOSUID) have |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) have |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) have |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) have |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) have |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) have |= MS_RELATIME;
  // Options that choose an atime mode replace the mount's.
  if (flags & kAtimeFlags) have &= ~kAtimeFlags;
  unsigned long final_flags = ((flags | (have & ~clear)) & ~(MS_REC | MS_BIND | MS_REMOUNT)) |
                              MS_REMOUNT | (bind ? MS_BIND : 0);
  if (::mount(nullptr, ProcFdPath(fd).c_str(), nullptr, final_flags, nullptr) != 0) {
    return Error::FromErrno("remount " + what);
  }
  return Ok();
}

bool BindsDev(const std::vector<Mount>& mounts) {
  for (const Mount& m : mounts) {
    if (m.destination == "/dev" && m.parsed.bind) return true;
  }
  return false;
}

Result<MountResult> MountAll(const std::vector<Mount>& mounts, int root_fd, const Cgroup* cgroup,
                             bool cgroup_namespace) {
  MountResult result;
  for (const Mount& m : mounts) {
    Status st;
    if (m.parsed.bind) {
      st = BindMount(root_fd, m.source, m.destination, m.parsed.flags, m.parsed.clear,
                     m.parsed.recursive);
    } else if (m.type == "cgroup" || m.type == "cgroup2") {
      st = MountCgroup(root_fd, m, cgroup, cgroup_namespace);
    } else {
      unsigned long flags = m.parsed.flags;
      if (m.destination == "/dev" && (flags & MS_RDONLY)) {
        flags &= ~MS_RDONLY;
        result.dev_readonly_later = true;
      }
      st = MountFilesystem(root_fd, m.type, m.source, m.destination, flags, m.parsed.data);
    }
    if (st.ok()) st = ApplyPropagation(root_fd, m);
    if (!st.ok()) return std::move(st).error();
  }
  return result;
}

}  // namespace strata::runtime::oci
