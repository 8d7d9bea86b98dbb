#include "runtime/oci/path_in_root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "common/fs.h"

namespace strata::runtime::oci {
namespace {

std::vector<std::string_view> Components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(pos, end - pos);
    if (!part.empty() && part != ".") out.push_back(part);
    pos = end + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string_view>& parts, size_t n) {
  std::string out = ".";
  for (size_t i = 0; i < n; ++i) {
    out.push_back('/');
    out.append(parts[i]);
  }
  return out;
}

}  // namespace

Result<UniqueFd> OpenInRoot(int root_fd, std::string_view path, int flags) {
  auto parts = Components(path);
  auto fd = strata::OpenInRoot(root_fd, Join(parts, parts.size()), flags | O_PATH);
  if (!fd.ok()) {
    return Error::FromErrno("open " + std::string(path) + " in the container", fd.error().code());
  }
  return fd;
}

Result<UniqueFd> MakeDirsInRoot(int root_fd, std::string_view path, mode_t mode) {
  auto parts = Components(path);
  int first = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  if (first < 0) return Error::FromErrno("dup");
  UniqueFd dir(first);
  for (size_t i = 1; i <= parts.size(); ++i) {
    std::string prefix = Join(parts, i);
    auto fd = strata::OpenInRoot(root_fd, prefix, O_PATH | O_DIRECTORY);
    if (!fd.ok() && fd.error().code() == ENOENT) {
      // dir is the resolved parent: a real directory inside the root.
      std::string name(parts[i - 1]);
      if (::mkdirat(dir.get(), name.c_str(), mode) != 0 && errno != EEXIST) {
        return Error::FromErrno("mkdir " + prefix.substr(1) + " in the container");
      }
      fd = strata::OpenInRoot(root_fd, prefix, O_PATH | O_DIRECTORY);
    }
    if (!fd.ok()) {
      return Error::FromErrno("open " + prefix.substr(1) + " in the container", fd.error().code());
    }
    dir = std::move(*fd);
  }
  return dir;
}

Result<UniqueFd> MakeFileInRoot(int root_fd, std::string_view path) {
  auto parts = Components(path);
  if (parts.empty()) return OpenInRoot(root_fd, "/");
  auto found = strata::OpenInRoot(root_fd, Join(parts, parts.size()), O_PATH);
  if (found.ok()) return found;
  if (found.error().code() != ENOENT) {
    return Error::FromErrno("open " + std::string(path) + " in the container",
                            found.error().code());
  }
  ASSIGN_OR_RETURN(UniqueFd parent, MakeDirsInRoot(root_fd, Join(parts, parts.size() - 1)));
  std::string name(parts.back());
  int created =
      ::openat(parent.get(), name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (created < 0 && errno != EEXIST) {
    return Error::FromErrno("create " + std::string(path) + " in the container");
  }
  if (created >= 0) ::close(created);
  return OpenInRoot(root_fd, path);
}

}  // namespace strata::runtime::oci
