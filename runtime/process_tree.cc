#include "runtime/process_tree.h"

#include <dirent.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace strata::runtime {

namespace {

// ppid of pid from /proc/PID/stat ("pid (comm) state ppid ..."; comm may
// hold spaces and parentheses, so parse after the last ')').
pid_t ParentOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 1));
  std::string state;
  pid_t ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

}  // namespace

std::vector<pid_t> Descendants(pid_t root) {
  std::multimap<pid_t, pid_t> children;  // ppid -> pid
  if (DIR* dir = ::opendir("/proc"); dir != nullptr) {
    while (dirent* e = ::readdir(dir)) {
      char* end = nullptr;
      long pid = std::strtol(e->d_name, &end, 10);
      if (*end != '\0' || pid <= 0) continue;
      pid_t ppid = ParentOf(static_cast<pid_t>(pid));
      if (ppid > 0) children.emplace(ppid, static_cast<pid_t>(pid));
    }
    ::closedir(dir);
  }
  std::vector<pid_t> out;
  std::vector<pid_t> queue{root};
  for (size_t i = 0; i < queue.size(); ++i) {
    auto [first, last] = children.equal_range(queue[i]);
    for (auto it = first; it != last; ++it) {
      out.push_back(it->second);
      queue.push_back(it->second);
    }
  }
  return out;
}

void KillProcessTree(pid_t root, int signal) {
  for (int pass = 0; pass < 3; ++pass) {
    std::vector<pid_t> pids = Descendants(root);
    if (pids.empty()) break;
    for (pid_t pid : pids) ::kill(pid, signal);
  }
  ::kill(root, signal);
}

}  // namespace strata::runtime
