// Fuzzes what the registry client reads from users and from registries
// (registry/reference.h, registry/auth.h, common/base64.h): image
// references as `strata pull/push` take them, the WWW-Authenticate
// challenge a registry answers with, and base64 (basic credentials in the
// credentials file). A parsed
// reference prints, as docker shows it, something that parses to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/base64.h"
#include "registry/auth.h"
#include "registry/reference.h"

using namespace strata::registry;
using strata::Base64Decode;
using strata::Base64Encode;

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto ref = Reference::Parse(text);
  if (ref.ok()) {
    Require(!ref->registry.empty() && !ref->repository.empty());
    Require(!ref->Endpoint().empty() && !ref->ManifestRef().empty());
    auto again = Reference::Parse(ref->Familiar());
    Require(again.ok());
    Require(again->registry == ref->registry && again->repository == ref->repository &&
            again->digest == ref->digest);
    if (!ref->digest) Require(again->tag == ref->tag);
    (void)ref->FamiliarRepo();
    (void)IsLoopbackRegistry(ref->registry);
  } else {
    Require(ref.error().code() == EINVAL);
  }

  auto challenge = ParseChallenge(text);
  if (challenge.ok()) {
    Require(!challenge->scheme.empty());
    for (char c : challenge->scheme) Require(!(c >= 'A' && c <= 'Z'));
  }

  auto decoded = Base64Decode(text);
  if (decoded) {
    auto again = Base64Decode(Base64Encode(*decoded));
    Require(again && *again == *decoded);
  }
  (void)IsLoopbackRegistry(text);
  return 0;
}
