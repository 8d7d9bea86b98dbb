#include "monitor/mount_info.h"

#include "common/fs.h"

namespace strata::monitor {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

bool HasOption(std::string_view options, std::string_view option) {
  size_t pos = 0;
  while (pos <= options.size()) {
    size_t comma = options.find(',', pos);
    if (comma == std::string_view::npos) comma = options.size();
    if (options.substr(pos, comma - pos) == option) return true;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

std::vector<MountEntry> ParseMountInfo(std::string_view text) {
  std::vector<MountEntry> mounts;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    // id parent major:minor root mount_point options [optional...] - fstype source super_options
    auto f = Fields(line);
    size_t dash = 0;
    for (size_t i = 6; i < f.size(); ++i) {
      if (f[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || dash + 2 >= f.size()) continue;
    MountEntry m;
    try {
      m.mount_id = std::stoi(std::string(f[0]));
    } catch (...) {
      continue;
    }
    m.device = std::string(f[2]);
    m.mount_point = Unescape(f[4]);
    m.read_only = HasOption(f[5], "ro");
    m.fstype = std::string(f[dash + 1]);
    m.source = Unescape(f[dash + 2]);
    mounts.push_back(std::move(m));
  }
  return mounts;
}

Result<std::vector<MountEntry>> ReadMountInfo() {
  ASSIGN_OR_RETURN(std::string text, ReadFile("/proc/self/mountinfo"));
  return ParseMountInfo(text);
}

std::optional<size_t> FindMount(const std::vector<MountEntry>& mounts, std::string_view path) {
  std::optional<size_t> best;
  size_t best_len = 0;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const std::string& mp = mounts[i].mount_point;
    bool under;
    if (mp == "/") {
      under = !path.empty() && path[0] == '/';
    } else {
      under = path.size() >= mp.size() && path.compare(0, mp.size(), mp) == 0 &&
              (path.size() == mp.size() || path[mp.size()] == '/');
    }
    // >=: of mounts stacked on one point, the later one is on top.
    if (under && (!best || mp.size() >= best_len)) {
      best = i;
      best_len = mp.size();
    }
  }
  return best;
}

MountTable::MountTable(std::vector<MountEntry> mounts) : mounts_(std::move(mounts)) {
  for (size_t i = 0; i < mounts_.size(); ++i) by_point_[mounts_[i].mount_point] = i;
}

std::optional<size_t> MountTable::Find(std::string_view path) const {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::string p(path);
  for (;;) {
    if (auto it = by_point_.find(p); it != by_point_.end()) return it->second;
    if (p == "/") return std::nullopt;
    size_t slash = p.rfind('/');
    p.resize(slash == 0 ? 1 : slash);
  }
}

}  // namespace strata::monitor
