#include "runtime/oci/process.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fs.h"
#include "runtime/oci/capabilities.h"

namespace strata::runtime::oci {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string EnvValue(const std::vector<std::string>& env, std::string_view key) {
  for (const std::string& kv : env) {
    if (kv.size() > key.size() && kv.starts_with(key) && kv[key.size()] == '=') {
      return kv.substr(key.size() + 1);
    }
  }
  return "";
}

bool EnvHas(const std::vector<std::string>& env, std::string_view key) {
  for (const std::string& kv : env) {
    if (kv.size() >= key.size() + 1 && kv.starts_with(key) && kv[key.size()] == '=') return true;
  }
  return false;
}

std::string HomeOf(uid_t uid) {
  auto passwd = ReadFile("/etc/passwd");
  if (!passwd.ok()) return "/";
  size_t pos = 0;
  while (pos < passwd->size()) {
    size_t end = passwd->find('\n', pos);
    if (end == std::string::npos) end = passwd->size();
    std::string line = passwd->substr(pos, end - pos);
    pos = end + 1;
    // name:password:uid:gid:gecos:home:shell
    std::vector<std::string> fields;
    size_t f = 0;
    for (;;) {
      size_t colon = line.find(':', f);
      fields.push_back(line.substr(f, colon == std::string::npos ? colon : colon - f));
      if (colon == std::string::npos) break;
      f = colon + 1;
    }
    if (fields.size() >= 6 && fields[2] == std::to_string(uid) && !fields[5].empty()) {
      return fields[5];
    }
  }
  return "/";
}

Status ChangeUser(const User& user) {
  if (::setgroups(user.additional_gids.size(), user.additional_gids.data()) != 0) {
    return Error::FromErrno("setgroups");
  }
  if (::setresgid(user.gid, user.gid, user.gid) != 0) {
    return Error::FromErrno("setgid " + std::to_string(user.gid));
  }
  if (::setresuid(user.uid, user.uid, user.uid) != 0) {
    return Error::FromErrno("setuid " + std::to_string(user.uid));
  }
  return Ok();
}

// Where execvp would find it: error text as runc's (Go's exec.LookPath).
Status CheckExecutable(const std::string& path, const std::string& name) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Error(errno, "exec: \"" + name + "\": stat " + path + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return Error(EISDIR, "exec: \"" + name + "\": is a directory");
  if (!S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0) {
    return Error(EACCES, "exec: \"" + name + "\": permission denied");
  }
  return Ok();
}

}  // namespace

void ResetSignals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::signal(sig, SIG_DFL);
  }
}

Status PrepareProcess(const Process& p) {
  for (const Rlimit& r : p.rlimits) {
    struct rlimit limit = {r.soft, r.hard};
    if (::setrlimit(r.resource, &limit) != 0) {
      return Error::FromErrno("setrlimit " + std::to_string(r.resource));
    }
  }
  if (p.capabilities) {
    RETURN_IF_ERROR(DropBoundingSet(*p.capabilities));
    RETURN_IF_ERROR(KeepCapabilities(true));
  }
  bool cwd_done = ::chdir(p.cwd.c_str()) == 0;
  if (!cwd_done && errno != EACCES) return Error::FromErrno("chdir to cwd " + p.cwd);
  RETURN_IF_ERROR(ChangeUser(p.user));
  if (!cwd_done && ::chdir(p.cwd.c_str()) != 0) return Error::FromErrno("chdir to cwd " + p.cwd);
  if (p.capabilities) {
    RETURN_IF_ERROR(KeepCapabilities(false));
    RETURN_IF_ERROR(ApplyCapabilities(*p.capabilities));
  }
  ::umask(p.user.umask.value_or(022));
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return Error::FromErrno("prctl(PR_SET_NO_NEW_PRIVS)");
  }
  return Ok();
}

Status SetExecFds(int preserve) {
  for (int fd = 3; fd < 3 + preserve; ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) != 0) {
      return Error::FromErrno("keep fd " + std::to_string(fd));
    }
  }
  if (::syscall(SYS_close_range, 3 + preserve, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    return Error::FromErrno("mark fds close-on-exec");
  }
  return Ok();
}

std::vector<std::string> ProcessEnvironment(const Process& process) {
  std::vector<std::string> env = process.env;
  if (!EnvHas(env, "HOME")) env.push_back("HOME=" + HomeOf(process.user.uid));
  return env;
}

Result<std::string> FindExecutable(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) {
    RETURN_IF_ERROR(CheckExecutable(name, name));
    return name;
  }
  std::string path = EnvHas(env, "PATH") ? EnvValue(env, "PATH") : kDefaultPath;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find(':', pos);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(pos, end - pos);
    pos = end + 1;
    std::string candidate = JoinPath(dir.empty() ? "." : dir, name);
    if (CheckExecutable(candidate, name).ok()) return candidate;
  }
  return Error(ENOENT, "exec: \"" + name + "\": executable file not found in $PATH");
}

Error Exec(const std::string& path, const std::vector<std::string>& args,
           const std::vector<std::string>& env) {
  std::vector<char*> argv, envp;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(path.c_str(), argv.data(), envp.data());
  return Error(errno, "exec " + path + ": " + std::strerror(errno));
}

}  // namespace strata::runtime::oci
