#include "registry/reference.h"

#include <cctype>

namespace strata::registry {

namespace {

Error Bad(std::string_view text, std::string_view why) {
  return Error::Invalid("invalid reference \"" + std::string(text) + "\": " + std::string(why));
}

bool IsAlnumLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: alnum runs joined by '.', '_', '__' or '-'+.
bool ValidComponent(std::string_view c) {
  if (c.empty() || !IsAlnumLower(c.front()) || !IsAlnumLower(c.back())) return false;
  for (size_t i = 0; i < c.size(); ++i) {
    char ch = c[i];
    if (IsAlnumLower(ch)) continue;
    if (ch == '-') continue;
    if (ch == '.' || ch == '_') {
      // '.', '_' and '__' only, each between alnum runs.
      size_t run = 1;
      while (i + run < c.size() && c[i + run] == '_' && ch == '_') ++run;
      if (run > 2 || (ch == '.' && run > 1)) return false;
      if (!IsAlnumLower(c[i + run])) return false;
      i += run - 1;
      continue;
    }
    return false;
  }
  return true;
}

bool ValidTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
              (i > 0 && (c == '.' || c == '-'));
    if (!ok) return false;
  }
  return true;
}

bool ValidPort(std::string_view p) {
  if (p.empty() || p.size() > 5) return false;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// NAME[:PORT] (letters, digits, '.', '-') or [IPv6][:PORT], at most 255
// characters: what a URL can carry, so that the name prints back the same.
bool ValidHost(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  std::string_view name = h, port;
  if (h.front() == '[') {
    size_t close = h.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : h.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    std::string_view after = h.substr(close + 1);
    return after.empty() || (after.front() == ':' && ValidPort(after.substr(1)));
  }
  if (size_t colon = h.find(':'); colon != std::string_view::npos) {
    name = h.substr(0, colon);
    port = h.substr(colon + 1);
    if (!ValidPort(port)) return false;
  }
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return false;
  }
  return true;
}

}  // namespace

Result<Reference> Reference::Parse(std::string_view text) {
  if (text.empty()) return Bad(text, "empty");
  // The parts are bounded on their own (host and repository 255, tag 128),
  // so whatever parses prints back (Familiar) within this limit.
  if (text.size() > 1024) return Bad(text.substr(0, 64), "longer than 1024 characters");
  Reference ref;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    auto digest = storage::Digest::Parse(rest.substr(at + 1));
    if (!digest.ok()) return Bad(text, "the digest must be sha256:<64 hex digits>");
    ref.digest = *digest;
    rest = rest.substr(0, at);
  }
  // A tag is after the last ':' that follows the last '/'.
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    if (!ValidTag(ref.tag)) return Bad(text, "malformed tag");
    rest = rest.substr(0, colon);
  }
  size_t first = rest.find('/');
  std::string_view head = rest.substr(0, first);
  if (first != std::string_view::npos &&
      (head.find_first_of(".:") != std::string_view::npos || head == "localhost")) {
    if (!ValidHost(head)) return Bad(text, "malformed registry host");
    ref.registry = std::string(head);
    rest = rest.substr(first + 1);
  } else {
    ref.registry = std::string(kDockerHub);
  }
  if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io") {
    ref.registry = std::string(kDockerHub);
  }
  std::string_view path = rest;
  while (true) {
    size_t s = path.find('/');
    if (!ValidComponent(path.substr(0, s))) {
      return Bad(text, "repository names are lower-case letters, digits and separators");
    }
    if (s == std::string_view::npos) break;
    path = path.substr(s + 1);
  }
  ref.repository = std::string(rest);
  if (ref.registry == kDockerHub && ref.repository.find('/') == std::string::npos) {
    ref.repository = "library/" + ref.repository;
  }
  if (ref.repository.size() > 255) return Bad(text, "repository name longer than 255");
  if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
  return ref;
}

std::string Reference::Endpoint() const {
  return registry == kDockerHub ? "registry-1.docker.io" : registry;
}

std::string Reference::FamiliarRepo() const {
  if (registry != kDockerHub) return registry + "/" + repository;
  constexpr std::string_view kLibrary = "library/";
  if (repository.rfind(kLibrary, 0) == 0 &&
      repository.find('/', kLibrary.size()) == std::string::npos) {
    return repository.substr(kLibrary.size());
  }
  // A first component that reads as a host ("foo.bar/x", "localhost/x")
  // keeps the registry, or the name would parse as that host's.
  size_t slash = repository.find('/');
  std::string_view first = std::string_view(repository).substr(0, slash);
  if (slash != std::string::npos &&
      (first.find_first_of(".:") != std::string_view::npos || first == "localhost")) {
    return registry + "/" + repository;
  }
  return repository;
}

std::string Reference::Familiar() const {
  std::string out = FamiliarRepo();
  if (!tag.empty()) out += ":" + tag;
  if (digest) out += "@" + digest->str();
  return out;
}

bool IsLoopbackRegistry(std::string_view registry) {
  std::string_view host = registry;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close != std::string_view::npos && host.substr(1, close - 1) == "::1";
  }
  host = host.substr(0, host.find(':'));
  return host == "localhost" || host.rfind("127.", 0) == 0;
}

}  // namespace strata::registry
