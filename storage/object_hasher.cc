// ObjectHasher (storage/digest.h), apart from the plain values in digest.cc
// so that code using only those (the client) links no libxxhash.
#include <xxhash.h>

#include "storage/digest.h"

namespace strata::storage {

ObjectHasher::ObjectHasher() : state_(XXH3_createState()) {
  XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_));
}
ObjectHasher::~ObjectHasher() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

void ObjectHasher::Update(std::string_view data) {
  XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), data.data(), data.size());
}

ObjectId ObjectHasher::Finish() {
  XXH128_hash_t h = XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_));
  XXH128_canonical_t canon;
  XXH128_canonicalFromHash(&canon, h);
  XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_));
  return ObjectId::FromBytes({reinterpret_cast<char*>(canon.digest), sizeof canon.digest});
}

ObjectId ObjectHasher::Of(std::string_view data) {
  ObjectHasher h;
  h.Update(data);
  return h.Finish();
}

}  // namespace strata::storage
