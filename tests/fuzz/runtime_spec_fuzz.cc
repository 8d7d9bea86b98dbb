// Fuzzes strata-runtime's reading of an OCI bundle's config.json and of
// `exec --process` JSON (runtime/oci/spec.h): anything that parses must be
// runnable as the header promises (args non-empty, cwd absolute, mount
// destinations absolute), anything else is one EINVAL line naming a field.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/oci/spec.h"

using namespace strata::runtime::oci;

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

template <typename R>
bool Check(const R& r) {
  if (r.ok()) return true;
  Require(r.error().code() == EINVAL);
  Require(r.error().message().find('\n') == std::string::npos);
  return false;
}

void CheckProcess(const Process& p) {
  Require(!p.args.empty());
  Require(!p.cwd.empty() && p.cwd.front() == '/');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = ParseSpec(text);
  if (Check(spec)) {
    CheckProcess(spec->process);
    for (const Mount& m : spec->mounts) {
      Require(!m.destination.empty() && m.destination.front() == '/');
    }
  }
  auto process = ParseProcess(text);
  if (Check(process)) CheckProcess(*process);
  return 0;
}
