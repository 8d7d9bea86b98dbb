#include "registry/registries.h"

#include "registry/reference.h"

namespace strata::registry {

Registries::Registries(RegistriesOptions options) : options_(std::move(options)) {
  for (const auto& host : options_.insecure) insecure_.insert(host);
}

bool Registries::IsInsecure(const std::string& registry) const {
  if (IsLoopbackRegistry(registry) || insecure_.count(registry)) return true;
  // "--insecure-registry HOST" covers every port of HOST.
  std::string host = registry.substr(0, registry.rfind(':'));
  return registry.find(':') != std::string::npos && insecure_.count(host);
}

Result<std::unique_ptr<RegistryClient>> Registries::Connect(const std::string& registry,
                                                            const Credentials& credentials,
                                                            const std::string& actions) {
  ClientOptions o;
  o.registry = registry;
  o.insecure = IsInsecure(registry);
  o.credentials = credentials;
  o.tokens = &tokens_;
  o.actions = actions;
  return RegistryClient::Create(o);
}

}  // namespace strata::registry
