// Fuzzes image names (storage/image_tag.h), which every command that takes
// a NAME[:TAG] hands to stratad: `strata tag`, `commit`, `image import
// --tag`, `pull`, `rmi`. A name accepted must normalize to REPOSITORY:TAG
// within the length limits, and normalizing that again must give it back
// unchanged (tags are index keys: a tag that could not be named again could
// never be removed). A refusal is always EINVAL with a message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "storage/image_tag.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string name(reinterpret_cast<const char*>(data), size);
  auto tag = strata::storage::NormalizeImageTag(name);
  if (!tag.ok()) {
    Require(tag.error().code() == EINVAL);
    Require(!tag.error().message().empty());
    return 0;
  }
  const size_t colon = tag->rfind(':');
  Require(colon != std::string::npos && colon > 0 && colon + 1 < tag->size());
  Require(colon <= 255 && tag->size() - colon - 1 <= 128);
  Require(tag->find('@') == std::string::npos);
  auto again = strata::storage::NormalizeImageTag(*tag);
  Require(again.ok() && *again == *tag);
  return 0;
}
