#include "runtime/upper_layer.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cstring>

namespace strata::runtime {

namespace {

bool IsEmptyDir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return false;
  bool empty = true;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

}  // namespace

Result<std::unique_ptr<storage::TreeTarSource>> OpenUpperLayer(const std::string& upper_dir) {
  storage::TreeTarOptions options;
  options.overlay_upper = true;
  options.skip = [upper_dir](const std::string& rel, const struct stat& st) {
    if (S_ISREG(st.st_mode) && st.st_size == 0 &&
        (rel == "etc/hostname" || rel == "etc/hosts" || rel == "etc/resolv.conf")) {
      return true;
    }
    return S_ISDIR(st.st_mode) && rel == "run/strata" && IsEmptyDir(upper_dir + "/run/strata");
  };
  return storage::TreeTarSource::Open(upper_dir, std::move(options));
}

}  // namespace strata::runtime
