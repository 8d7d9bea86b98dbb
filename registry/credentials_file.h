// CredentialsFile: registry credentials in Docker's config.json format, so
// the files `docker login` and `podman login --compat-auth-file` write work
// here and the other way round.
//
//   $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json:
//   {"auths": {"<registry>": {"auth": base64("user:password")}}, ...}
//
// Docker Hub's key is "https://index.docker.io/v1/"; lookups also accept
// "https://HOST", "http://HOST" and "HOST/v2/" spellings. Other members
// (credsStore, credHelpers, proxies, ...) are kept as they are when the file
// is rewritten. The file only names credential helpers (HelperFor);
// credential_store.h runs them. The file is written 0600 through a
// temporary file and a rename; its directory is made 0700 if missing.
//
// Thread safety: none; one process at a time edits a user's file (as docker).
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "registry/auth.h"

namespace strata::registry {

class CredentialsFile {
 public:
  // The path from the environment (DOCKER_CONFIG, HOME).
  static std::string DefaultPath();

  explicit CredentialsFile(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  // The credentials stored for registry (as Reference::registry spells it);
  // nullopt when none. A malformed file is EINVAL naming it.
  Result<std::optional<Credentials>> Lookup(const std::string& registry) const;
  Status Store(const std::string& registry, const Credentials& credentials);
  // An entry without secrets ({}), as docker writes for a registry whose
  // credentials a helper keeps.
  Status StoreWithoutSecret(const std::string& registry);
  // Whether an entry was removed.
  Result<bool> Erase(const std::string& registry);

  // The credential helper's name for registry: credHelpers' entry for it,
  // else credsStore; empty when the file itself holds the credentials. A
  // name that is not a plain file name part is EINVAL.
  Result<std::string> HelperFor(const std::string& registry) const;

 private:
  std::string path_;
};

// The config.json key of a registry ("docker.io" -> Docker Hub's URL).
std::string CredentialsKey(const std::string& registry);

}  // namespace strata::registry
