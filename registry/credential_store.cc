#include "registry/credential_store.h"

#include "registry/credential_helper.h"

namespace strata::registry {

Result<std::optional<Credentials>> CredentialStore::Lookup(const std::string& registry) const {
  ASSIGN_OR_RETURN(std::string helper, file_.HelperFor(registry));
  if (helper.empty()) return file_.Lookup(registry);
  return CredentialHelper(helper).Get(registry);
}

Status CredentialStore::Store(const std::string& registry, const Credentials& credentials) {
  ASSIGN_OR_RETURN(std::string helper, file_.HelperFor(registry));
  if (helper.empty()) return file_.Store(registry, credentials);
  RETURN_IF_ERROR(CredentialHelper(helper).Store(registry, credentials));
  return file_.StoreWithoutSecret(registry);
}

Result<bool> CredentialStore::Erase(const std::string& registry) {
  ASSIGN_OR_RETURN(std::string helper, file_.HelperFor(registry));
  bool erased = false;
  if (!helper.empty()) {
    ASSIGN_OR_RETURN(erased, CredentialHelper(helper).Erase(registry));
  }
  ASSIGN_OR_RETURN(bool in_file, file_.Erase(registry));
  return erased || in_file;
}

}  // namespace strata::registry
