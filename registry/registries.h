// Registries: what the service knows about the registries it talks to —
// which may be reached over plain HTTP or unverified TLS
// (--insecure-registry HOST, and every loopback registry without a certs.d
// directory), the CAs each trusts (certs.d, tls_trust.h), and the bearer
// tokens it holds — and the factory of clients for one operation.
//
// Thread safety: Connect may be called concurrently; the token cache is
// shared by every operation until the tokens expire.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "registry/auth.h"
#include "registry/registry_client.h"

namespace strata::registry {

struct RegistriesOptions {
  std::vector<std::string> insecure;  // host[:port] values of --insecure-registry
  unsigned parallel = 3;              // layers transferred at once per pull/push
  // Docker's certs.d: DIR/HOST[:PORT]/*.crt (--registry-certs-dir); "" for none.
  std::string certs_dir = "/etc/docker/certs.d";
};

class Registries {
 public:
  explicit Registries(RegistriesOptions options);
  // Whether registry may be reached over plain HTTP, and over TLS without
  // verification: when --insecure-registry names it (or its host), or when
  // it is on loopback and certs.d has no directory for it (one that does
  // asked for verification with those CAs).
  bool IsInsecure(const std::string& registry) const;
  unsigned parallel() const { return options_.parallel; }
  // A client for registry; actions "pull" or "pull,push".
  Result<std::unique_ptr<RegistryClient>> Connect(const std::string& registry,
                                                  const Credentials& credentials,
                                                  const std::string& actions);

 private:
  RegistriesOptions options_;
  std::set<std::string> insecure_;
  TokenCache tokens_;
};

}  // namespace strata::registry
