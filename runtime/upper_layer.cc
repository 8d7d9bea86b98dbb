#include "runtime/upper_layer.h"

#include <sys/stat.h>

#include "common/fs.h"

namespace strata::runtime {

Result<std::unique_ptr<storage::TreeTarSource>> OpenUpperLayer(const std::string& upper_dir) {
  storage::TreeTarOptions options;
  options.overlay_upper = true;
  options.skip = [upper_dir](const std::string& rel, const struct stat& st) {
    if (S_ISREG(st.st_mode) && st.st_size == 0 &&
        (rel == "etc/hostname" || rel == "etc/hosts" || rel == "etc/resolv.conf")) {
      return true;
    }
    if (!S_ISDIR(st.st_mode) || rel != "run/strata") return false;
    auto names = ListDir(upper_dir + "/run/strata");
    return names.ok() && names->empty();
  };
  return storage::TreeTarSource::Open(upper_dir, std::move(options));
}

}  // namespace strata::runtime
