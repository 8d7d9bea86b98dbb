#include "storage/image_tag.h"

#include <cctype>
#include <string_view>

namespace strata::storage {

Result<std::string> NormalizeImageTag(const std::string& name) {
  auto bad = [&](std::string_view why) {
    return Error::Invalid("invalid image name \"" + name.substr(0, 200) + "\": " +
                          std::string(why));
  };
  if (name.empty()) return bad("empty");
  if (name.find('@') != std::string::npos) return bad("digests are not tags");
  std::string repo = name, tag = "latest";
  size_t colon = name.rfind(':');
  size_t slash = name.rfind('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    repo = name.substr(0, colon);
    tag = name.substr(colon + 1);
  }
  // On the repository, not the whole name: a name accepted with its
  // default tag must be accepted again as REPOSITORY:latest.
  if (repo.size() > 255) return bad("repository longer than 255 characters");
  if (tag.empty() || tag.size() > 128) return bad("tag must be 1 to 128 characters");
  for (char c : tag) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) {
      return bad("tag may contain only letters, digits, '_', '.' and '-'");
    }
  }
  if (tag[0] == '.' || tag[0] == '-') return bad("tag must not start with '.' or '-'");
  // Repository: [host[:port]/]component(/component)*, components lower-case.
  size_t first_slash = repo.find('/');
  std::string host;
  std::string path = repo;
  if (first_slash != std::string::npos) {
    std::string first = repo.substr(0, first_slash);
    if (first.find_first_of(".:") != std::string::npos || first == "localhost") {
      host = first;
      path = repo.substr(first_slash + 1);
    }
  }
  for (char c : host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':')) {
      return bad("registry host has invalid characters");
    }
  }
  if (path.empty()) return bad("empty repository");
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    std::string_view comp(path.data() + pos, next - pos);
    if (comp.empty()) return bad("empty path component");
    for (char c : comp) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
            c == '-')) {
        return bad("repository may contain only lower-case letters, digits, '.', '_', '-'");
      }
    }
    if (!std::isalnum(static_cast<unsigned char>(comp.front())) ||
        !std::isalnum(static_cast<unsigned char>(comp.back()))) {
      return bad("path components must start and end with a letter or digit");
    }
    pos = next + 1;
  }
  return repo + ":" + tag;
}

}  // namespace strata::storage
