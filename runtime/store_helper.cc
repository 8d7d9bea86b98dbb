#include "runtime/store_helper.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fs.h"
#include "common/unique_fd.h"
#include "runtime/api_protocol.h"

namespace strata::runtime {
namespace {

// strata-store in the directory of the running executable.
Result<std::string> HelperPath() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) return Error::FromErrno("readlink /proc/self/exe");
  std::string self(buf, static_cast<size_t>(n));
  return self.substr(0, self.rfind('/') + 1) + "strata-store";
}

}  // namespace

Result<boost::json::object> RunStoreHelper(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(std::string helper, HelperPath());
  std::vector<char*> argv;
  argv.push_back(helper.data());
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::FromErrno("pipe");
  UniqueFd out_r(fds[0]), out_w(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return Error::FromErrno("fork");
  if (pid == 0) {
    ::dup2(out_w.get(), STDOUT_FILENO);
    ::execv(helper.c_str(), argv.data());
    ::dprintf(STDERR_FILENO, "strata: exec %s: %s\n", helper.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  out_w.reset();
  Result<std::string> text = ReadAll(out_r.get());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!text.ok()) return std::move(text).error().Context("read from " + helper);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(*text, ec);
  if (ec || !v.is_object()) {
    return Error(EIO, helper + " sent no report (exit status " +
                          std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128) + ")");
  }
  if (v.as_object().contains("error")) return ErrorFromJson(v, 500);
  return std::move(v.as_object());
}

}  // namespace strata::runtime
