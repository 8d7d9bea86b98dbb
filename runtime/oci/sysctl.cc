#include "runtime/oci/sysctl.h"

#include <fcntl.h>

#include "common/fs.h"

namespace strata::runtime::oci {

std::string SysctlPath(const std::string& key) {
  std::string path = "/proc/sys/" + key;
  for (size_t i = 10; i < path.size(); ++i) {
    if (path[i] == '.') path[i] = '/';
  }
  return path;
}

Status ApplySysctls(const std::map<std::string, std::string>& sysctls) {
  for (const auto& [key, value] : sysctls) {
    std::string path = SysctlPath(key);
    auto fd = OpenFile(path, O_WRONLY | O_TRUNC);
    if (!fd.ok()) return std::move(fd).error().Context("sysctl " + key);
    RETURN_IF_ERROR_CTX(WriteAll(fd->get(), value), "sysctl " + key);
  }
  return Ok();
}

}  // namespace strata::runtime::oci
