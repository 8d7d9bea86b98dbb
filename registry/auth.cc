#include "registry/auth.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include <boost/json.hpp>

#include "common/base64.h"
#include "registry/http_transfer.h"

namespace strata::registry {

namespace {

// Tokens are dropped this long before they expire, so a request never
// leaves with a token that dies on the way.
constexpr auto kExpiryMargin = std::chrono::seconds(10);
constexpr int64_t kDefaultExpiresIn = 60;  // the distribution spec's default
// A token endpoint's expires_in is believed up to a day (a larger one, up
// to INT64_MAX, would overflow the clock arithmetic below).
constexpr int64_t kMaxExpiresIn = 24 * 3600;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<Challenge> ParseChallenge(std::string_view header) {
  Challenge c;
  size_t i = 0;
  while (i < header.size() && std::isspace(static_cast<unsigned char>(header[i]))) ++i;
  size_t start = i;
  while (i < header.size() && !std::isspace(static_cast<unsigned char>(header[i]))) ++i;
  c.scheme = Lower(header.substr(start, i - start));
  if (c.scheme.empty()) return Error::Invalid("WWW-Authenticate without a scheme");
  // key=value or key="quoted, value" pairs separated by commas.
  while (i < header.size()) {
    while (i < header.size() &&
           (header[i] == ',' || std::isspace(static_cast<unsigned char>(header[i]))))
      ++i;
    size_t key_start = i;
    while (i < header.size() && header[i] != '=' && header[i] != ',') ++i;
    std::string key = Lower(header.substr(key_start, i - key_start));
    if (i >= header.size() || header[i] != '=') break;
    ++i;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      ++i;
      while (i < header.size() && header[i] != '"') {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        value.push_back(header[i++]);
      }
      ++i;
    } else {
      while (i < header.size() && header[i] != ',') value.push_back(header[i++]);
    }
    if (!key.empty()) c.params[key] = value;
  }
  return c;
}

std::string BasicAuthorization(const Credentials& credentials) {
  return "Basic " + Base64Encode(credentials.username + ":" + credentials.password);
}

std::optional<std::string> TokenCache::Get(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(key);
  if (it == tokens_.end()) return std::nullopt;
  if (Clock::now() >= it->second.second) {
    tokens_.erase(it);
    return std::nullopt;
  }
  return it->second.first;
}

void TokenCache::Put(const std::string& key, std::string token, Clock::time_point expires) {
  std::lock_guard lock(mu_);
  tokens_[key] = {std::move(token), expires};
}

size_t TokenCache::size() {
  std::lock_guard lock(mu_);
  return tokens_.size();
}

Result<std::string> FetchToken(const Challenge& challenge, const std::string& scopes,
                               const Credentials& credentials, TokenCache& cache,
                               const std::shared_ptr<const TlsTrust>& trust) {
  auto param = [&](const char* k) {
    auto it = challenge.params.find(k);
    return it == challenge.params.end() ? std::string() : it->second;
  };
  std::string realm = param("realm");
  if (realm.empty()) return Error(EPROTO, "bearer challenge without a realm");
  if (realm.rfind("https://", 0) != 0 && realm.rfind("http://", 0) != 0) {
    return Error(EPROTO, "bearer realm " + realm + " is not an http(s) URL");
  }
  std::string key = realm + "\n" + param("service") + "\n" + scopes + "\n" + credentials.username;
  if (auto token = cache.Get(key)) return *token;

  std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  url += "service=" + UrlEscape(param("service"));
  std::istringstream split(scopes);
  for (std::string scope; split >> scope;) url += "&scope=" + UrlEscape(scope);
  HttpRequest request;
  request.url = url;
  request.trust = trust;
  request.timeout_s = kDocumentTimeoutS;
  if (!credentials.empty()) {
    request.headers.push_back("Authorization: " + BasicAuthorization(credentials));
  }
  ASSIGN_OR_RETURN(auto transfer, HttpTransfer::Start(request));
  RETURN_IF_ERROR(transfer->WaitHeaders());
  ASSIGN_OR_RETURN(std::string body, transfer->ReadAll(1 << 20));
  const std::string host = UrlHost(realm);
  if (transfer->status() == 401 || transfer->status() == 403) {
    return Error(EACCES, "authentication refused by " + host);
  }
  if (transfer->status() != 200) {
    return Error(EPROTO,
                 "token endpoint " + host + " answered HTTP " + std::to_string(transfer->status()));
  }
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return Error(EPROTO, "token endpoint " + host + " sent no JSON object");
  const auto& o = v.as_object();
  std::string token;
  for (const char* field : {"token", "access_token"}) {
    if (auto* t = o.if_contains(field); t && t->is_string() && !t->as_string().empty()) {
      token = std::string(t->as_string());
      break;
    }
  }
  if (token.empty()) return Error(EPROTO, "token endpoint " + host + " sent no token");
  int64_t expires_in = kDefaultExpiresIn;
  if (auto* e = o.if_contains("expires_in"); e && e->is_int64() && e->as_int64() > 0) {
    expires_in = std::min(e->as_int64(), kMaxExpiresIn);
  } else if (e && e->is_uint64()) {
    expires_in = static_cast<int64_t>(std::min<uint64_t>(e->as_uint64(), kMaxExpiresIn));
  }
  auto expires = TokenCache::Clock::now() + std::chrono::seconds(expires_in) - kExpiryMargin;
  cache.Put(key, token, expires);
  return token;
}

}  // namespace strata::registry
