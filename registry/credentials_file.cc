#include "registry/credentials_file.h"

#include <sys/stat.h>

#include <cstdlib>
#include <vector>

#include <boost/json.hpp>

#include "common/base64.h"
#include "common/fs.h"
#include "registry/credential_helper.h"
#include "registry/reference.h"

namespace strata::registry {

namespace json = boost::json;

namespace {

constexpr const char* kHubKey = "https://index.docker.io/v1/";

std::vector<std::string> KeysFor(const std::string& registry) {
  if (registry == kDockerHub) {
    return {kHubKey, "index.docker.io", "docker.io", "https://index.docker.io/v1",
            "registry-1.docker.io"};
  }
  return {registry, "https://" + registry, "http://" + registry, "https://" + registry + "/v2/",
          "https://" + registry + "/v1/"};
}

// The file as a JSON object ({} when it does not exist).
Result<json::object> Load(const std::string& path) {
  if (!PathExists(path)) return json::object{};
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return json::object{};
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Error::Invalid(path + ": not a JSON object");
  return std::move(v.as_object());
}

Status Save(const std::string& path, const json::object& o) {
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0)
    RETURN_IF_ERROR(MakeDirs(path.substr(0, slash), 0700));
  return WriteFileAtomic(path, json::serialize(o) + "\n", 0600);
}

}  // namespace

std::string CredentialsKey(const std::string& registry) {
  return registry == kDockerHub ? kHubKey : registry;
}

std::string CredentialsFile::DefaultPath() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir) {
    return std::string(dir) + "/config.json";
  }
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.docker/config.json";
}

Result<std::optional<Credentials>> CredentialsFile::Lookup(const std::string& registry) const {
  ASSIGN_OR_RETURN(json::object o, Load(path_));
  const json::value* auths = o.if_contains("auths");
  if (auths == nullptr || !auths->is_object()) return std::optional<Credentials>();
  for (const auto& key : KeysFor(registry)) {
    const json::value* entry = auths->as_object().if_contains(key);
    if (entry == nullptr || !entry->is_object()) continue;
    const json::object& e = entry->as_object();
    Credentials c;
    if (auto* auth = e.if_contains("auth");
        auth && auth->is_string() && !auth->as_string().empty()) {
      auto decoded = Base64Decode(std::string(auth->as_string()));
      size_t colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos) {
        return Error::Invalid(path_ + ": auths." + key + ".auth is not base64 of user:password");
      }
      c.username = decoded->substr(0, colon);
      c.password = decoded->substr(colon + 1);
    } else {
      // The older split spelling.
      if (auto* u = e.if_contains("username"); u && u->is_string()) c.username = u->as_string();
      if (auto* p = e.if_contains("password"); p && p->is_string()) c.password = p->as_string();
    }
    if (!c.empty()) return std::optional<Credentials>(c);
  }
  return std::optional<Credentials>();
}

Status CredentialsFile::Store(const std::string& registry, const Credentials& credentials) {
  ASSIGN_OR_RETURN(json::object o, Load(path_));
  json::value& auths = o["auths"];
  if (!auths.is_object()) auths = json::object{};
  // One entry per registry: drop other spellings of the same one.
  for (const auto& key : KeysFor(registry)) auths.as_object().erase(key);
  auths.as_object()[CredentialsKey(registry)] =
      json::object{{"auth", Base64Encode(credentials.username + ":" + credentials.password)}};
  return Save(path_, o);
}

Status CredentialsFile::StoreWithoutSecret(const std::string& registry) {
  ASSIGN_OR_RETURN(json::object o, Load(path_));
  json::value& auths = o["auths"];
  if (!auths.is_object()) auths = json::object{};
  for (const auto& key : KeysFor(registry)) auths.as_object().erase(key);
  auths.as_object()[CredentialsKey(registry)] = json::object{};
  return Save(path_, o);
}

Result<std::string> CredentialsFile::HelperFor(const std::string& registry) const {
  ASSIGN_OR_RETURN(json::object o, Load(path_));
  auto checked = [&](const json::value& v, const std::string& member) -> Result<std::string> {
    if (!v.is_string()) return Error::Invalid(path_ + ": " + member + " is not a string");
    std::string name(v.as_string());
    if (!name.empty() && !ValidHelperName(name)) {
      return Error::Invalid(path_ + ": " + member + " \"" + name +
                            "\" is not a credential helper name");
    }
    return name;
  };
  if (const json::value* helpers = o.if_contains("credHelpers"); helpers && helpers->is_object()) {
    for (const auto& key : KeysFor(registry)) {
      if (const json::value* v = helpers->as_object().if_contains(key)) {
        ASSIGN_OR_RETURN(std::string name, checked(*v, "credHelpers." + key));
        if (!name.empty()) return name;
      }
    }
  }
  if (const json::value* store = o.if_contains("credsStore")) return checked(*store, "credsStore");
  return std::string();
}

Result<bool> CredentialsFile::Erase(const std::string& registry) {
  ASSIGN_OR_RETURN(json::object o, Load(path_));
  json::value* auths = o.if_contains("auths");
  if (auths == nullptr || !auths->is_object()) return false;
  bool erased = false;
  for (const auto& key : KeysFor(registry)) erased |= auths->as_object().erase(key) > 0;
  if (erased) RETURN_IF_ERROR(Save(path_, o));
  return erased;
}

}  // namespace strata::registry
