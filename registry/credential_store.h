// CredentialStore: where a user's credentials for a registry are kept, as
// docker's CLI decides it from config.json: the helper named by
// credHelpers for that registry, else the one named by credsStore, else the
// file itself (CredentialsFile's "auths").
//
// With a helper, Store hands the secret to the helper and leaves an entry
// without secrets ({}) in "auths", and Erase erases through the helper and
// drops that entry, as docker does; Lookup asks the helper only. A missing
// helper or a failing one is a one-line error naming the helper and the
// registry (credential_helper.h); nothing falls back to the file then.
//
// Runs helpers as child processes and waits for them: meant for the CLI,
// where the user's config, PATH and keyring are (stratad gets the
// credentials with each request).
//
// Thread safety: none; one process at a time edits a user's file (as docker).
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "registry/auth.h"
#include "registry/credentials_file.h"

namespace strata::registry {

class CredentialStore {
 public:
  explicit CredentialStore(std::string config_path) : file_(std::move(config_path)) {}
  // The user's config.json (CredentialsFile::DefaultPath).
  static CredentialStore Default() { return CredentialStore(CredentialsFile::DefaultPath()); }

  // nullopt when nothing is stored for registry.
  Result<std::optional<Credentials>> Lookup(const std::string& registry) const;
  Status Store(const std::string& registry, const Credentials& credentials);
  // Whether anything was removed (from the helper or the file).
  Result<bool> Erase(const std::string& registry);

 private:
  CredentialsFile file_;
};

}  // namespace strata::registry
