// CredentialHelper: a docker credential helper, the program
// `docker-credential-NAME` found on PATH, which keeps registry secrets in a
// keyring, a password store or a cloud's token service instead of
// config.json ("credsStore": "NAME", or "credHelpers": {"HOST": "NAME"}).
//
// The protocol (docker/docker-credential-helpers): the action is the only
// argument, its input comes on stdin, its answer on stdout:
//   get    stdin: the server URL;  stdout: {"ServerURL", "Username", "Secret"}
//   store  stdin: {"ServerURL", "Username", "Secret"}
//   erase  stdin: the server URL
// A non-zero exit is a failure whose stdout is the message; the message
// "credentials not found in native keychain" means there is no entry.
// The server URL is the config.json key (CredentialsKey).
//
// Errors are one line naming the helper and the registry:
// "credential helper docker-credential-NAME for HOST: not found in PATH",
// "...: exited with status 1: <the helper's message>". Secrets never appear
// in a message: what the helper answered on success is not quoted.
//
// Thread safety: none needed; each call runs the program once and waits.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "registry/auth.h"

namespace strata::registry {

class CredentialHelper {
 public:
  // name: what follows "docker-credential-" ("pass", "secretservice", ...).
  explicit CredentialHelper(const std::string& name) : program_("docker-credential-" + name) {}
  const std::string& program() const { return program_; }

  // nullopt when the helper has no entry for the registry.
  Result<std::optional<Credentials>> Get(const std::string& registry) const;
  Status Store(const std::string& registry, const Credentials& credentials) const;
  // Whether an entry was removed.
  Result<bool> Erase(const std::string& registry) const;

 private:
  struct Answer {
    int status = 0;  // the exit status; 128+N when killed by signal N
    std::string out;
  };
  // Runs the helper with action and input on stdin.
  Result<Answer> Run(const std::string& registry, const char* action,
                     const std::string& input) const;
  Error Failed(const std::string& registry, const Answer& answer) const;

  std::string program_;
};

// A helper's name is a plain file name part ([A-Za-z0-9._-], not empty).
bool ValidHelperName(const std::string& name);

}  // namespace strata::registry
