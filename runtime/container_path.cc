#include "runtime/container_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <vector>

namespace strata::runtime {

namespace {

constexpr int kMaxLinks = 40;

void SplitInto(std::string_view path, std::deque<std::string>& out, bool front) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  if (front) {
    out.insert(out.begin(), parts.begin(), parts.end());
  } else {
    out.insert(out.end(), parts.begin(), parts.end());
  }
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

}  // namespace

Result<std::string> ResolveInContainer(const std::string& root, std::string_view path) {
  std::deque<std::string> todo;
  SplitInto(path, todo, false);
  std::vector<std::string> resolved;
  int links = 0;
  bool missing = false;  // a component did not exist: the rest is lexical
  auto escape = [&] {
    return Error(EXDEV, std::string(path) + " leads outside the container's root");
  };
  while (!todo.empty()) {
    std::string part = std::move(todo.front());
    todo.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      if (resolved.empty()) return escape();
      resolved.pop_back();
      continue;
    }
    if (missing) {
      resolved.push_back(std::move(part));
      continue;
    }
    resolved.push_back(part);
    std::string host = root + Join(resolved);
    struct stat st;
    if (::lstat(host.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        missing = true;
        continue;
      }
      return Error::FromErrno(std::string(path) + ": " + Join(resolved));
    }
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxLinks) return Error(ELOOP, std::string(path) + ": too many symlinks");
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlink(host.c_str(), target.data(), target.size());
      if (n < 0) return Error::FromErrno("readlink " + Join(resolved));
      target.resize(static_cast<size_t>(n));
      resolved.pop_back();
      if (!target.empty() && target.front() == '/') resolved.clear();
      SplitInto(target, todo, true);
      continue;
    }
    if (!todo.empty() && !S_ISDIR(st.st_mode)) {
      return Error(ENOTDIR, std::string(path) + ": " + Join(resolved) + " is not a directory");
    }
  }
  return Join(resolved);
}

}  // namespace strata::runtime
