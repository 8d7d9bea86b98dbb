// Fuzzes the specifications a user gives `strata create/run` and the API's
// create request (runtime/container_record.h, restart_policy.h,
// oci/signal_names.h): the input is one spec, read as a `-v` volume, a
// `--tmpfs` mount, a volume name, a container name, a restart policy, a
// network mode and a signal. What parses must be what the runtime can use
// as is: absolute, normalized, NUL-free destinations other than "/", valid
// volume names, policies that print as themselves.
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/container_record.h"
#include "runtime/oci/signal_names.h"
#include "runtime/restart_policy.h"

using namespace strata::runtime;

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

// Absolute, normalized as ParseVolumeSpec promises: no "//", "." or ".."
// components, no trailing '/', no NUL (the kernel would stop reading there).
bool CleanAbsolute(std::string_view path) {
  if (path.empty() || path.front() != '/' || path.find('\0') != std::string_view::npos) {
    return false;
  }
  if (path == "/") return true;
  if (path.back() == '/') return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view part =
        path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view spec(reinterpret_cast<const char*>(data), size);

  auto volume = ParseVolumeSpec(spec);
  if (volume.ok()) {
    Require(CleanAbsolute(volume->destination) && volume->destination != "/");
    if (volume->type == Mount::Type::kBind) {
      Require(CleanAbsolute(volume->source));
    } else {
      Require(volume->type == Mount::Type::kVolume && ValidateVolumeName(volume->source).ok());
    }
  } else {
    Require(volume.error().code() == EINVAL);
  }

  auto tmpfs = ParseTmpfsSpec(spec);
  if (tmpfs.ok()) {
    Require(tmpfs->type == Mount::Type::kTmpfs);
    Require(CleanAbsolute(tmpfs->destination) && tmpfs->destination != "/");
    Require(tmpfs->tmpfs_options.find('\0') == std::string::npos);
  }

  if (ValidateVolumeName(spec).ok()) {
    Require(!spec.empty() && spec.size() <= 128 && spec.find('/') == std::string_view::npos);
  }
  auto name = ValidateContainerName(spec);
  if (name.ok()) {
    Require(!name->empty() && name->find('/') == std::string::npos &&
            name->find('\0') == std::string::npos);
  }

  auto policy = RestartPolicy::Parse(spec);
  if (policy.ok()) {
    auto again = RestartPolicy::Parse(policy->str());
    Require(again.ok() && *again == *policy);
  }
  (void)ParseNetworkMode(spec);

  auto signal = oci::ParseSignal(spec);
  if (signal.ok()) Require(*signal > 0 && *signal < NSIG);
  return 0;
}
