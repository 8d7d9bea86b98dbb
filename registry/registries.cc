#include "registry/registries.h"

#include "registry/reference.h"
#include "registry/tls_trust.h"

namespace strata::registry {

Registries::Registries(RegistriesOptions options) : options_(std::move(options)) {
  for (const auto& host : options_.insecure) insecure_.insert(host);
}

bool Registries::IsInsecure(const std::string& registry) const {
  if (insecure_.count(registry)) return true;
  // "--insecure-registry HOST" covers every port of HOST.
  std::string host = registry.substr(0, registry.rfind(':'));
  if (registry.find(':') != std::string::npos && insecure_.count(host)) return true;
  return IsLoopbackRegistry(registry) && !TlsTrust::Configured(options_.certs_dir, registry);
}

Result<std::unique_ptr<RegistryClient>> Registries::Connect(const std::string& registry,
                                                            const Credentials& credentials,
                                                            const std::string& actions) {
  ClientOptions o;
  o.registry = registry;
  o.insecure = IsInsecure(registry);
  o.credentials = credentials;
  auto trust = TlsTrust::Load(options_.certs_dir, registry);
  if (!trust.ok()) return std::move(trust).error().Context("certificates of " + registry);
  o.trust = std::move(*trust);
  o.tokens = &tokens_;
  o.actions = actions;
  return RegistryClient::Create(o);
}

}  // namespace strata::registry
