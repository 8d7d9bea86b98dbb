// Registry authentication: the WWW-Authenticate challenge, basic
// credentials, and bearer tokens from the registry's token endpoint.
//
// The flow (OCI distribution / Docker token auth): a request answered 401
// carries `WWW-Authenticate: Basic realm=...` or `Bearer realm="URL",
// service="...",scope="..."`. Basic: the request is repeated with the
// user's credentials. Bearer: a token is fetched from realm?service=&scope=
// (with the credentials as basic auth, if any; anonymously otherwise) and
// the request is repeated with `Authorization: Bearer TOKEN`. Tokens are
// kept in a TokenCache until their expiry (expires_in, default 60 s, less a
// margin) and reused by later requests and later operations.
//
// Thread safety: TokenCache is thread-safe; the functions are pure or do
// their own request.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "registry/tls_trust.h"

namespace strata::registry {

struct Credentials {
  std::string username;
  std::string password;
  bool empty() const { return username.empty() && password.empty(); }
};

struct Challenge {
  std::string scheme;                         // lower case: "basic", "bearer"
  std::map<std::string, std::string> params;  // realm, service, scope, error
};

// Parses the first challenge of a WWW-Authenticate value; EINVAL when it has
// no scheme.
Result<Challenge> ParseChallenge(std::string_view header);

// "Basic base64(user:password)"
std::string BasicAuthorization(const Credentials& credentials);

class TokenCache {
 public:
  using Clock = std::chrono::steady_clock;
  // key: whatever identifies (realm, service, scope, user).
  std::optional<std::string> Get(const std::string& key);
  void Put(const std::string& key, std::string token, Clock::time_point expires);
  size_t size();

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, Clock::time_point>> tokens_;
};

// Fetches a bearer token for scopes (space-separated "repository:x:pull"
// entries; may be empty) from the challenge's realm, using the cache; TLS
// to the realm also trusts the registry's certs.d CAs (trust, may be null),
// as docker does. EACCES when the token endpoint refuses the credentials.
Result<std::string> FetchToken(const Challenge& challenge, const std::string& scopes,
                               const Credentials& credentials, TokenCache& cache,
                               const std::shared_ptr<const TlsTrust>& trust = nullptr);

}  // namespace strata::registry
